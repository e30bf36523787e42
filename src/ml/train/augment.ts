/** Seeded image augmentation on CPU-side batches (HWC floats), so a resumed epoch sees the same data. */
import { randomInt, randomNormal, type Random } from '../random';
import type { Augmentation } from './types';

export function augmentBatch(features: Float32Array, count: number, shape: readonly number[], augmentation: Augmentation, random: Random): Float32Array {
  const [height = 0, width = 0, channels = 1] = shape;
  if (shape.length !== 3) return features;
  const size = height * width * channels;
  const out = new Float32Array(features.length);
  const maxShift = Math.max(0, Math.floor(augmentation.shift ?? 0));
  for (let n = 0; n < count; n += 1) {
    const dx = maxShift ? randomInt(random, 2 * maxShift + 1) - maxShift : 0;
    const dy = maxShift ? randomInt(random, 2 * maxShift + 1) - maxShift : 0;
    const flip = augmentation.flipHorizontal === true && random() < 0.5;
    const base = n * size;
    for (let y = 0; y < height; y += 1) {
      const sy = y - dy;
      for (let x = 0; x < width; x += 1) {
        const sxRaw = x - dx;
        const sx = flip ? width - 1 - sxRaw : sxRaw;
        for (let c = 0; c < channels; c += 1) {
          // Outside the source image: replicate the nearest edge pixel (surfaces continue).
          const cy = Math.min(height - 1, Math.max(0, sy));
          const cx = Math.min(width - 1, Math.max(0, sx));
          let value = features[base + (cy * width + cx) * channels + c] ?? 0;
          if (augmentation.noise) value += augmentation.noise * randomNormal(random);
          out[base + (y * width + x) * channels + c] = value;
        }
      }
    }
  }
  return out;
}
