/**
 * Image augmentation (src/ml/train/augment.ts): exact geometry of each transform on known
 * images, and determinism of the seeded batch augmentation (a resumed epoch sees the same data).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../../src/ml/random';
import { augmentBatch, transformExample, type ExampleTransform } from '../../../src/ml/train/augment';
import type { Augmentation } from '../../../src/ml/train/types';

/** A single-channel image from rows of values. */
function image(rows: readonly (readonly number[])[]): { data: Float32Array; shape: [number, number, number] } {
  return { data: Float32Array.from(rows.flat()), shape: [rows.length, rows[0]?.length ?? 0, 1] };
}

function transformed(rows: readonly (readonly number[])[], transform: ExampleTransform): number[][] {
  const { data, shape } = image(rows);
  const out = new Float32Array(data.length);
  transformExample(data, out, 0, shape, transform);
  return rows.map((row, y) => row.map((_, x) => Math.round((out[y * shape[1] + x] ?? NaN) * 1e5) / 1e5));
}

const GRID = [
  [1, 2, 3],
  [4, 5, 6],
  [7, 8, 9],
];

/** A batch of `count` distinct 6×6×2 images. */
function batch(count: number): Float32Array {
  return Float32Array.from({ length: count * 6 * 6 * 2 }, (_, i) => ((i * 37) % 101) / 101);
}

describe('transformExample', () => {
  it('rotates 90° counter-clockwise as displayed: the top-right corner moves to the top-left', () => {
    assert.deepEqual(transformed(GRID, { rotateDegrees: 90 }), [
      [3, 6, 9],
      [2, 5, 8],
      [1, 4, 7],
    ]);
    assert.deepEqual(transformed(GRID, { rotateDegrees: -90 }), [
      [7, 4, 1],
      [8, 5, 2],
      [9, 6, 3],
    ]);
    // An even size rotates about the centre between pixels, so 90° is still a pure permutation.
    const four = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
      [13, 14, 15, 16],
    ];
    assert.deepEqual(transformed(four, { rotateDegrees: 90 })[0], [4, 8, 12, 16]);
  });

  it('rotates by a non-right angle with bilinear interpolation between neighbours', () => {
    const rotated = transformed(GRID, { rotateDegrees: 45 });
    assert.equal(rotated[1]?.[1], 5, 'the centre stays');
    // Turning counter-clockwise brings the content below-right of the centre to its right: pixel
    // (2,1) samples 1/√2 right and 1/√2 down of the centre, between 5, 6, 8 and 9.
    const value = rotated[1]?.[2] ?? 0;
    const s = Math.SQRT1_2;
    const expected = (5 * (1 - s) + 6 * s) * (1 - s) + (8 * (1 - s) + 9 * s) * s;
    assert.ok(Math.abs(value - expected) < 1e-4, `${value} vs ${expected}`);
  });

  it('zooms about the centre: in magnifies, out shrinks and replicates the edges', () => {
    const ramp = [[0, 1, 2, 3, 4]];
    assert.deepEqual(transformed(ramp, { scale: 2 })[0], [1, 1.5, 2, 2.5, 3]);
    assert.deepEqual(transformed(ramp, { scale: 0.5 })[0], [0, 0, 2, 4, 4]);
  });

  it('flips vertically and horizontally, and scales brightness', () => {
    assert.deepEqual(transformed(GRID, { flipVertical: true }), [GRID[2], GRID[1], GRID[0]]);
    assert.deepEqual(transformed(GRID, { flipHorizontal: true })[0], [3, 2, 1]);
    assert.deepEqual(transformed(GRID, { brightnessFactor: 0.5 })[2], [3.5, 4, 4.5]);
  });
});

describe('augmentBatch', () => {
  const all: Augmentation = {
    shift: 1,
    flipHorizontal: true,
    flipVertical: true,
    rotate: 30,
    zoom: 0.2,
    brightness: 0.3,
    noise: 0.01,
  };

  it('is deterministic for a seed and differs between seeds', () => {
    const features = batch(8);
    const first = augmentBatch(features, 8, [6, 6, 2], all, mulberry32(11));
    const again = augmentBatch(features, 8, [6, 6, 2], all, mulberry32(11));
    const other = augmentBatch(features, 8, [6, 6, 2], all, mulberry32(12));
    assert.deepEqual(again, first);
    assert.notDeepEqual(other, first);
    assert.notDeepEqual(first, features);
  });

  it('leaves a batch unchanged when every option is off, and ignores non-image shapes', () => {
    const features = batch(3);
    assert.deepEqual(
      augmentBatch(features, 3, [6, 6, 2], { rotate: 0, zoom: 0, brightness: 0, flipVertical: false }, mulberry32(1)),
      features,
    );
    const rows = Float32Array.from([1, 2, 3, 4]);
    assert.equal(augmentBatch(rows, 2, [2], all, mulberry32(1)), rows);
  });

  it('flipVertical mirrors about half of the examples top-bottom and leaves the rest', () => {
    const count = 40;
    const features = batch(count);
    const out = augmentBatch(features, count, [6, 6, 2], { flipVertical: true }, mulberry32(5));
    const size = 6 * 6 * 2;
    let flipped = 0;
    for (let n = 0; n < count; n += 1) {
      const source = features.subarray(n * size, (n + 1) * size);
      const result = out.subarray(n * size, (n + 1) * size);
      const mirrored = Float32Array.from({ length: size }, (_, i) => {
        const y = Math.floor(i / 12);
        return source[(5 - y) * 12 + (i % 12)] ?? NaN;
      });
      if (result.every((value, i) => value === mirrored[i])) flipped += 1;
      else assert.deepEqual(result, source, `example ${n} is either mirrored or untouched`);
    }
    assert.ok(flipped > 8 && flipped < 32, `${flipped} of ${count} flipped`);
  });

  it('brightness multiplies all intensities of an example by one factor within the range', () => {
    const count = 20;
    const features = Float32Array.from({ length: count * 4 * 4 }, (_, i) => 0.2 + (i % 16) / 40);
    const out = augmentBatch(features, count, [4, 4, 1], { brightness: 0.3 }, mulberry32(9));
    const factors = new Set<number>();
    for (let n = 0; n < count; n += 1) {
      const factor = (out[n * 16] ?? 0) / (features[n * 16] ?? 1);
      assert.ok(factor >= 0.7 - 1e-6 && factor <= 1.3 + 1e-6, `factor ${factor}`);
      for (let i = n * 16; i < (n + 1) * 16; i += 1)
        assert.ok(Math.abs((out[i] ?? 0) - (features[i] ?? 0) * factor) < 1e-5);
      factors.add(Math.round(factor * 1e4));
    }
    assert.ok(factors.size > count / 2, 'each example draws its own factor');
  });

  it('rotation and zoom keep values within the source range (interpolation, edge replication)', () => {
    const features = batch(10);
    const out = augmentBatch(features, 10, [6, 6, 2], { rotate: 180, zoom: 0.5 }, mulberry32(3));
    const min = Math.min(...features);
    const max = Math.max(...features);
    assert.ok(out.every((value) => value >= min - 1e-6 && value <= max + 1e-6));
    assert.notDeepEqual(out, features);
  });
});
