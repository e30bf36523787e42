/**
 * Decode PNG and JPEG bytes into RGBA (src/ml/data/preprocessing.ts turns them into model inputs).
 * Decoding failures throw, and prepare-data quarantines the file.
 *
 * Image files are untrusted: a 389 KB PNG can declare 20000×20000 pixels and inflate to 1.6 GB.
 * So the PNG header (IHDR) is read and checked before anything is decompressed; jpeg-js checks
 * the frame header against the same pixel cap before it allocates.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ResourceLimitError } from '../../core/errors';

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

/** Largest image file read into memory (its bytes, before any decoding). */
export const MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024;

/** Largest image accepted, so a hostile file cannot exhaust memory while decoding. */
export const MAX_IMAGE_PIXELS = 4096 * 4096;
/**
 * Largest inflated PNG data (pixels × channels × bytes per sample, plus a filter byte per row): 16-bit RGBA at the
 * pixel cap.
 */
const MAX_PNG_RAW_BYTES = MAX_IMAGE_PIXELS * 8 + 4096;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Samples per pixel by PNG colour type (greyscale, RGB, palette, grey+alpha, RGBA). */
const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Width, height and inflated size a PNG declares in its IHDR chunk, read without decompressing anything. */
export function pngHeader(bytes: Uint8Array): { width: number; height: number; channels: number; rawBytes: number } {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length < 33 || !data.subarray(0, 8).equals(PNG_SIGNATURE) || data.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG (no signature and IHDR header)');
  }
  const width = data.readUInt32BE(16);
  const height = data.readUInt32BE(20);
  const bitDepth = data[24] ?? 8;
  const channels = PNG_CHANNELS[data[25] ?? -1];
  if (channels === undefined) throw new Error(`PNG colour type ${data[25]} is not valid`);
  return { width, height, channels, rawBytes: height * (1 + Math.ceil((width * channels * bitDepth) / 8)) };
}

function checkPngHeader(bytes: Uint8Array): void {
  const { width, height, channels, rawBytes } = pngHeader(bytes);
  if (width * height > MAX_IMAGE_PIXELS || rawBytes > MAX_PNG_RAW_BYTES) {
    throw new ResourceLimitError(
      `image is ${width}×${height} with ${channels} channel(s) (${rawBytes} bytes inflated); at most ` +
        `${MAX_IMAGE_PIXELS} pixels (4096×4096) are decoded: resize it before pushing the dataset`,
      { code: 'image-too-large', width, height, channels },
    );
  }
}

export function decodeImage(bytes: Uint8Array, format: ImageFormat): DecodedImage {
  if (format === 'png') {
    checkPngHeader(bytes);
    const png = PNG.sync.read(Buffer.from(bytes));
    return { width: png.width, height: png.height, rgba: png.data };
  }
  const decoded = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
    maxMemoryUsageInMB: 256,
  });
  return { width: decoded.width, height: decoded.height, rgba: decoded.data };
}
