import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEFECT_CLASSES, generateDefects, renderDefect } from '../../../src/ml/generators/defects';
import { loadMnist, mnistAvailablePerDigit } from '../../../src/ml/generators/mnist';
import { generateShapes, SHAPE_CLASSES } from '../../../src/ml/generators/shapes';
import { generateTabular, TABULAR_NUMERIC_COLUMNS } from '../../../src/ml/generators/tabular';
import { csvFile, imageFolderFiles, jsonlFile, writeFilesToDirectory } from '../../../src/ml/generators/writers';
import { decodeImage } from '../../../src/ml/data/images';
import { imagePixels } from '../../../src/ml/data/preprocessing';
import { mulberry32 } from '../../../src/ml/random';

describe('generators', () => {
  it('mulberry32 is deterministic per seed', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const first = [a(), a(), a()];
    assert.deepEqual(first, [b(), b(), b()]);
    assert.notDeepEqual(first, [c(), c(), c()]);
    assert.ok(first.every((value) => value >= 0 && value < 1));
  });

  it('loads disjoint MNIST ranges as 28×28 digits in [0, 1], with shifts', () => {
    assert.equal(mnistAvailablePerDigit().length, 10);
    const set = loadMnist({ digits: [3, 7], perClass: 5, seed: 1 });
    assert.deepEqual(set.classes, ['3', '7']);
    assert.equal(set.features.length, 10 * 784);
    assert.deepEqual([...set.labels].sort(), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert.ok(set.features.every((value) => value >= 0 && value <= 1));
    const inverted = loadMnist({ digits: [3, 7], perClass: 5, seed: 1, shift: 'invert' });
    assert.ok(Math.abs((inverted.features[100] ?? 0) - (1 - (set.features[100] ?? 0))) < 1e-6);
    assert.throws(
      () => loadMnist({ digits: [5], perClass: 10, offset: 900, seed: 1 }),
      /cannot take 10 from index 900/,
    );
  });

  it('draws every crack inside the image, on both lines, and keeps the classes balanced', () => {
    // A crack rendered from a generator in the same state as an `ok` image differs from it by the crack alone
    // (same surface, same polarity draw); a crack that runs off the frame leaves its stroke on the outermost pixels.
    const offFrame: number[] = [];
    for (const surface of ['brushed', 'cast'] as const) {
      for (let seed = 1; seed <= 400; seed += 1) {
        const crack = renderDefect('crack', mulberry32(seed), { surface, noise: 0 });
        const plain = renderDefect('ok', mulberry32(seed), { surface, noise: 0 });
        const touches = crack.some((value, index) => {
          const [x, y] = [index % 28, Math.floor(index / 28)];
          return (x === 0 || y === 0 || x === 27 || y === 27) && Math.abs(value - (plain[index] ?? 0)) > 1e-6;
        });
        if (touches) offFrame.push(seed);
      }
    }
    assert.deepEqual(offFrame, [], `cracks that reach the image's edge: seeds ${offFrame.slice(0, 10).join(', ')}`);
    const set = generateDefects({ perClass: 50, seed: 5 });
    for (let classIndex = 0; classIndex < DEFECT_CLASSES.length; classIndex += 1)
      assert.equal(set.labels.filter((label) => label === classIndex).length, 50);
  });

  it('generates the same defect images for the same seed, and distinct classes', () => {
    const a = generateDefects({ perClass: 3, seed: 5 });
    const b = generateDefects({ perClass: 3, seed: 5 });
    assert.deepEqual(a.features, b.features);
    assert.deepEqual(a.classes, [...DEFECT_CLASSES]);
    const cast = generateDefects({ perClass: 3, seed: 5, surface: 'cast' });
    assert.notDeepEqual(cast.features, a.features);
    // A defect changes pixels well beyond the noise: the max deviation from the image mean is larger than on `ok` images.
    const spread = (index: number): number => {
      const pixels = a.features.subarray(index * 784, (index + 1) * 784);
      const mean = pixels.reduce((s, v) => s + v, 0) / 784;
      return Math.max(...Array.from(pixels, (v) => Math.abs(v - mean)));
    };
    assert.ok(spread(2) > spread(0), 'a spot stands out more than a clean surface');
  });

  it('draws MNIST-like shapes deterministically: white strokes on black, every class', () => {
    const a = generateShapes({ perClass: 4, seed: 9 });
    assert.deepEqual(a.features, generateShapes({ perClass: 4, seed: 9 }).features);
    assert.deepEqual(a.classes, [...SHAPE_CLASSES]);
    assert.equal(a.labels.length, 4 * SHAPE_CLASSES.length);
    for (let i = 0; i < a.labels.length; i += 1) {
      const pixels = a.features.subarray(i * 784, (i + 1) * 784);
      const bright = pixels.filter((value) => value > 0.5).length;
      assert.ok(bright > 15 && bright < 400, `image ${i} has ${bright} stroke pixels`);
    }
  });

  it('generates tabular rows with shift and missing cells, and writes CSV, JSONL and image folders', () => {
    const source = generateTabular({ rows: 400, seed: 1, domain: 'source' });
    const target = generateTabular({ rows: 400, seed: 1, domain: 'target' });
    const meanOf = (rows: typeof source): number =>
      rows.reduce((sum, row) => sum + (row.temperature ?? 0), 0) / rows.length;
    assert.ok(meanOf(target) - meanOf(source) > 5, 'target temperatures are shifted');
    const withMissing = generateTabular({ rows: 200, seed: 2, domain: 'source', missingRate: 0.2 });
    assert.ok(withMissing.some((row) => TABULAR_NUMERIC_COLUMNS.some((column) => row[column] === null)));
    const csv = csvFile(withMissing).bytes.toString();
    assert.match(csv.split('\n')[0] ?? '', /^temperature,pressure,vibration,speed,humidity,line,label$/);
    assert.equal(jsonlFile(source).bytes.toString().trim().split('\n').length, 400);

    const set = generateDefects({ perClass: 2, seed: 1 });
    const files = imageFolderFiles(set);
    assert.deepEqual(
      files.map((file) => file.path.split('/')[0]),
      ['ok', 'scratch', 'spot', 'crack', 'ok', 'scratch', 'spot', 'crack'],
    );
    const decoded = imagePixels(decodeImage((files[1] as { bytes: Buffer }).bytes, 'png'), {
      size: [28, 28],
      channels: 1,
      background: [255, 255, 255],
    });
    for (let i = 0; i < 784; i += 1)
      assert.ok(Math.abs((decoded[i] ?? 0) - (set.features[784 + i] ?? 0)) <= 0.5 / 255 + 1e-6);
    const directory = mkdtempSync(path.join(os.tmpdir(), 'fineflow-gen-'));
    return writeFilesToDirectory(directory, files).then(() => {
      assert.deepEqual(readdirSync(directory).sort(), ['crack', 'ok', 'scratch', 'spot']);
      rmSync(directory, { recursive: true, force: true });
    });
  });
});
