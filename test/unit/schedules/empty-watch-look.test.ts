/**
 * A data watcher's look at an empty prefix reads as nothing there, not as `version e3b0c44298fc` (the version id of no
 * objects), which read as a dataset version of 0 objects that exists.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeText } from '../../../src/cli/commands/schedule';
import type { ScheduleDetails } from '../../../src/schedules/schedule-client';
import type { DataWatcherStatus } from '../../../src/core/schedules/data-watch-types';
import { datasetVersionId } from '../../../src/datasets/dataset-version';
import { EMPTY_LOOK, isEmptyLook, lookText } from '../../../src/core/schedules/watch-look';

const EMPTY_ID = datasetVersionId([]);

function watcher(count: number, fingerprint: string): DataWatcherStatus {
  return {
    watcherId: 'w-1',
    path: 's3://datasets/incoming/',
    configDigest: 'c',
    planDigest: 'p',
    pollIntervalMs: 60_000,
    debounceMs: 0,
    overlap: 'skip',
    minObjects: 1,
    state: { handledVersion: fingerprint, handledCount: count, runsStarted: 0 },
    lastObservation: { fingerprint, count, bytes: count * 10, observedAt: '2026-12-07T05:00:00.000Z' },
    recentRuns: [],
    pollsThisExecution: 1,
  };
}

const describe = (w: DataWatcherStatus): string =>
  describeText({ pipeline: 'p', scheduleId: 'fineflow-p', watchers: [w] } as unknown as ScheduleDetails);

test('an empty prefix: describe says nothing is there, and names no version', () => {
  assert.equal(EMPTY_ID.slice(0, 12), 'e3b0c44298fc', 'the id of no objects is the sha256 of nothing');
  const text = describe(watcher(0, EMPTY_ID));
  assert.match(text, /^ {2}last look 2026-12-07T05:00:00.000Z: nothing under the prefix \(no dataset version/m);
  assert.doesNotMatch(text, /e3b0c44298fc/);
  assert.equal(lookText({ fingerprint: EMPTY_ID, count: 0 }), EMPTY_LOOK);
  // A later watcher records no fingerprint; its JSON, read by the web app, may carry null for it.
  assert.equal(lookText({ count: 0 }), EMPTY_LOOK);
  assert.equal(lookText({ fingerprint: null, count: 0 }), EMPTY_LOOK);
  assert.equal(isEmptyLook({ fingerprint: null, count: 0 }), true);
  assert.equal(isEmptyLook({ fingerprint: EMPTY_ID, count: 0 }), true);
  assert.equal(isEmptyLook({ fingerprint: EMPTY_ID.replace('e', 'f'), count: 1 }), false);
});

test('a prefix with objects still names its version, count and size', () => {
  const id = 'ab'.repeat(32);
  assert.match(
    describe(watcher(3, id)),
    /^ {2}last look 2026-12-07T05:00:00.000Z: 3 objects, 30 bytes, version abababababab$/m,
  );
  assert.equal(lookText({ fingerprint: id, count: 3, bytes: 30 }), '3 objects, version abababababab');
});

test('an empty look recorded with no version (watchers since session 18) reads the same', () => {
  const { fingerprint: _none, ...look } = watcher(0, EMPTY_ID).lastObservation ?? assert.fail('no look');
  const w: DataWatcherStatus = {
    ...watcher(0, EMPTY_ID),
    state: { handledCount: 0, runsStarted: 0 },
    lastObservation: look,
  };
  assert.match(describe(w), /^ {2}last look 2026-12-07T05:00:00.000Z: nothing under the prefix \(no dataset version/m);
  assert.equal(lookText({ count: 0 }), EMPTY_LOOK);
});
