/**
 * A data watcher whose looks fail says why in its state (`lastLookFailure`), in the activity's own words (not
 * "Activity task failed") with the credentials redacted (in its state, and in the failure Temporal records), and keeps
 * saying it across continue-as-new: the next execution's first look may retry for seconds or hang for minutes, and
 * until it ended its status showed the old look with no word of why. Real Temporal dev server, MinIO and watcher; the
 * control worker's store refuses the listing of this test's bucket while the watcher's first execution looks, and
 * holds the next execution's first look until the test has read its status.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/schedules/look-failure-carried.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import type { ObjectStore } from '../../../src/storage/object-store';
import { applyWatchedPipeline, startScheduleHarness, waitFor, type ScheduleHarness } from './harness';

let h: ScheduleHarness;
let bucket: string;
/** The watcher execution whose looks are refused: the first one that looks. */
let refusedRun: string | undefined;
let releaseLook: () => void = () => undefined;
const lookReleased = new Promise<void>((resolve) => (releaseLook = resolve));

/** The real store, except that a listing under this test's bucket is refused, then held. */
function refusingStore(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'list') return Reflect.get(target, key, receiver) as unknown;
      const list: ObjectStore['list'] = async (prefixUri, options) => {
        if (!prefixUri.startsWith(`s3://${bucket}/`)) return target.list(prefixUri, options);
        const runId = Context.current().info.workflowExecution?.runId;
        refusedRun ??= runId;
        if (runId !== refusedRun) {
          await lookReleased;
          return [];
        }
        throw new Error(
          `listing refused: GET http://minio.internal:9000/${bucket}?list-type=2` +
            `&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261207&X-Amz-Signature=0badc0de` +
            ' answered 403 AccessDenied (key AKIAIOSFODNN7EXAMPLE)',
        );
      };
      return list;
    },
  });
}

before(async () => {
  h = await startScheduleHarness({ pollsPerExecution: 2, controlStore: refusingStore });
  bucket = `fflook-${h.suffix}`;
});
after(async () => {
  releaseLook();
  await h?.close();
});

void describe('a failed look across continue-as-new', () => {
  void it(
    'is said in the activity’s words, redacted, and still said by the next execution',
    { timeout: 120_000 },
    async (t) => {
      const name = `lookfail-${h.suffix}`;
      t.after(() => releaseLook());
      const { watcherId, status } = await applyWatchedPipeline(h, t, name, `s3://${bucket}/in/`);
      const handle = h.client.workflow.getHandle(watcherId);

      const failed = await waitFor('a failed look', status, (s) => s?.lastLookFailure !== undefined, 60_000);
      const failure = failed?.lastLookFailure;
      assert.equal(
        failure?.error,
        `listing refused: GET http://minio.internal:9000/${bucket}?redacted answered 403 AccessDenied (key redacted)`,
      );
      assert.equal(failed?.lastObservation, undefined, 'no look ever succeeded');

      // Two refused looks end the first execution; the next one's first look is held, so its status is what it carried.
      const next = await waitFor(
        'the next execution',
        async () => (await handle.describe()).runId,
        (runId) => refusedRun !== undefined && runId !== refusedRun,
        60_000,
      );
      const carried = await waitFor('the next execution’s status', status, (s) => s !== undefined);
      assert.equal((await handle.describe()).runId, next, 'still the execution whose first look is held');
      assert.equal(carried?.pollsThisExecution, 0);
      // Nor did the activity's failure put the credentials in the history (Temporal records its message).
      const history = JSON.stringify(
        await h.client.workflow.getHandle(watcherId, refusedRun).fetchHistory(),
        (_k, v) => (typeof v === 'bigint' ? v.toString() : (v as unknown)),
      );
      assert.match(history, /listing refused: GET http:\/\/minio\.internal:9000\/fflook-/, 'the failure was read');
      assert.doesNotMatch(history, /AKIAIOSFODNN7EXAMPLE|0badc0de/);

      // The first execution's newest failed look (its second, or the one read above).
      assert.equal(carried?.lastLookFailure?.error, failure?.error);
      assert.ok(Date.parse(carried?.lastLookFailure?.at ?? '') >= Date.parse(failure?.at ?? ''));
    },
  );
});
