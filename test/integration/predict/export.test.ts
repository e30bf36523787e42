/**
 * `fineflow models export --format tfjs` round trip against the real MinIO of the test stack: a
 * registered table model is exported; tfjs-node loads the files with its own `file://` loader (not
 * Fineflow's), the exported preprocessing.json encodes the rows, and its probabilities equal
 * `fineflow predict`'s on the same CSV. The sha256s in export.json match the files; a non-empty
 * directory, a missing format and a model that does not exist are refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import type * as TfNode from '@tensorflow/tfjs-node';
import { applyToRows, type TablePreprocessing } from '../../../src/ml/data/preprocessing';
import { SENSOR_CSV, sensorPreprocessing } from '../../helpers/sensor-model';
import { sensorModelCli } from '../../helpers/sensor-model-cli';

const preprocessing = sensorPreprocessing(['pass', 'fail', 'unsure']);
const CSV = SENSOR_CSV;

const cli = sensorModelCli(
  {
    name: 'export',
    modelKey: 'runs/r1/finetune/model/model.json',
    preprocessing,
    mlp: { hidden: [8], seed: 11 },
    register: 'sensors',
  },
  (started) => writeFile(join(started.dir, 'rows.csv'), CSV),
);
const { fineflow } = cli;

it('tfjs: tfjs-node loads the export, and with its preprocessing.json predicts what fineflow predict does', async () => {
  const exported = await fineflow('models', 'export', 'sensors@champion', '--format', 'tfjs', '--output', 'out');
  assert.equal(exported.code, 0, exported.stderr);
  const out = join(cli.dir, 'out');
  const record = JSON.parse(await readFile(join(out, 'export.json'), 'utf8')) as {
    format: string;
    model: string;
    files: Record<string, string>;
  };
  assert.equal(record.format, 'tfjs');
  assert.equal(record.model, 'registry://sensors@champion');
  assert.deepEqual(Object.keys(record.files).sort(), ['model.json', 'preprocessing.json', 'weights.bin']);
  for (const [name, sha256] of Object.entries(record.files))
    assert.equal(
      createHash('sha256')
        .update(await readFile(join(out, name)))
        .digest('hex'),
      sha256,
      name,
    );

  // The target runtime's own loader, and the exported preprocessing document (not the store's).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tfNode = require('@tensorflow/tfjs-node') as typeof TfNode;
  const model = await tfNode.loadLayersModel(`file://${join(out, 'model.json')}`);
  const stored = JSON.parse(await readFile(join(out, 'preprocessing.json'), 'utf8')) as TablePreprocessing;
  assert.deepEqual(stored, preprocessing);
  const [header, ...lines] = CSV.trim().split('\n');
  const columns = (header ?? '').split(',');
  const rows = lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [columns[i], cell])));
  const features = applyToRows(stored, rows, (i) => `row ${i + 1}`);
  const probabilities = (
    model.predict(tfNode.tensor(features, [rows.length, 4])) as TfNode.Tensor
  ).arraySync() as number[][];
  model.dispose();

  const predicted = await fineflow('predict', 'registry://sensors@champion', 'rows.csv', '--format', 'jsonl');
  assert.equal(predicted.code, 0, predicted.stderr);
  const expected = predicted.stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { probabilities: Record<string, number> }).probabilities);
  assert.equal(expected.length, 4);
  expected.forEach((want, i) =>
    preprocessing.classes.forEach((name, c) =>
      assert.ok(Math.abs((probabilities[i]?.[c] ?? NaN) - (want[name] ?? NaN)) < 1e-6, `row ${i} ${name}`),
    ),
  );
});

it('refuses a non-empty directory, a missing or unknown format, and a model that does not exist', async () => {
  const again = await fineflow('models', 'export', 'sensors@champion', '--format', 'tfjs', '--output', 'out');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /out is not empty; export into a new or empty directory/);
  assert.equal((await fineflow('models', 'export', 'sensors@champion', '--output', 'x')).code, 2);
  assert.equal((await fineflow('models', 'export', 'sensors@1', '--format', 'onnx', '--output', 'x')).code, 2);
  const missing = await fineflow('models', 'export', 'nosuch@1', '--format', 'tfjs', '--output', 'y');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /model nosuch is not in the registry/);
});
