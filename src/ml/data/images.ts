/**
 * Decode PNG and JPEG bytes into float pixels in [0, 1] (HWC) at the size and channel count a
 * dataset asks for. Decoding failures throw, and prepare-data quarantines the file.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** RGBA bytes, 4 per pixel. */
  readonly rgba: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

export function imageFormatOf(name: string): ImageFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.png')) return 'png';
  if (lower.endsWith('.jpg') || lower.endsWith('.jpeg')) return 'jpeg';
  return undefined;
}

/** Largest image accepted, so a hostile file cannot exhaust memory while decoding. */
const MAX_PIXELS = 4096 * 4096;

export function decodeImage(bytes: Uint8Array, format: ImageFormat): DecodedImage {
  if (format === 'png') {
    const png = PNG.sync.read(Buffer.from(bytes));
    if (png.width * png.height > MAX_PIXELS) throw new Error(`image too large: ${png.width}x${png.height}`);
    return { width: png.width, height: png.height, rgba: png.data };
  }
  const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 256 });
  return { width: decoded.width, height: decoded.height, rgba: decoded.data };
}

/** Bilinear resize and channel conversion (1 = luminance, 3 = RGB) to floats in [0, 1]. */
export function toPixels(image: DecodedImage, height: number, width: number, channels: 1 | 3): Float32Array {
  const out = new Float32Array(height * width * channels);
  const scaleY = image.height / height;
  const scaleX = image.width / width;
  const sample = (x: number, y: number, c: number): number => image.rgba[(y * image.width + x) * 4 + c] ?? 0;
  for (let y = 0; y < height; y += 1) {
    const sy = Math.min(image.height - 1, Math.max(0, (y + 0.5) * scaleY - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(image.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x += 1) {
      const sx = Math.min(image.width - 1, Math.max(0, (x + 0.5) * scaleX - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(image.width - 1, x0 + 1);
      const fx = sx - x0;
      const rgb = [0, 1, 2].map((c) => {
        const top = sample(x0, y0, c) * (1 - fx) + sample(x1, y0, c) * fx;
        const bottom = sample(x0, y1, c) * (1 - fx) + sample(x1, y1, c) * fx;
        return (top * (1 - fy) + bottom * fy) / 255;
      });
      const [r = 0, g = 0, b = 0] = rgb;
      const index = (y * width + x) * channels;
      if (channels === 1) out[index] = 0.299 * r + 0.587 * g + 0.114 * b;
      else {
        out[index] = r;
        out[index + 1] = g;
        out[index + 2] = b;
      }
    }
  }
  return out;
}
