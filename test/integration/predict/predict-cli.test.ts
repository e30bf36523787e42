/**
 * `fineflow predict` against the real MinIO of the test stack: a table model with its
 * preprocessing.json, inputs from a local CSV, a local JSONL and an s3:// prefix, scored in batches;
 * the probabilities equal the model's on features built by hand from the stored statistics. Bad
 * inputs fail naming file, line and column; paths outside the file roots are refused. A failed predict
 * leaves no --output behind (nor a truncated one, nor its temporary file) and an existing one unchanged.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { it } from 'node:test';
import { loadConfig } from '../../../src/config';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { loadModel, saveModel } from '../../../src/ml/models/load-model';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import { sensorPreprocessing } from '../../helpers/sensor-model';
import { sensorModelCli } from '../../helpers/sensor-model-cli';

const preprocessing = sensorPreprocessing(['pass', 'fail']);

const cli = sensorModelCli(
  { name: 'predict', modelKey: 'models/sensors/model.json', preprocessing, mlp: { hidden: [6], seed: 3 } },
  (started) =>
    started.store.putBytes(`s3://${started.bucket}/incoming/day1.csv`, 'line,pressure,temperature\nb,90,30\n'),
);
const { bucket, modelUri, fineflow } = cli;

/** The model's probabilities on features computed here from the stored statistics (not by predict's code). */
async function expectedProbabilities(rows: readonly [number | undefined, number, string][]): Promise<number[][]> {
  const { tf } = loadTf({ preference: 'auto' });
  const store = createObjectStoreFromConfig(loadConfig(process.env));
  const model = await loadModel(tf, store, modelUri, { registryBucket: bucket });
  const features = rows.flatMap(([temperature, pressure, line]) => [
    ((temperature ?? 20) - 20) / 5,
    (pressure - 100) / 10,
    line === 'a' ? 1 : 0,
    line === 'b' ? 1 : 0,
  ]);
  const output = (model.predict(tf.tensor(features, [rows.length, 4])) as ReturnType<typeof tf.tensor>).arraySync();
  model.dispose();
  return output as number[][];
}

it(
  'scores CSV, JSONL and an s3:// prefix in batches, with the stored preprocessing applied',
  { timeout: 60_000 },
  async () => {
    // Label column present (ignored), a missing marker and an empty cell (imputed), columns in any order.
    await writeFile(
      join(cli.dir, 'rows.csv'),
      'temperature,pressure,line,label\n25,110,a,pass\nNA,95,b,fail\n,100,a,pass\n',
    );
    await writeFile(join(cli.dir, 'rows.jsonl'), '{"temperature": 15, "pressure": 80, "line": "b"}\n');
    const result = await fineflow(
      'predict',
      modelUri,
      'rows.csv',
      'rows.jsonl',
      `s3://${bucket}/incoming/`,
      '--output',
      'out.csv',
      '--batch-size',
      '2',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /5 predictions written to out\.csv/);
    const lines = (await readFile(join(cli.dir, 'out.csv'), 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'input,predicted,confidence,p_pass,p_fail');
    const expected = await expectedProbabilities([
      [25, 110, 'a'],
      [undefined, 95, 'b'],
      [undefined, 100, 'a'],
      [15, 80, 'b'],
      [30, 90, 'b'],
    ]);
    const rows = lines.slice(1).map((line) => line.split(','));
    assert.deepEqual(
      rows.map((row) => (row[0] ?? '').replace(cli.dir, '<dir>')),
      [
        '<dir>/rows.csv:2',
        '<dir>/rows.csv:3',
        '<dir>/rows.csv:4',
        '<dir>/rows.jsonl:1',
        `s3://${bucket}/incoming/day1.csv:2`,
      ],
    );
    rows.forEach((row, i) => {
      const [pass, fail] = [Number(row[3]), Number(row[4])];
      assert.ok(
        Math.abs(pass - (expected[i]?.[0] ?? NaN)) < 1e-5 && Math.abs(fail - (expected[i]?.[1] ?? NaN)) < 1e-5,
        `row ${i}`,
      );
      assert.equal(row[1], pass >= fail ? 'pass' : 'fail');
      assert.equal(Number(row[2]), Math.max(pass, fail));
    });

    const jsonl = await fineflow('predict', modelUri, 'rows.jsonl', '--format', 'jsonl');
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const parsed = JSON.parse(jsonl.stdout.trim()) as { predicted: string; probabilities: Record<string, number> };
    assert.ok(Math.abs((parsed.probabilities.pass ?? 0) - (expected[3]?.[0] ?? NaN)) < 1e-6);
  },
);

it(
  'fails naming the file, line and column, refuses paths outside the roots, and checks usage',
  { timeout: 60_000 },
  async () => {
    await writeFile(join(cli.dir, 'bad.csv'), 'temperature,line\n25,a\n');
    const missing = await fineflow('predict', modelUri, 'bad.csv');
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /bad\.csv:2: column pressure is absent; the model takes columns temperature, pressure, line/,
    );
    await writeFile(join(cli.dir, 'notes.txt'), 'hello');
    const folderless = await fineflow('predict', modelUri, 'notes.txt');
    assert.equal(folderless.code, 1);
    assert.match(folderless.stderr, /notes\.txt: cannot predict on this file type; give \.png/);
    const outside = await fineflow('predict', modelUri, '/etc/hostname');
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /FINEFLOW_FILE_ROOTS|file roots|not inside/i);
    const noModel = await fineflow('predict', `s3://${bucket}/nothing/model.json`, 'rows.csv');
    assert.equal(noModel.code, 1);
    assert.match(noModel.stderr, /model s3:\/\/\S+\/nothing\/model\.json does not exist/);
    const notRegistered = await fineflow('predict', 'nosuch@1', 'rows.csv');
    assert.equal(notRegistered.code, 1);
    assert.match(notRegistered.stderr, /model nosuch is not in the registry/);
    const bare = `s3://${bucket}/bare/model.json`;
    const { tf } = loadTf({ preference: 'auto' });
    await saveModel(
      tf,
      createObjectStoreFromConfig(loadConfig(process.env)),
      buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [2] }, { numClasses: 2 }),
      bare,
    );
    const noPreprocessing = await fineflow('predict', bare, 'rows.csv');
    assert.equal(noPreprocessing.code, 1);
    assert.match(noPreprocessing.stderr, /has no preprocessing\.json/);
    assert.equal((await fineflow('predict', modelUri)).code, 2);
    assert.equal((await fineflow('predict', modelUri, 'rows.csv', '--batch-size', '0')).code, 2);
  },
);

it(
  'writes --output all or nothing: a failed predict leaves no file and keeps an existing one',
  { timeout: 60_000 },
  async () => {
    await writeFile(join(cli.dir, 'good.csv'), 'temperature,pressure,line\n25,110,a\n20,100,b\n');
    await writeFile(join(cli.dir, 'broken.csv'), 'temperature,line\n25,a\n');
    await writeFile(join(cli.dir, 'kept.csv'), 'from an earlier run\n');
    const noModel = await fineflow('predict', `s3://${bucket}/nothing/model.json`, 'good.csv', '-o', 'kept.csv');
    assert.equal(noModel.code, 1, noModel.stderr);
    assert.equal(await readFile(join(cli.dir, 'kept.csv'), 'utf8'), 'from an earlier run\n');
    // The good file's rows are scored and written (batch size 1) before the broken file fails.
    const midway = await fineflow(
      'predict',
      modelUri,
      'good.csv',
      'broken.csv',
      '-o',
      'partial.csv',
      '--batch-size',
      '1',
    );
    assert.equal(midway.code, 1);
    assert.match(midway.stderr, /broken\.csv:2: column pressure is absent/);
    const names = await readdir(cli.dir);
    assert.deepEqual(
      names.filter((name) => name.includes('partial.csv') || name.includes('kept.csv.')),
      [],
      'neither partial.csv nor a temporary file is left',
    );
    const ok = await fineflow('predict', modelUri, 'good.csv', '-o', 'kept.csv');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await readFile(join(cli.dir, 'kept.csv'), 'utf8')).trim().split('\n').length, 3);
    assert.deepEqual(
      (await readdir(cli.dir)).filter((name) => name.endsWith('.tmp')),
      [],
    );
  },
);

it('names the categories the model never saw on stderr after scoring, and nothing when all are known', async () => {
  const long = 'z'.repeat(500);
  const rows = ['25,110,c', '20,100,a', '21,101,c', '22,99,NA', `23,100,${long}`];
  await writeFile(join(cli.dir, 'typo.csv'), `temperature,pressure,line\n${rows.join('\n')}\n`);
  const typo = await fineflow('predict', modelUri, 'typo.csv', '--json');
  assert.equal(typo.code, 0, typo.stderr);
  // stdout stays one prediction a line, and a row with a category the model never saw says which (cut to 80).
  const lines = typo.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { input: string; unknownCategories?: Record<string, string> });
  assert.deepEqual(
    lines.map((line) => [basename(line.input), line.unknownCategories]),
    [
      ['typo.csv:2', { line: 'c' }],
      ['typo.csv:3', undefined],
      ['typo.csv:4', { line: 'c' }],
      ['typo.csv:5', undefined],
      ['typo.csv:6', { line: 'z'.repeat(80) }],
    ],
  );
  assert.match(
    typo.stderr,
    /^fineflow predict: warning: categories the model never saw \(scored as missing\) in line: "c" ×2, "z{80}" ×1$/m,
  );
  await writeFile(join(cli.dir, 'known.csv'), 'temperature,pressure,line\n25,110,b\n');
  const known = await fineflow('predict', modelUri, 'known.csv');
  assert.equal(known.code, 0, known.stderr);
  assert.doesNotMatch(known.stderr, /never saw/);
});
