/**
 * A version prepare-data seals (its source read unpinned) is never visible without the stage's read record: the record
 * is written before the manifest. Once a run has a record under a prefix, gc keeps only the versions its records name
 * (src/retention/gc-plan.ts rule 6), so a second stage of the run reading the same prefix, whose record came after the
 * manifest, left its new version unprotected while the record was written. A seal that fails after the record was
 * written leaves no record beside a manifest that does not exist. Through MockActivityEnvironment, in-memory store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareDataStage } from '../../../activities/prepare-data';
import { DependencyUnavailableError } from '../../../src/core/errors';
import { parseDatasetVersionKey } from '../../../src/datasets/dataset-version';
import { versionReadUri } from '../../../src/datasets/version-reads';
import type { ObjectStore } from '../../../src/storage/object-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { rawBars } from './fixtures';

const SOURCE = 's3://datasets/bars/';
const INPUTS = { source: SOURCE, format: 'image-folder', image: { size: [8, 8], channels: 1 } };

/** `store`, calling `onManifest` with each manifest's version id before the manifest is written. */
function watchingManifests(store: ObjectStore, onManifest: (id: string) => Promise<void>): ObjectStore {
  return {
    ...store,
    async putJson(uri, value, options) {
      const key = uri.slice(`s3://${BUCKET}/`.length);
      const parsed = uri.startsWith(`s3://${BUCKET}/`) ? parseDatasetVersionKey(key) : undefined;
      if (parsed?.kind === 'manifest') await onManifest(parsed.id);
      return store.putJson(uri, value, options);
    },
  };
}

test("a second stage reading the prefix unpinned: its version's record is there before the version", async () => {
  const store = memoryStore();
  await rawBars(store, SOURCE, 4);
  const runId = 'seal-record';
  // The run's first stage has read the prefix: gc now keeps only what the run's records under it name.
  await runStage('prepare-data', prepareDataStage, store, stageContext('first', { runId }), INPUTS);
  // New data lands; the second stage seals a new version of the prefix as it is now.
  await store.putBytes(`${SOURCE}top/extra.png`, await store.getBytes(`${SOURCE}top/00000.png`));
  const seen: { id: string; record: unknown }[] = [];
  const watched = watchingManifests(store, async (id) => {
    const uri = versionReadUri(BUCKET, SOURCE, id, runId, 'second');
    seen.push({ id, record: (await store.stat(uri)) ? await store.getJson(uri) : undefined });
  });
  const { result } = await runStage(
    'prepare-data',
    prepareDataStage,
    watched,
    stageContext('second', { runId }),
    INPUTS,
  );
  assert.equal(seen.length, 1, 'one version sealed');
  assert.equal(seen[0]?.id, result.outputs.datasetVersion);
  assert.deepEqual(
    [(seen[0]?.record as { state?: string } | undefined)?.state, (seen[0]?.record as { runId?: string })?.runId],
    ['reading', runId],
    'the record existed before the manifest was written',
  );
  const done = await store.getJson(versionReadUri(BUCKET, SOURCE, seen[0]?.id ?? '', runId, 'second'));
  assert.equal((done as { state: string }).state, 'read', 'and was completed when the stage finished');
});

test('a seal whose manifest cannot be written leaves no record beside nothing', async () => {
  const store = memoryStore();
  await rawBars(store, SOURCE, 4);
  let sealedId = '';
  let recordedFirst = false;
  const broken = watchingManifests(store, async (id) => {
    sealedId = id;
    recordedFirst = (await store.stat(versionReadUri(BUCKET, SOURCE, id, 'seal-broken', 'prepare'))) !== undefined;
    throw new DependencyUnavailableError('store unavailable while writing the manifest');
  });
  const failure = await stageFailure(
    runStage('prepare-data', prepareDataStage, broken, stageContext('prepare', { runId: 'seal-broken' }), INPUTS),
  );
  assert.match(failure.message, /store unavailable/);
  assert.ok(recordedFirst, 'its record was written before the manifest');
  assert.equal(await store.stat(versionReadUri(BUCKET, SOURCE, sealedId, 'seal-broken', 'prepare')), undefined);
});
