/**
 * An attempt of prepare-data that Temporal gave up on (its heartbeats stopped) can keep running on its worker while
 * the retry reads. What it writes to the version's read record after the retry took it over is refused and logged in
 * its own attempt's log: the record says what the retry did. Through MockActivityEnvironment with the in-memory store;
 * the first attempt is held mid-read while the second runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareDataStage } from '../../../activities/prepare-data';
import { DependencyUnavailableError } from '../../../src/core/errors';
import { checkVersionRead, type VersionReadRecord } from '../../../src/datasets/version-reads';
import type { ObjectStore } from '../../../src/storage/object-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { rawBars } from './fixtures';

const INPUTS = { source: 's3://datasets/zombie/', format: 'image-folder', image: { size: [8, 8], channels: 1 } };

async function recordsOf(store: ObjectStore, runId: string): Promise<VersionReadRecord[]> {
  const listed = await store.list(`s3://${BUCKET}/datasets/`);
  return Promise.all(
    listed
      .filter((info) => info.key.includes(`.reads/${runId}/`))
      .map(async (info) => {
        const uri = `s3://${info.bucket}/${info.key}`;
        return checkVersionRead(await store.getJson(uri), uri);
      }),
  );
}

/** The lines of one attempt's stage log. */
async function attemptLog(store: ObjectStore, runId: string, attempt: number): Promise<string> {
  const listed = await store.list(`s3://${BUCKET}/runs/${runId}/prepare/logs/attempt-${attempt}/`);
  const parts = await Promise.all(listed.map((info) => store.getBytes(`s3://${info.bucket}/${info.key}`)));
  return parts.map(String).join('');
}

/**
 * `store`, whose first read of the source waits until `release` is called, then ends as `ending` says: the attempt
 * that made it is the zombie (frozen past its heartbeat timeout, then running on). `written` lists what it wrote or
 * removed after it was released, its own log aside.
 */
function heldFirstRead(store: ObjectStore, ending: 'goes on' | 'fails') {
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reached = (): void => undefined;
  const held = new Promise<void>((resolve) => (reached = resolve));
  let first = true;
  let woken = false;
  const written: string[] = [];
  const note = (uri: string): void => {
    if (woken && !uri.includes('/logs/')) written.push(uri);
  };
  const holding: ObjectStore = {
    ...store,
    async getStream(uri, options) {
      if (first && uri.startsWith(INPUTS.source)) {
        first = false;
        reached();
        await released;
        woken = true;
        if (ending === 'fails') throw new DependencyUnavailableError('the connection to the store was reset');
      }
      return store.getStream(uri, options);
    },
    putStream: async (uri, body, options) => (note(uri), store.putStream(uri, body, options)),
    putBytes: async (uri, body, options) => (note(uri), store.putBytes(uri, body, options)),
    putJson: async (uri, value, options) => (note(uri), store.putJson(uri, value, options)),
    remove: async (uri, options) => (note(uri), store.remove(uri, options)),
    removePrefix: async (uri) => (note(uri), store.removePrefix(uri)),
  };
  return { store: holding, held, release, written };
}

for (const ending of ['goes on', 'fails'] as const) {
  const what = ending === 'goes on' ? 'reads on to the end' : 'fails';
  test(`a zombie attempt that ${what} after the retry read leaves the retry's record`, async () => {
    const store = memoryStore();
    await rawBars(store, INPUTS.source, 4);
    const runId = `zombie-${ending === 'goes on' ? 'read' : 'failed'}`;
    const context = stageContext('prepare', { runId });
    const hold = heldFirstRead(store, ending);
    const zombie = runStage('prepare-data', prepareDataStage, hold.store, context, INPUTS);
    const zombieEnd = zombie.then(
      () => 'succeeded',
      (thrown: unknown) => (thrown as Error).message,
    );
    await hold.held;
    assert.deepEqual(
      (await recordsOf(store, runId)).map((r) => [r.state, r.attempt]),
      [['reading', 1]],
      'the first attempt recorded its read, then froze',
    );

    // Temporal retried it: the second attempt (the run's attempt 2) reads it all.
    await runStage('prepare-data', prepareDataStage, store, context, INPUTS, { info: { attempt: 2 } });
    const [retried] = await recordsOf(store, runId);
    assert.deepEqual([retried?.state, retried?.attempt], ['read', 2]);

    hold.release();
    await zombieEnd;
    const records = await recordsOf(store, runId);
    assert.deepEqual(records, [retried], 'the record still says what attempt 2 did');
    const outputs = hold.written.filter((uri) => uri.includes(`/runs/${runId}/`));
    assert.deepEqual(outputs, [], "the zombie wrote nothing over attempt 2's dataset");
    const log = await attemptLog(store, runId, 1);
    // Woken, the zombie is refused its first output write and ends; the failed read it then records is refused too.
    if (ending === 'goes on')
      assert.match(log, /attempt 1 did not write s3:\/\/\S+: attempt 2 of this stage owns its outputs now/);
    assert.match(
      log,
      /attempt 1 did not record version [0-9a-f]{64} as failed: attempt 2 of this stage owns the record now/,
    );
  });
}

test('a retry takes over the record of a failed attempt, and a third over the second', async () => {
  const store = memoryStore();
  await rawBars(store, INPUTS.source, 4);
  let broken = true;
  const flaky: ObjectStore = {
    ...store,
    async getStream(uri, options) {
      if (broken && uri.startsWith(INPUTS.source)) throw new DependencyUnavailableError('store unavailable');
      return store.getStream(uri, options);
    },
  };
  const context = stageContext('prepare', { runId: 'takeover' });
  await stageFailure(runStage('prepare-data', prepareDataStage, flaky, context, INPUTS));
  await stageFailure(runStage('prepare-data', prepareDataStage, flaky, context, INPUTS, { info: { attempt: 2 } }));
  assert.deepEqual(
    (await recordsOf(store, 'takeover')).map((r) => [r.state, r.attempt]),
    [['failed', 2]],
  );
  broken = false;
  // A `fineflow retry` after two attempts: a new activity execution whose run-wide attempts start at 3.
  await runStage('prepare-data', prepareDataStage, flaky, { ...context, attempt: 3 }, INPUTS);
  assert.deepEqual(
    (await recordsOf(store, 'takeover')).map((r) => [r.state, r.attempt]),
    [['read', 3]],
  );
});
