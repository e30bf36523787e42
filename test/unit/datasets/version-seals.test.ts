import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listDatasetVersions, sealDatasetVersion } from '../../../src/datasets/version-store';
import { datasetManifestUri, SEAL_TIME_BOUND_MS } from '../../../src/datasets/dataset-version';
import { DependencyUnavailableError } from '../../../src/core/errors';
import {
  checkVersionRead,
  isFailedRead,
  isReading,
  qualityVerdict,
  READ_ERROR_CHARS,
  readErrorLine,
} from '../../../src/datasets/version-reads';
import { QualityTracker, DEFAULT_QUALITY_POLICY, qualityFailureOf } from '../../../src/ml/data/quality';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const PREFIX = 's3://datasets/p/';

test('sealing the same contents again keeps who sealed the version first; new contents start afresh', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow', 'datasets'] });
  await store.putBytes(`${PREFIX}a.csv`, 'x\n1\n');
  const at = (s: string) => new Date(`2026-12-0${s}T00:00:00Z`);
  const pushed = await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'data push', now: at('1') });
  assert.deepEqual([pushed.firstSealedBy, pushed.firstSealedAt], ['data push', at('1').toISOString()]);
  const again = await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'watcher', now: at('2') });
  assert.equal(again.id, pushed.id);
  assert.deepEqual(
    [again.createdBy, again.createdAt, again.firstSealedBy, again.firstSealedAt],
    ['watcher', at('2').toISOString(), 'data push', at('1').toISOString()],
  );
  await store.putBytes(`${PREFIX}a.csv`, 'x\n2\n');
  const changed = await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'watcher', now: at('3') });
  assert.notEqual(changed.id, pushed.id);
  assert.equal(changed.firstSealedBy, 'watcher');
});

test('a manifest written before the first seal was kept stays without one: the first sealer is not guessed', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow', 'datasets'] });
  await store.putBytes(`${PREFIX}a.csv`, 'x\n1\n');
  const sealed = await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'watcher' });
  const { firstSealedAt: _at, firstSealedBy: _by, ...legacy } = sealed;
  await store.putJson(datasetManifestUri('fineflow', PREFIX, sealed.id), legacy);
  const again = await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'data push' });
  assert.equal(again.firstSealedBy, undefined);
  assert.equal(again.createdBy, 'data push');
});

test('a failed check fails the verdict, and a failed read record needs no data report', () => {
  assert.equal(qualityVerdict([{ check: 'smallClasses', outcome: 'failed', count: 1 }]), 'failed');
  assert.equal(qualityVerdict([{ check: 'imbalance', outcome: 'warned', count: 1 }]), 'warnings');
  assert.equal(qualityVerdict([{ check: 'imbalance', outcome: 'ok', count: 0 }]), 'passed');
  const read = { runId: 'r', stage: 's', at: 'now', verdict: 'failed', checks: [], records: 3, kept: 2, classes: 1 };
  const checked = checkVersionRead(read, 'u');
  assert.equal(isReading(checked) || isFailedRead(checked) ? undefined : checked.verdict, 'failed');
  assert.throws(
    () => checkVersionRead({ ...read, verdict: 'maybe' }, 'u'),
    /verdict is not passed, warnings or failed/,
  );
  assert.throws(() => checkVersionRead({ ...read, report: 7 }, 'u'), /report is not text/);
});

test('a record written before the read begins says reading, and only reading, read or failed are states', () => {
  const reading = { state: 'reading', runId: 'r', stage: 's', at: '2026-12-07T10:00:00Z' };
  const checked = checkVersionRead(reading, 'u');
  assert.ok(isReading(checked));
  assert.deepEqual(checked, reading);
  const done = { state: 'read', startedAt: 'then', runId: 'r', stage: 's', at: 'now', verdict: 'passed', checks: [] };
  assert.ok(!isReading(checkVersionRead({ ...done, records: 1, kept: 1, classes: 1 }, 'u')));
  assert.throws(() => checkVersionRead({ ...reading, state: 'done' }, 'u'), /state is not reading, read or failed/);
  assert.throws(() => checkVersionRead({ ...reading, runId: 3 }, 'u'), /runId is not text/);
  assert.throws(() => checkVersionRead({ ...done, records: 1, kept: 1, classes: 1, startedAt: 1 }, 'u'), /startedAt/);
  // A reading record with no verdict is not a finished one.
  assert.throws(() => checkVersionRead({ ...reading, state: undefined }, 'u'), /records is not a number/);
});

test('a read that failed keeps its error: one line, bounded, with its type and attempt', () => {
  const failed = {
    state: 'failed',
    runId: 'r',
    stage: 's',
    at: '2026-12-07T10:01:00Z',
    startedAt: '2026-12-07T10:00:00Z',
    attempt: 2,
    errorType: 'FineflowNotFound',
    error: 'dataset version abc of s3://d/p/ cannot be read: a.csv (S3 version v1) no longer exists.',
  };
  const checked = checkVersionRead(failed, 'u');
  assert.ok(isFailedRead(checked) && !isReading(checked));
  assert.deepEqual(checked, failed);
  // Extra fields a writer added are not carried to the page.
  assert.deepEqual(checkVersionRead({ ...failed, stack: 'at x' }, 'u'), failed);
  assert.throws(() => checkVersionRead({ ...failed, error: 'two\nlines' }, 'u'), /error is not one line/);
  assert.throws(() => checkVersionRead({ ...failed, error: 'x'.repeat(READ_ERROR_CHARS + 1) }, 'u'), /at most 300/);
  assert.throws(() => checkVersionRead({ ...failed, attempt: 0 }, 'u'), /attempt is not a whole number/);
  assert.throws(() => checkVersionRead({ ...failed, errorType: 5 }, 'u'), /errorType is not text/);
  assert.throws(() => checkVersionRead({ ...failed, startedAt: undefined }, 'u'), /startedAt is not text/);

  // The first line that says something, cut with an ellipsis within the bound.
  assert.equal(readErrorLine('\n  object store unavailable  \nat stack'), 'object store unavailable');
  const long = readErrorLine('y'.repeat(1000));
  assert.equal(long.length, READ_ERROR_CHARS);
  assert.ok(long.endsWith('…'));
  assert.equal(readErrorLine('abcdef', 4), 'abc…');
});

test("a quality failure carries every check's outcome and the scan's counts", () => {
  const tracker = new QualityTracker(DEFAULT_QUALITY_POLICY);
  tracker.record('smallClasses', 'class c', '1 example');
  let thrown: unknown;
  try {
    tracker.enforce('s3://d/p/', { records: 31, kept: 31, classes: 3 });
  } catch (error) {
    thrown = error;
  }
  const failure = qualityFailureOf(thrown);
  assert.equal(failure?.results.length, 8);
  assert.deepEqual(
    failure?.results.filter((r) => r.outcome !== 'ok'),
    [{ check: 'smallClasses', outcome: 'failed', count: 1 }],
  );
  assert.deepEqual(failure?.counts, { records: 31, kept: 31, classes: 3 });
  assert.equal(qualityFailureOf(new Error('other')), undefined);
});

test('a seal that took longer than its bound writes nothing and seals again; one always too slow gives up', async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow', 'datasets'] });
  await store.putBytes(`${PREFIX}a.csv`, 'x\n1\n');
  // The clock jumps past the bound while the first attempt runs, then stands still.
  const times = [0, SEAL_TIME_BOUND_MS + 1];
  let now = 0;
  const clock = (): number => (times.length > 0 ? (now = times.shift() as number) : now);
  const sealed = await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'data push', clock });
  assert.equal(sealed.count, 1, 'sealed by the second attempt');
  const slow = createMemoryObjectStore({ buckets: ['fineflow', 'datasets'] });
  await slow.putBytes(`${PREFIX}a.csv`, 'x\n1\n');
  let tick = 0;
  await assert.rejects(
    sealDatasetVersion(slow, 'fineflow', PREFIX, {
      createdBy: 'data push',
      clock: () => (tick += SEAL_TIME_BOUND_MS + 1),
    }),
    (thrown: unknown) =>
      thrown instanceof DependencyUnavailableError && /took longer than 30 minutes 3 times/.test(thrown.message),
  );
  assert.deepEqual(await listDatasetVersions(slow, 'fineflow', PREFIX), [], 'no manifest a gc may have outrun');
});
