/**
 * prepare-data that fails for a reason other than its quality checks completes its read records as `failed`, with
 * the error's type and first line (redacted, bounded), on every failure path the activity sees: the store failing
 * mid-read, a file it cannot parse, a cancel and the worker shutting down. Left `reading`, the datasets page showed a
 * reader that was not reading until the run ended. Through MockActivityEnvironment with the in-memory store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MockActivityEnvironment } from '@temporalio/testing';
import { prepareDataStage } from '../../../activities/prepare-data';
import { DependencyUnavailableError } from '../../../src/core/errors';
import { checkVersionRead, READ_ERROR_CHARS, type VersionReadRecord } from '../../../src/datasets/version-reads';
import type { ObjectStore } from '../../../src/storage/object-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { rawBars } from './fixtures';

const IMAGES = { format: 'image-folder', image: { size: [8, 8], channels: 1 } };

/** The read records `runId` left, by the version's prefix (one per version read). */
async function recordsOf(store: ObjectStore, runId: string): Promise<VersionReadRecord[]> {
  const listed = await store.list(`s3://${BUCKET}/datasets/`);
  const mine = listed.filter((info) => info.key.includes(`.reads/${runId}/`));
  return Promise.all(
    mine.map(async (info) => {
      const uri = `s3://${info.bucket}/${info.key}`;
      return checkVersionRead(await store.getJson(uri), uri);
    }),
  );
}

/** `store`, with `onRead` called before each read of an object under `prefix` (it may throw). */
function readsThrough(store: ObjectStore, prefix: string, onRead: () => void): ObjectStore {
  return {
    ...store,
    async getStream(uri, options) {
      if (uri.startsWith(prefix)) onRead();
      return store.getStream(uri, options);
    },
  };
}

test('a store that fails mid-read: the record says failed, with the error redacted to one bounded line', async () => {
  const store = memoryStore();
  await rawBars(store, 's3://datasets/flaky/', 4);
  const secretUrl = 'https://admin:hunter2@minio.internal:9000/datasets/flaky/top/00000.png?X-Amz-Signature=abc123';
  const flaky = readsThrough(store, 's3://datasets/flaky/', () => {
    throw new DependencyUnavailableError(`object store unavailable: GET ${secretUrl} reset ${'x'.repeat(400)}\nat …`);
  });
  const failure = await stageFailure(
    runStage('prepare-data', prepareDataStage, flaky, stageContext('prepare', { runId: 'fail-store' }), {
      source: 's3://datasets/flaky/',
      ...IMAGES,
    }),
  );
  assert.equal(failure.type, 'FineflowDependencyUnavailable');
  const [record, ...others] = await recordsOf(store, 'fail-store');
  assert.equal(others.length, 0, 'one version read, one record');
  assert.equal(record?.state, 'failed', JSON.stringify(record));
  if (record?.state !== 'failed') return;
  assert.equal(record.errorType, 'FineflowDependencyUnavailable');
  assert.equal(record.attempt, 1);
  assert.ok(record.startedAt <= record.at);
  assert.ok(!record.error.includes('hunter2') && !record.error.includes('abc123'), record.error);
  assert.match(record.error, /^object store unavailable: GET https:\/\/redacted@minio\.internal:9000\/datasets\//);
  assert.equal(record.error.length, READ_ERROR_CHARS, 'cut to the bound');
  assert.ok(record.error.endsWith('…'));
});

test('a file it cannot parse (no label column): the record says failed with the parse error', async () => {
  const store = memoryStore();
  await store.putBytes('s3://datasets/nolabel/rows.csv', 'x,kind\n1,a\n2,b\n');
  const failure = await stageFailure(
    runStage('prepare-data', prepareDataStage, store, stageContext('prepare', { runId: 'fail-parse' }), {
      source: 's3://datasets/nolabel/',
      format: 'csv',
      labelColumn: 'label',
    }),
  );
  assert.equal(failure.type, 'FineflowInvalidInput');
  const records = await recordsOf(store, 'fail-parse');
  assert.deepEqual(
    records.map((r) => [r.state, r.state === 'failed' ? r.errorType : undefined]),
    [['failed', 'FineflowInvalidInput']],
  );
  assert.match(records[0]?.state === 'failed' ? records[0].error : '', /rows\.csv:1: no label column label/);
});

/** Runs a prepare-data whose first read of its source calls `stop` with the environment, and returns its record. */
async function stoppedMidRead(
  runId: string,
  stop: (env: MockActivityEnvironment) => void,
): Promise<{ failure: Awaited<ReturnType<typeof stageFailure>>; records: VersionReadRecord[] }> {
  const store = memoryStore();
  await rawBars(store, `s3://datasets/${runId}/`, 4);
  let env: MockActivityEnvironment | undefined;
  const stopping = readsThrough(store, `s3://datasets/${runId}/`, () => {
    if (env) stop(env);
    env = undefined;
  });
  const failure = await stageFailure(
    runStage(
      'prepare-data',
      prepareDataStage,
      stopping,
      stageContext('prepare', { runId }),
      { source: `s3://datasets/${runId}/`, ...IMAGES },
      { onEnvironment: (e) => (env = e) },
    ),
  );
  return { failure, records: await recordsOf(store, runId) };
}

test('a cancel mid-read: the record says failed, cancelled', async () => {
  const { failure, records } = await stoppedMidRead('fail-cancel', (env) => env.cancel());
  assert.match(failure.message, /cancel/i);
  assert.deepEqual(
    records.map((r) => (r.state === 'failed' ? [r.state, r.errorType, r.error] : [r.state])),
    [['failed', 'FineflowCancelled', 'the stage was cancelled']],
  );
});

test('the worker shutting down mid-read: the record says failed, and that another worker retries it', async () => {
  const { failure, records } = await stoppedMidRead('fail-shutdown', (env) => env.cancel('WORKER_SHUTDOWN'));
  assert.equal(failure.type, 'FineflowDependencyUnavailable', 'retried on another worker');
  assert.deepEqual(
    records.map((r) => (r.state === 'failed' ? [r.state, r.errorType, r.error] : [r.state])),
    [
      [
        'failed',
        'FineflowDependencyUnavailable',
        'the worker shut down before the stage finished; the stage is retried on another worker',
      ],
    ],
  );
});

test('a retry of a failed read records reading again, then read', async () => {
  const store = memoryStore();
  await rawBars(store, 's3://datasets/again/', 4);
  let broken = true;
  const flaky = readsThrough(store, 's3://datasets/again/', () => {
    if (broken) throw new DependencyUnavailableError('store unavailable');
  });
  const context = stageContext('prepare', { runId: 'fail-retry' });
  const inputs = { source: 's3://datasets/again/', ...IMAGES };
  await stageFailure(runStage('prepare-data', prepareDataStage, flaky, context, inputs));
  assert.deepEqual(
    (await recordsOf(store, 'fail-retry')).map((r) => r.state),
    ['failed'],
  );
  broken = false;
  await runStage('prepare-data', prepareDataStage, flaky, context, inputs, { info: { attempt: 2 } });
  const [done] = await recordsOf(store, 'fail-retry');
  assert.equal(done?.state, 'read', 'the retry that read it replaced the failed record');
});
