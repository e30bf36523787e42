/**
 * Seeded image augmentation on CPU-side batches (HWC floats), so a resumed epoch sees the same
 * data: every random draw comes from the `random` the loop derives from (seed, epoch).
 *
 * Each example gets one geometric transform — zoom and rotation about the image centre, flips,
 * an integer shift — sampled with bilinear interpolation; coordinates outside the source
 * replicate the nearest edge pixel (a surface continues past the crop rather than turning
 * black). Then brightness scales every intensity by one factor, and Gaussian noise is added.
 */
import { randomInt, randomNormal, type Random } from '../random';
import type { Augmentation } from './types';

/** The transform of one example; {@link augmentBatch} samples it, tests set it directly. */
export interface ExampleTransform {
  /** Counter-clockwise rotation of the content as displayed (y down), in degrees. */
  readonly rotateDegrees?: number;
  /** Magnification about the centre: 1.25 shows the middle 80 % enlarged, 0.8 shrinks the content. */
  readonly scale?: number;
  readonly flipHorizontal?: boolean;
  readonly flipVertical?: boolean;
  /** Translation of the content in pixels (+x right, +y down). */
  readonly dx?: number;
  readonly dy?: number;
  /** Intensities are multiplied by this. */
  readonly brightnessFactor?: number;
}

/** Writes `transform` of one HWC image (`source`, starting at `offset`) into `target` at `offset`. */
export function transformExample(
  source: Float32Array,
  target: Float32Array,
  offset: number,
  shape: readonly [number, number, number],
  transform: ExampleTransform,
): void {
  const [height, width, channels] = shape;
  const centreX = (width - 1) / 2;
  const centreY = (height - 1) / 2;
  const radians = ((transform.rotateDegrees ?? 0) * Math.PI) / 180;
  const scale = Math.max(1e-3, transform.scale ?? 1);
  // Inverse map (output → source): undo the shift, the flips, then the rotation and zoom.
  const cos = Math.cos(radians) / scale;
  const sin = Math.sin(radians) / scale;
  const resamples = radians !== 0 || scale !== 1;
  const brightness = transform.brightnessFactor ?? 1;
  const pixel = (y: number, x: number, c: number): number => {
    const cy = Math.min(height - 1, Math.max(0, y));
    const cx = Math.min(width - 1, Math.max(0, x));
    return source[offset + (cy * width + cx) * channels + c] ?? 0;
  };
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let u = x - (transform.dx ?? 0);
      let v = y - (transform.dy ?? 0);
      if (transform.flipHorizontal) u = width - 1 - u;
      if (transform.flipVertical) v = height - 1 - v;
      const out = offset + (y * width + x) * channels;
      if (!resamples) {
        for (let c = 0; c < channels; c += 1) target[out + c] = pixel(Math.round(v), Math.round(u), c) * brightness;
        continue;
      }
      const relativeX = u - centreX;
      const relativeY = v - centreY;
      const sourceX = centreX + relativeX * cos - relativeY * sin;
      const sourceY = centreY + relativeX * sin + relativeY * cos;
      const x0 = Math.floor(sourceX);
      const y0 = Math.floor(sourceY);
      const fx = sourceX - x0;
      const fy = sourceY - y0;
      for (let c = 0; c < channels; c += 1) {
        const top = pixel(y0, x0, c) * (1 - fx) + pixel(y0, x0 + 1, c) * fx;
        const bottom = pixel(y0 + 1, x0, c) * (1 - fx) + pixel(y0 + 1, x0 + 1, c) * fx;
        target[out + c] = (top * (1 - fy) + bottom * fy) * brightness;
      }
    }
  }
}

/** Uniform in [-max, max]. */
function symmetric(random: Random, max: number): number {
  return (2 * random() - 1) * max;
}

/**
 * Augments `count` examples of `shape` ([height, width, channels]; other shapes are returned
 * unchanged). Draws happen in a fixed order per example and only for the options that are on,
 * so adding an option does not change the shifts and flips an older configuration drew.
 */
export function augmentBatch(
  features: Float32Array,
  count: number,
  shape: readonly number[],
  augmentation: Augmentation,
  random: Random,
): Float32Array {
  if (shape.length !== 3) return features;
  const [height = 0, width = 0, channels = 1] = shape;
  const size = height * width * channels;
  const out = new Float32Array(features.length);
  const maxShift = Math.max(0, Math.floor(augmentation.shift ?? 0));
  const maxRotate = Math.max(0, augmentation.rotate ?? 0);
  const maxZoom = Math.max(0, augmentation.zoom ?? 0);
  const maxBrightness = Math.max(0, augmentation.brightness ?? 0);
  for (let n = 0; n < count; n += 1) {
    const dx = maxShift ? randomInt(random, 2 * maxShift + 1) - maxShift : 0;
    const dy = maxShift ? randomInt(random, 2 * maxShift + 1) - maxShift : 0;
    const flipHorizontal = augmentation.flipHorizontal === true && random() < 0.5;
    const flipVertical = augmentation.flipVertical === true && random() < 0.5;
    const rotateDegrees = maxRotate ? symmetric(random, maxRotate) : 0;
    const scale = maxZoom ? 1 + symmetric(random, maxZoom) : 1;
    const brightnessFactor = maxBrightness ? Math.max(0, 1 + symmetric(random, maxBrightness)) : 1;
    const base = n * size;
    transformExample(features, out, base, [height, width, channels], {
      dx,
      dy,
      flipHorizontal,
      flipVertical,
      rotateDegrees,
      scale,
      brightnessFactor,
    });
    if (augmentation.noise) {
      for (let i = base; i < base + size; i += 1) out[i] = (out[i] ?? 0) + augmentation.noise * randomNormal(random);
    }
  }
  return out;
}
