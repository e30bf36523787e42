/**
 * Synthetic hand-drawn shapes (28×28 grayscale, white strokes on black, like MNIST): the
 * quickstart's target domain for a base model pre-trained on MNIST digits. Strokes, widths and
 * centring match MNIST, so a digit model's stroke features carry over; the classes are new, and
 * each drawing is jittered (size, rotation, position, wobbly strokes, gaps), so a few labels are
 * not enough to learn those features from scratch.
 */
import { mulberry32, randomNormal, type Random } from '../random';
import type { LabelledSet } from './image-set';

export const SHAPE_CLASSES = ['circle', 'triangle', 'square', 'cross', 'zigzag'] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

const SIZE = 28;

export interface ShapeOptions {
  readonly perClass: number;
  readonly seed: number;
  /** Standard deviation of background noise. Default 0.03. */
  readonly noise?: number;
}

export type Point = readonly [number, number];

function outline(kind: ShapeClass, random: Random): Point[][] {
  switch (kind) {
    case 'circle':
      return [
        Array.from({ length: 25 }, (_, i) => {
          const angle = (i / 24) * Math.PI * 2;
          const radius = 1 + 0.08 * randomNormal(random);
          return [Math.cos(angle) * radius, Math.sin(angle) * radius] as Point;
        }),
      ];
    case 'triangle':
      return [
        [
          [-1, 0.85],
          [1, 0.85],
          [0, -0.95],
          [-1, 0.85],
        ],
      ];
    case 'square':
      return [
        [
          [-0.85, -0.85],
          [0.85, -0.85],
          [0.85, 0.85],
          [-0.85, 0.85],
          [-0.85, -0.85],
        ],
      ];
    case 'cross':
      return [
        [
          [-1, 0],
          [1, 0],
        ],
        [
          [0, -1],
          [0, 1],
        ],
      ];
    case 'zigzag':
      return [
        [
          [-1, -0.8],
          [-0.33, 0.8],
          [0.33, -0.8],
          [1, 0.8],
        ],
      ];
  }
}

function drawSegment(pixels: Float32Array, a: Point, b: Point, width: number): void {
  const [x0, y0] = a;
  const [x1, y1] = b;
  const lengthSquared = (x1 - x0) ** 2 + (y1 - y0) ** 2 || 1e-9;
  const minX = Math.max(0, Math.floor(Math.min(x0, x1) - width - 1));
  const maxX = Math.min(SIZE - 1, Math.ceil(Math.max(x0, x1) + width + 1));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1) - width - 1));
  const maxY = Math.min(SIZE - 1, Math.ceil(Math.max(y0, y1) + width + 1));
  for (let y = minY; y <= maxY; y += 1) {
    for (let x = minX; x <= maxX; x += 1) {
      const t = Math.max(0, Math.min(1, ((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / lengthSquared));
      const distance = Math.hypot(x - (x0 + t * (x1 - x0)), y - (y0 + t * (y1 - y0)));
      const coverage = Math.max(0, Math.min(1, width - distance + 0.5));
      const index = y * SIZE + x;
      pixels[index] = Math.max(pixels[index] ?? 0, coverage);
    }
  }
}

export function renderShape(kind: ShapeClass, random: Random, noise = 0.03): Float32Array {
  return renderStrokes((draw) => outline(kind, draw), random, noise);
}

/**
 * Strokes in [-1, 1] (`strokesOf`, called once the placement is drawn, so the seeded shapes stay byte-identical)
 * drawn jittered, scaled, rotated and sheared, with a pen of random width and occasional gaps, on a 28×28 canvas.
 */
export function renderStrokes(
  strokesOf: (random: Random) => readonly (readonly Point[])[],
  random: Random,
  noise = 0.03,
): Float32Array {
  const pixels = new Float32Array(SIZE * SIZE);
  const scale = 6 + random() * 4;
  const aspect = 0.8 + random() * 0.4;
  const angle = (random() - 0.5) * 0.8;
  const shear = (random() - 0.5) * 0.4;
  const cx = 14 + (random() - 0.5) * 4;
  const cy = 14 + (random() - 0.5) * 4;
  const width = 0.9 + random() * 0.8;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const place = ([x, y]: Point): Point => {
    const sx = (x + shear * y) * scale * aspect;
    const sy = y * scale;
    return [
      cx + sx * cos - sy * sin + randomNormal(random) * 0.35,
      cy + sx * sin + sy * cos + randomNormal(random) * 0.35,
    ];
  };
  for (const stroke of strokesOf(random)) {
    const points = stroke.map(place);
    for (let i = 0; i + 1 < points.length; i += 1) {
      // An occasional gap, as in a quick pen stroke.
      if (random() < 0.03) continue;
      drawSegment(pixels, points[i] as Point, points[i + 1] as Point, width);
    }
  }
  for (let i = 0; i < pixels.length; i += 1)
    pixels[i] = Math.max(0, Math.min(1, (pixels[i] ?? 0) + noise * randomNormal(random)));
  return pixels;
}

/** `perClass` drawings of each shape, interleaved by class, fully determined by `seed`. */
export function generateShapes(options: ShapeOptions): LabelledSet {
  const random = mulberry32(options.seed);
  const count = options.perClass * SHAPE_CLASSES.length;
  const features = new Float32Array(count * SIZE * SIZE);
  const labels = new Int32Array(count);
  for (let index = 0; index < count; index += 1) {
    const classIndex = index % SHAPE_CLASSES.length;
    features.set(renderShape(SHAPE_CLASSES[classIndex] as ShapeClass, random, options.noise), index * SIZE * SIZE);
    labels[index] = classIndex;
  }
  return { featureShape: [SIZE, SIZE, 1], classes: [...SHAPE_CLASSES], features, labels };
}
