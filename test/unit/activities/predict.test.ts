/**
 * The `predict` stage through MockActivityEnvironment with the in-memory store: a table model with
 * its preprocessing scores every CSV/JSONL record of a sealed dataset version; the predictions file
 * holds the model's own probabilities on features built here by hand from the stored statistics;
 * a pinned version ignores what was written after it; too many records fail without partial output.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { predictStage } from '../../../activities/predict';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { loadModel, saveModel } from '../../../src/ml/models/load-model';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { listDatasetVersions } from '../../../src/datasets/version-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { sensorPreprocessing, storeModel } from '../../helpers/sensor-model';

const { tf } = loadTf({ preference: 'cpu' });
const MODEL = `s3://${BUCKET}/runs/train/finetune/model/model.json`;
const PREPROCESSING = sensorPreprocessing(['pass', 'fail'], ['temperature', 'line']);

let store: MemoryObjectStore;
before(async () => {
  store = memoryStore();
  const model = buildModel(tf, { kind: 'mlp', inputShape: [3], hidden: [5] }, { numClasses: 2, seed: 7 });
  await storeModel(tf, store, model, MODEL, PREPROCESSING);
  model.dispose();
  await store.putBytes('s3://datasets/sensors/day1.csv', 'temperature,line\n25,a\nNA,b\n');
  await store.putBytes('s3://datasets/sensors/day2.jsonl', '{"temperature": 10, "line": "b"}\n');
});

async function expected(rows: readonly [number, string][]): Promise<number[][]> {
  const model = await loadModel(tf, store, MODEL, { registryBucket: BUCKET });
  const features = rows.flatMap(([t, line]) => [(t - 20) / 5, line === 'a' ? 1 : 0, line === 'b' ? 1 : 0]);
  const output = (model.predict(tf.tensor(features, [rows.length, 3])) as ReturnType<typeof tf.tensor>).arraySync();
  model.dispose();
  return output as number[][];
}

test('scores every record of the sealed version into predictions.csv, with counts', async () => {
  const { result, heartbeats } = await runStage('predict', predictStage, store, stageContext('predict'), {
    model: MODEL,
    source: 's3://datasets/sensors/',
    batchSize: 2,
  });
  const outputs = result.outputs;
  const uri = `s3://${BUCKET}/runs/unit-run-1/predict/predictions.csv`;
  assert.equal(outputs.predictions, uri);
  assert.equal(outputs.count, 3);
  assert.deepEqual(outputs.classes, ['pass', 'fail']);
  assert.match(String(outputs.datasetVersion), /^[0-9a-f]{64}$/);
  const lines = (await store.getBytes(uri)).toString('utf8').trim().split('\n');
  assert.equal(lines[0], 'input,predicted,confidence,p_pass,p_fail');
  const want = await expected([
    [25, 'a'],
    [20, 'b'],
    [10, 'b'],
  ]);
  const rows = lines.slice(1).map((line) => line.split(','));
  assert.deepEqual(
    rows.map((row) => row[0]),
    ['s3://datasets/sensors/day1.csv:2', 's3://datasets/sensors/day1.csv:3', 's3://datasets/sensors/day2.jsonl:1'],
  );
  const counts: Record<string, number> = { pass: 0, fail: 0 };
  rows.forEach((row, i) => {
    assert.ok(Math.abs(Number(row[3]) - (want[i]?.[0] ?? NaN)) < 1e-5, `row ${i} p_pass`);
    assert.ok(Math.abs(Number(row[4]) - (want[i]?.[1] ?? NaN)) < 1e-5, `row ${i} p_fail`);
    counts[String(row[1])] = (counts[String(row[1])] ?? 0) + 1;
  });
  assert.deepEqual(outputs.classCounts, counts);
  const mean = rows.reduce((sum, row) => sum + Number(row[2]), 0) / rows.length;
  assert.ok(Math.abs(Number(outputs.meanConfidence) - mean) < 1e-6);
  assert.ok(result.artifacts?.some((artifact) => artifact.uri === uri && /^[0-9a-f]{64}$/.test(artifact.sha256)));
  assert.ok(heartbeats.some((beat) => /scored \d+ records/.test(String(beat.message))));
});

test('a pinned version scores what it held, not what was written since; jsonl output', async () => {
  const first = await runStage('predict', predictStage, store, stageContext('p1', { runId: 'pin' }), {
    model: MODEL,
    source: 's3://datasets/sensors/',
  });
  const version = String(first.result.outputs.datasetVersion);
  await store.putBytes('s3://datasets/sensors/day3.csv', 'temperature,line\n30,a\n');
  const pinned = await runStage('predict', predictStage, store, stageContext('p2', { runId: 'pin' }), {
    model: MODEL,
    source: `s3://datasets/sensors/@${version}`,
    format: 'jsonl',
  });
  assert.equal(pinned.result.outputs.count, 3);
  assert.equal(pinned.result.outputs.datasetVersion, version);
  const text = (await store.getBytes(String(pinned.result.outputs.predictions))).toString('utf8');
  const parsed = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { input: string; probabilities: Record<string, number> });
  assert.equal(parsed.length, 3);
  assert.ok(parsed.every((p) => !p.input.includes('day3') && Object.keys(p.probabilities).join() === 'pass,fail'));
  await store.remove('s3://datasets/sensors/day3.csv');
});

test('more records than maxRecords fail without leaving a partial predictions file', async () => {
  const failure = await stageFailure(
    runStage('predict', predictStage, store, stageContext('predict', { runId: 'limit' }), {
      model: MODEL,
      source: 's3://datasets/sensors/',
      maxRecords: 2,
      batchSize: 1,
    }),
  );
  assert.equal(failure.type, 'FineflowResourceLimit');
  assert.match(failure.message, /day2\.jsonl:1: more than 2 records to predict on; raise maxRecords/);
  assert.equal(await store.stat(`s3://${BUCKET}/runs/limit/predict/predictions.csv`), undefined);
});

test('records of the wrong kind and a model without preprocessing fail naming what to fix', async () => {
  await store.putBytes('s3://datasets/pictures/a.png', new Uint8Array([137, 80, 78, 71]));
  const wrongKind = await stageFailure(
    runStage('predict', predictStage, store, stageContext('predict', { runId: 'kind' }), {
      model: MODEL,
      source: 's3://datasets/pictures/',
    }),
  );
  assert.equal(wrongKind.nonRetryable, true);
  assert.match(wrongKind.message, /a\.png: .* takes table rows \(CSV or JSONL\), not images/);
  const bare = `s3://${BUCKET}/runs/bare/model/model.json`;
  const model = buildModel(tf, { kind: 'mlp', inputShape: [3], hidden: [2] }, { numClasses: 2 });
  await saveModel(tf, store, model, bare);
  model.dispose();
  const noPreprocessing = await stageFailure(
    runStage('predict', predictStage, store, stageContext('predict', { runId: 'bare' }), {
      model: bare,
      source: 's3://datasets/sensors/',
    }),
  );
  assert.match(noPreprocessing.message, /has no preprocessing\.json beside its weights/);
  const empty = await stageFailure(
    runStage('predict', predictStage, store, stageContext('predict', { runId: 'empty' }), {
      model: MODEL,
      source: 's3://datasets/nothing-here/',
    }),
  );
  // Refused before a version of no objects is recorded (it used to be sealed, then refused).
  assert.match(empty.message, /^no data under s3:\/\/datasets\/nothing-here\/: .*`fineflow data push DIR /);
  assert.deepEqual(await listDatasetVersions(store, BUCKET, 's3://datasets/nothing-here/'), []);
});

test('categories the model never saw are scored as missing and named in a log warning, with counts', async () => {
  await store.putBytes('s3://datasets/typos/day1.csv', 'temperature,line\n25,a\n21,c\n22,c\n23, B \n24,NA\n');
  const runId = 'predict-unknown';
  await runStage('predict', predictStage, store, stageContext('predict', { runId }), {
    model: MODEL,
    source: 's3://datasets/typos/',
  });
  const [log] = await listStageLogs(store, BUCKET, runId, 'predict');
  assert.ok(log, 'the stage wrote a log');
  const warnings = (await stageLogText(store, log)).split('\n').filter((line) => line.includes('warning:'));
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0] ?? '',
    /warning: categories the model never saw \(scored as missing\) in line: "c" ×2, "B" ×1$/,
  );
});
