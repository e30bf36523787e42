/**
 * Synthetic camera crops of two parts, rings and bars (28×28 grayscale, light strokes on dark, noisy): the seeded
 * data of docs/your-own-data.md's image example (pipelines/ring-or-bar.yaml), so a reader can run it before
 * pointing it at their own folder. Drawn like src/ml/generators/shapes.ts's strokes (jitter, rotation, shear, pen
 * width, gaps); a bar may lie at any angle, so flipping an image never changes its class.
 */
import { mulberry32, randomNormal, type Random } from '../random';
import type { LabelledSet } from './image-set';
import { renderStrokes, type Point } from './shapes';

export const RING_BAR_CLASSES = ['ring', 'bar'] as const;

const SIZE = 28;

/** A ring, sometimes open (a gap of up to a third of it) or small enough to read as a blob. */
function ring(random: Random): Point[][] {
  const radius = 0.35 + random() * 0.65;
  const gap = random() < 0.5 ? random() * ((Math.PI * 2) / 3) : 0;
  const start = random() * Math.PI * 2;
  return [
    Array.from({ length: 25 }, (_, i) => {
      const angle = start + (i / 24) * (Math.PI * 2 - gap);
      const r = radius * (1 + 0.1 * randomNormal(random));
      return [Math.cos(angle) * r, Math.sin(angle) * r] as Point;
    }),
    ...scratch(random),
  ];
}

/** A bar at any angle, from a dash to the full crop, sometimes bent. */
function bar(random: Random): Point[][] {
  const angle = random() * Math.PI;
  const half = 0.3 + random() * 0.7;
  const bend = random() < 0.4 ? (random() - 0.5) * 0.8 : 0;
  const [dx, dy] = [Math.cos(angle) * half, Math.sin(angle) * half];
  const middle: Point = [-dy * bend, dx * bend];
  return [[[-dx, -dy], middle, [dx, dy]], ...scratch(random)];
}

/** A faint stray stroke in a third of the crops, either class: dust or a scratch on the lens. */
function scratch(random: Random): Point[][] {
  if (random() >= 1 / 3) return [];
  const [x, y] = [random() * 2 - 1, random() * 2 - 1];
  const angle = random() * Math.PI;
  return [
    [
      [x, y],
      [x + Math.cos(angle) * 0.4, y + Math.sin(angle) * 0.4],
    ],
  ];
}

/** `perClass` crops of each part, interleaved by class, fully determined by `seed`. */
export function generateRingsBars(options: { readonly perClass: number; readonly seed: number }): LabelledSet {
  const random = mulberry32(options.seed);
  const count = options.perClass * RING_BAR_CLASSES.length;
  const features = new Float32Array(count * SIZE * SIZE);
  const labels = new Int32Array(count);
  for (let index = 0; index < count; index += 1) {
    const classIndex = index % RING_BAR_CLASSES.length;
    const pixels = renderStrokes(classIndex === 0 ? ring : bar, random, 0.15);
    features.set(pixels, index * SIZE * SIZE);
    labels[index] = classIndex;
  }
  return { featureShape: [SIZE, SIZE, 1], classes: [...RING_BAR_CLASSES], features, labels };
}
