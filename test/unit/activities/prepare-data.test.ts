/**
 * prepare-data through MockActivityEnvironment with the in-memory store: a raw PNG image folder
 * (with a duplicate and an unreadable file) becomes a split, sharded dataset with a data report;
 * limitPerClass keeps a small labelled set; CSV works too; bad inputs name their field.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareDataStage } from '../../../activities/prepare-data';
import { loadSplit, readManifest } from '../../../src/ml/data/shards';
import type { DataReport } from '../../../src/ml/data/prepare';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { CLASSES, rawBars } from './fixtures';

let store: MemoryObjectStore;
before(async () => {
  store = memoryStore();
  await rawBars(store, 's3://datasets/bars/', 20);
  // A byte-identical copy of an image (a duplicate) and a file that is not a PNG at all.
  await store.putBytes('s3://datasets/bars/top/copy.png', await store.getBytes('s3://datasets/bars/top/00000.png'));
  await store.putBytes('s3://datasets/bars/middle/broken.png', 'not an image');
});

test('an image folder becomes a stratified split with shards, a manifest, counts and a data report', async () => {
  const context = stageContext('prepare', { runId: 'prep-1' });
  const { result, heartbeats } = await runStage('prepare-data', prepareDataStage, store, context, {
    source: 's3://datasets/bars/',
    format: 'image-folder',
    image: { size: [8, 8], channels: 1 },
    split: { train: 0.5, validation: 0.25, test: 0.25, stratify: true, seed: 7 },
  });
  const outputs = result.outputs as {
    dataset: string;
    report: string;
    classes: string[];
    counts: { total: Record<string, number>; train: Record<string, number> };
  };
  assert.equal(outputs.dataset, 's3://fineflow/runs/prep-1/prepare/dataset/manifest.json');
  assert.deepEqual(outputs.classes, [...CLASSES].sort());
  assert.deepEqual(outputs.counts.total, { train: 30, validation: 15, test: 15 });
  assert.deepEqual(outputs.counts.train, { bottom: 10, middle: 10, top: 10 });
  const report = await store.getJson<DataReport>(outputs.report);
  assert.equal(report.records, 62);
  assert.equal(report.duplicates, 1);
  assert.equal(report.quarantined.count, 1);
  assert.match(report.quarantined.examples[0]?.where ?? '', /middle\/broken\.png/);
  const manifest = await readManifest(store, outputs.dataset);
  assert.deepEqual(manifest.featureShape, [8, 8, 1]);
  assert.equal(
    manifest.inputTransform.kind,
    'standardize',
    'normalize defaults to true: statistics of the training split',
  );
  const test = await loadSplit(store, manifest, 'test');
  assert.equal(test.labels.length, 15);
  // Progress reported bytes and records, and every output is an artifact with a sha256.
  assert.ok(heartbeats.some((h) => typeof h.detail?.bytes === 'number' && (h.detail.bytes as number) > 0));
  assert.ok(heartbeats.some((h) => /records/.test(h.message ?? '')));
  assert.ok((result.artifacts ?? []).some((a) => a.uri === outputs.dataset));
  assert.ok((result.artifacts ?? []).every((a) => /^[0-9a-f]{64}$/.test(a.sha256)));
});

test('limitPerClass keeps a small labelled training set and leaves validation and test alone', async () => {
  const { result } = await runStage(
    'prepare-data',
    prepareDataStage,
    store,
    stageContext('prepare', { runId: 'prep-2' }),
    {
      source: 's3://datasets/bars/',
      format: 'image-folder',
      image: { size: [8, 8], channels: 1 },
      split: { train: 0.5, validation: 0.25, test: 0.25, seed: 7 },
      limitPerClass: 4,
      normalize: false,
    },
  );
  const counts = result.outputs.counts as { train: Record<string, number>; total: Record<string, number> };
  assert.deepEqual(counts.train, { bottom: 4, middle: 4, top: 4 });
  assert.deepEqual(counts.total, { train: 12, validation: 15, test: 15 });
  const manifest = await readManifest(store, String(result.outputs.dataset));
  assert.equal(manifest.inputTransform.kind, 'none');
  const train = await loadSplit(store, manifest, 'train');
  assert.equal(train.labels.length, 12);
  assert.deepEqual(
    [0, 1, 2].map((label) => train.labels.filter((l) => l === label).length),
    [4, 4, 4],
  );
});

test('CSV rows: label column, encoded features, standardised with training statistics', async () => {
  const rows = [
    'a,b,label',
    ...Array.from({ length: 40 }, (_, i) => `${i},${(i * 7) % 5},${i % 2 === 0 ? 'even' : 'odd'}`),
    'x,1,even',
  ];
  await store.putBytes('s3://datasets/table/data.csv', `${rows.join('\n')}\n`);
  const { result } = await runStage(
    'prepare-data',
    prepareDataStage,
    store,
    stageContext('prepare', { runId: 'prep-3' }),
    {
      source: 's3://datasets/table/',
      format: 'csv',
      labelColumn: 'label',
      split: { train: 0.5, validation: 0.25, test: 0.25, seed: 1 },
    },
  );
  assert.deepEqual(result.outputs.classes, ['even', 'odd']);
  const report = await store.getJson<DataReport>(String(result.outputs.report));
  assert.equal(report.quarantined.count, 1, 'the row with a word in a numeric column is quarantined');
  assert.deepEqual((await readManifest(store, String(result.outputs.dataset))).featureShape, [2]);
});

test('a CSV prefix: what is not a .csv is named in the log as skipped, not counted as read in silence', async () => {
  const rows = ['a,label', ...Array.from({ length: 20 }, (_, i) => `${i},${i % 2 === 0 ? 'even' : 'odd'}`)];
  await store.putBytes('s3://datasets/notes/data.csv', `${rows.join('\n')}\n`);
  await store.putBytes('s3://datasets/notes/README.txt', 'exported from the CRM\n');
  const runId = 'prep-skipped';
  await runStage('prepare-data', prepareDataStage, store, stageContext('prepare', { runId }), {
    source: 's3://datasets/notes/',
    format: 'csv',
    labelColumn: 'label',
    split: { train: 0.5, validation: 0.25, test: 0.25, seed: 1 },
  });
  const [log] = await listStageLogs(store, BUCKET, runId, 'prepare');
  assert.ok(log, 'the stage wrote a log');
  const text = await stageLogText(store, log);
  assert.match(text, /skipped 1 object\(s\) that are not \.csv: README\.txt\n/);
});

test('inputs that can never succeed fail non-retryably and name the field', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ source: 's3://datasets/table/', format: 'csv' }, 'labelColumn'],
    [
      { source: 's3://datasets/bars/', format: 'image-folder', split: { train: 0.5, validation: 0.1, test: 0.1 } },
      'split',
    ],
    [{ source: 'file:///tmp/bars', format: 'image-folder' }, 'source'],
    [{ source: 's3://datasets/bars/', format: 'parquet' }, 'format'],
    [{ source: 's3://datasets/bars/', format: 'image-folder', image: { channels: 2 } }, 'image.channels'],
  ];
  for (const [inputs, field] of cases) {
    const failure = await stageFailure(
      runStage(
        'prepare-data',
        prepareDataStage,
        store,
        stageContext('prepare', { runId: 'prep-bad' }),
        inputs as never,
      ),
    );
    assert.equal(failure.type, 'FineflowInvalidInput', failure.message);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.details.field, field, failure.message);
  }
});

test('every quality count reaches the stage log, and a .. in the source is an input error naming the field', async () => {
  const local = memoryStore();
  await rawBars(local, 's3://datasets/q/', 10);
  await local.putBytes('s3://datasets/q/top/skip.gif', 'GIF89a');
  const context = stageContext('prepare', { runId: 'prep-quality' });
  await runStage('prepare-data', prepareDataStage, local, context, {
    source: 's3://datasets/q/',
    format: 'image-folder',
    image: { size: [8, 8], channels: 1 },
    quality: { unsupportedFiles: 'warn' },
  });
  const logs = await local.list('s3://fineflow/runs/prep-quality/');
  let text = '';
  for (const info of logs.filter((entry) => /log/.test(entry.key)))
    text += (await local.getBytes(`s3://${info.bucket}/${info.key}`)).toString('utf8');
  assert.match(text, /quality unsupportedFiles: 1 \(warn, warned\); e\.g\. top\/skip\.gif: is \.gif, not PNG or JPEG/);
  assert.match(text, /quality conflictingLabels: 0 \(fail\)/);
  assert.match(text, /image sizes: \d+x\d+ 30; colour modes: /);
  assert.match(text, /classes: bottom 10 \(\d+\/\d+\/\d+\)/);

  const failure = await stageFailure(
    runStage('prepare-data', prepareDataStage, local, stageContext('prepare', { runId: 'prep-dots' }), {
      source: 's3://datasets/q/../other/',
      format: 'image-folder',
    }),
  );
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /'\.\.'|\.\. segment|'\.' or '\.\.' segment/);
  assert.equal(failure.details.field, 'source');
});

test('a fixed test set is read whole into test, at a dataset version recorded in the manifest', async () => {
  const local = memoryStore();
  await rawBars(local, 's3://datasets/bars-main/', 12);
  await rawBars(local, 's3://datasets/bars-test/', 3);
  const context = stageContext('prepare', { runId: 'prep-fixed' });
  const { result } = await runStage('prepare-data', prepareDataStage, local, context, {
    source: 's3://datasets/bars-main/',
    format: 'image-folder',
    image: { size: [8, 8], channels: 1 },
    split: { seed: 3, testSource: 's3://datasets/bars-test/' },
    clean: { dropDuplicates: false },
  });
  const outputs = result.outputs as { dataset: string; report: string; counts: { total: Record<string, number> } };
  // rawBars draws the same first images for both prefixes: those copies never reach training.
  const report = await local.getJson<DataReport>(outputs.report);
  assert.equal(report.fixedSets?.test?.records, 9);
  const overlap = report.fixedSets?.overlapDropped ?? 0;
  assert.equal(overlap, 9, 'the same seed draws the same first three images per class');
  assert.equal(outputs.counts.total.test, 9);
  assert.equal((outputs.counts.total.train ?? 0) + (outputs.counts.total.validation ?? 0), 36 - overlap);
  const manifest = await readManifest(local, outputs.dataset);
  assert.match(manifest.fixedSets?.test?.version ?? '', /^[0-9a-f]{64}$/);
  assert.equal(manifest.fixedSets?.test?.source, 's3://datasets/bars-test/');

  const failure = await stageFailure(
    runStage('prepare-data', prepareDataStage, local, stageContext('prepare', { runId: 'prep-fixed-2' }), {
      source: 's3://datasets/bars-main/',
      format: 'image-folder',
      split: { testSource: 's3://datasets/bars-main/test/' },
    }),
  );
  assert.match(failure.message, /overlaps source/);
});
