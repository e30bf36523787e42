/**
 * Synthetic surface-defect images: the seed example of adapting a generic vision model to
 * defect detection in manufacturing. Each 28×28 grayscale image is a brushed-metal surface
 * (directional streaks plus sensor noise) that is either clean or carries one defect:
 *
 * - `ok`: the surface alone
 * - `scratch`: one long, thin, straight mark at a random angle
 * - `spot`: a small round blob (pit or stain)
 * - `crack`: a jagged, branching dark line
 *
 * Positions, angles, contrast polarity and background vary, so a model must learn local
 * stroke shapes rather than a global brightness cue; that is what a model pre-trained on
 * handwritten strokes (MNIST) already knows.
 */
import { mulberry32, randomNormal, type Random } from '../random';
import type { LabelledSet } from './image-set';

export const DEFECT_CLASSES = ['ok', 'scratch', 'spot', 'crack'] as const;
export type DefectClass = (typeof DEFECT_CLASSES)[number];

const SIZE = 28;

/**
 * The surface a production line makes: `brushed` metal (directional streaks, darker; line A)
 * or `cast` metal (blotchy mottling instead of streaks; line B). A model pre-trained on one
 * line and fine-tuned on a few labels of the other is the headline demo.
 */
export type SurfaceKind = 'brushed' | 'cast';

export interface DefectOptions {
  readonly perClass: number;
  readonly seed: number;
  /** Default `brushed`. */
  readonly surface?: SurfaceKind;
  /** Standard deviation of pixel noise; higher is harder. Default 0.08. */
  readonly noise?: number;
  /** Defect contrast against the surface; lower is harder. Default 0.45. */
  readonly contrast?: number;
}

function castSurface(random: Random, noise: number): Float32Array {
  const pixels = new Float32Array(SIZE * SIZE);
  const level = 0.2 + random() * 0.2;
  const waves = Array.from({ length: 3 }, () => ({
    fx: (random() - 0.5) * 0.6,
    fy: (random() - 0.5) * 0.6,
    phase: random() * Math.PI * 2,
    amplitude: 0.04 + random() * 0.05,
  }));
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      let value = level;
      for (const wave of waves) value += wave.amplitude * Math.sin(x * wave.fx + y * wave.fy + wave.phase);
      pixels[y * SIZE + x] = value + noise * randomNormal(random);
    }
  }
  return pixels;
}

function surface(random: Random, noise: number, kind: SurfaceKind): Float32Array {
  if (kind === 'cast') return castSurface(random, noise);
  const pixels = new Float32Array(SIZE * SIZE);
  const level = 0.15 + random() * 0.2;
  const angle = random() * Math.PI;
  const frequency = 0.6 + random() * 1.2;
  const phase = random() * Math.PI * 2;
  const streak = 0.03 + random() * 0.05;
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      const along = x * dy - y * dx;
      pixels[y * SIZE + x] = level + streak * Math.sin(along * frequency + phase) + noise * randomNormal(random);
    }
  }
  return pixels;
}

/** Add `amount` to pixels within `width` of segment (x0,y0)-(x1,y1), anti-aliased. */
function strokeSegment(
  pixels: Float32Array,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  width: number,
  amount: number,
): void {
  const minX = Math.max(0, Math.floor(Math.min(x0, x1) - width - 1));
  const maxX = Math.min(SIZE - 1, Math.ceil(Math.max(x0, x1) + width + 1));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1) - width - 1));
  const maxY = Math.min(SIZE - 1, Math.ceil(Math.max(y0, y1) + width + 1));
  const lengthSquared = (x1 - x0) ** 2 + (y1 - y0) ** 2 || 1e-9;
  for (let y = minY; y <= maxY; y += 1) {
    for (let x = minX; x <= maxX; x += 1) {
      const t = Math.max(0, Math.min(1, ((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / lengthSquared));
      const distance = Math.hypot(x - (x0 + t * (x1 - x0)), y - (y0 + t * (y1 - y0)));
      const coverage = Math.max(0, Math.min(1, width + 0.5 - distance));
      const index = y * SIZE + x;
      // Take the strongest coverage so overlapping segments do not stack up.
      const current = pixels[index] ?? 0;
      pixels[index] =
        amount > 0 ? Math.max(current, current + amount * coverage) : Math.min(current, current + amount * coverage);
    }
  }
}

function drawScratch(pixels: Float32Array, random: Random, contrast: number): void {
  const angle = random() * Math.PI;
  const length = 14 + random() * 10;
  const cx = 9 + random() * 10;
  const cy = 9 + random() * 10;
  const hx = (Math.cos(angle) * length) / 2;
  const hy = (Math.sin(angle) * length) / 2;
  strokeSegment(pixels, cx - hx, cy - hy, cx + hx, cy + hy, 0.6, contrast * (0.8 + random() * 0.4));
}

function drawSpot(pixels: Float32Array, random: Random, contrast: number): void {
  const radius = 1.8 + random() * 2.2;
  const cx = 6 + random() * 16;
  const cy = 6 + random() * 16;
  const amount = contrast * (0.8 + random() * 0.4);
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      const coverage = Math.max(0, Math.min(1, radius + 0.5 - Math.hypot(x - cx, y - cy)));
      pixels[y * SIZE + x] = (pixels[y * SIZE + x] ?? 0) + amount * coverage;
    }
  }
}

/** A crack's segments keep this far from the edge: the stroke's half-width and its anti-aliased fringe, inside. */
const CRACK_MARGIN = 2;

type Segment = readonly [number, number, number, number];

/**
 * A jagged walk with one branch, then moved (and, when wider than the frame, shrunk about its middle) so every
 * segment lies inside the image: a walk started near an edge used to run off it, leaving a stub that reads as a
 * spot or a scratch. The random draws are the same as before, so the other images of a seeded set are unchanged.
 */
function crackSegments(random: Random): Segment[] {
  const segments: Segment[] = [];
  const walk = (startX: number, startY: number, heading: number, steps: number, branch: boolean): void => {
    let x = startX;
    let y = startY;
    let direction = heading;
    for (let step = 0; step < steps; step += 1) {
      direction += (random() - 0.5) * 1.4;
      const nx = x + Math.cos(direction) * 2.5;
      const ny = y + Math.sin(direction) * 2.5;
      segments.push([x, y, nx, ny]);
      if (branch && step === Math.floor(steps / 2))
        walk(nx, ny, direction + (random() < 0.5 ? 1 : -1) * (0.7 + random() * 0.6), 3, false);
      x = nx;
      y = ny;
    }
  };
  walk(6 + random() * 16, 6 + random() * 16, random() * Math.PI * 2, 5 + Math.floor(random() * 3), true);
  return fitInside(segments, CRACK_MARGIN, SIZE - 1 - CRACK_MARGIN);
}

/** The segments moved into [low, high], shrunk about their middle by one factor (the shape holds) when needed. */
function fitInside(segments: readonly Segment[], low: number, high: number): Segment[] {
  const xs = segments.flatMap(([x0, , x1]) => [x0, x1]);
  const ys = segments.flatMap(([, y0, , y1]) => [y0, y1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = high - low;
  const scale = Math.min(1, span / Math.max(maxX - minX, 1e-9), span / Math.max(maxY - minY, 1e-9));
  const axis = (min: number, max: number) => {
    const middle = (min + max) / 2;
    const half = ((max - min) * scale) / 2;
    // The least shift that brings both ends inside (none for a crack that already is).
    const shift = Math.max(low - (middle - half), Math.min(0, high - (middle + half)));
    return (value: number): number => middle + (value - middle) * scale + shift;
  };
  const fx = axis(minX, maxX);
  const fy = axis(minY, maxY);
  return segments.map(([x0, y0, x1, y1]) => [fx(x0), fy(y0), fx(x1), fy(y1)] as const);
}

function drawCrack(pixels: Float32Array, random: Random, contrast: number): void {
  const amount = contrast * (0.8 + random() * 0.4);
  for (const [x0, y0, x1, y1] of crackSegments(random)) strokeSegment(pixels, x0, y0, x1, y1, 0.45, amount);
}

/** One image of the given class. */
export function renderDefect(
  kind: DefectClass,
  random: Random,
  options: { readonly noise?: number; readonly contrast?: number; readonly surface?: SurfaceKind } = {},
): Float32Array {
  const surfaceKind = options.surface ?? 'brushed';
  const pixels = surface(random, options.noise ?? 0.08, surfaceKind);
  // Defects are bright (reflective) or dark (shadowed) at random, on both lines.
  const contrast = (options.contrast ?? 0.45) * (random() < 0.5 ? 1 : -1);
  if (kind === 'scratch') drawScratch(pixels, random, contrast);
  else if (kind === 'spot') drawSpot(pixels, random, contrast);
  else if (kind === 'crack') drawCrack(pixels, random, contrast);
  for (let i = 0; i < pixels.length; i += 1) pixels[i] = Math.max(0, Math.min(1, pixels[i] ?? 0));
  return pixels;
}

/** `perClass` images of each defect class, interleaved by class, fully determined by `seed`. */
export function generateDefects(options: DefectOptions): LabelledSet {
  const random = mulberry32(options.seed);
  const count = options.perClass * DEFECT_CLASSES.length;
  const features = new Float32Array(count * SIZE * SIZE);
  const labels = new Int32Array(count);
  for (let index = 0; index < count; index += 1) {
    const classIndex = index % DEFECT_CLASSES.length;
    const pixels = renderDefect(DEFECT_CLASSES[classIndex] as DefectClass, random, options);
    features.set(pixels, index * SIZE * SIZE);
    labels[index] = classIndex;
  }
  return { featureShape: [SIZE, SIZE, 1], classes: [...DEFECT_CLASSES], features, labels };
}
