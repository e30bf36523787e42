/**
 * A data watcher is paused, triggered and unpaused like a schedule; a return to an earlier
 * version (objects deleted) is recorded and shown by describe without a run; the watcher's run
 * counter matches the runs Temporal has. Real Temporal dev server and MinIO.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sealDatasetVersion } from '../../../src/datasets/version-store';
import { watcherIdFor } from '../../../src/schedules/data-watch-client';
import type { DataWatcherStatus } from '../../../src/core/schedules/data-watch-types';
import { startScheduleHarness, waitFor, type ScheduleHarness } from './harness';

let h: ScheduleHarness;
let bucket: string;
before(async () => {
  h = await startScheduleHarness();
  bucket = `ffctl-${h.suffix}`;
  await h.store.ensureBucket(bucket);
});
after(async () => {
  await h?.close();
});

void describe('data watcher control (issue 19)', () => {
  void it('pause, trigger, unpause; a revert is an event; counters match the runs', { timeout: 150_000 }, async (t) => {
    const name = `ctl-${h.suffix}`;
    const prefix = `s3://${bucket}/in/`;
    t.after(() =>
      h.schedules.delete(name).then(
        () => undefined,
        () => undefined,
      ),
    );
    await h.store.putBytes(`${prefix}a.csv`, 'a\n1\n');
    const plan = h.compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params: {dataset: ${prefix}}
defaults: {pool: ${h.pools.cpu}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
triggers:
  - newData: {path: "\${{ params.dataset }}", debounce: 1s, pollInterval: 1s}
stages:
  echo: {uses: test-echo, cache: false, with: {value: x}}
`);
    await h.schedules.apply(plan);
    const watcherId = watcherIdFor(name, prefix);
    const status = (): Promise<DataWatcherStatus> => h.schedules.watchers.status(watcherId);
    const version = async (): Promise<string> =>
      (await sealDatasetVersion(h.store, h.config.s3.bucket, prefix, { createdBy: 'test' })).id;
    const allRuns = async () => [...(await h.runs(name, 'new-data')), ...(await h.runs(name, 'manual'))];
    await waitFor('the baseline', status, (s) => s.lastObservation !== undefined);

    await h.store.putBytes(`${prefix}b.csv`, 'b\n2\n');
    const versionB = await version();
    await waitFor(
      'the run for B to end',
      status,
      (s) => s.recentRuns.some((r) => r.datasetVersion === versionB && r.status === 'completed'),
      30_000,
    );
    assert.ok(typeof (await status()).appliedAt === 'string', 'status says when it was applied');

    await h.schedules.pause(name, 'data migration', plan);
    await h.store.putBytes(`${prefix}c.csv`, 'c\n3\n');
    const versionC = await version();
    const paused = await waitFor(
      'a look at C while paused',
      status,
      (s) => s.lastObservation?.fingerprint === versionC && s.paused !== undefined,
    );
    assert.deepEqual(paused.paused, { note: 'data migration' });
    // Two more looks at C: still no run while paused.
    const seenAt = paused.pollsThisExecution;
    const later = await waitFor(
      'two more looks',
      status,
      (s) => s.pollsThisExecution >= seenAt + 2 || s.pollsThisExecution < seenAt,
    );
    assert.equal(later.state.runsStarted, 1, 'no run while paused');

    // A manual trigger runs the version there now, even while paused, under its own id and label.
    await h.schedules.trigger(name, undefined, plan);
    const manual = await waitFor(
      'the manual run',
      () => h.runs(name, 'manual'),
      (runs) => runs.length === 1,
      30_000,
    );
    assert.match(manual[0]?.workflowId ?? '', new RegExp(`^${watcherId}-${versionC.slice(0, 16)}-manual-\\d+$`));
    const manualInput = await h.runInput(manual[0]?.workflowId as string);
    assert.deepEqual(manualInput.trigger, {
      kind: 'new-data',
      watcherId,
      path: prefix,
      datasetVersion: versionC,
      manual: true,
    });
    await waitFor(
      'the manual run to end',
      status,
      (s) => s.recentRuns.some((r) => r.kind === 'manual' && r.status === 'completed'),
      30_000,
    );

    await h.schedules.unpause(name, undefined, plan);
    // c.csv is deleted: the prefix is B again, which already ran. Recorded, not run (onRevert: ignore).
    await h.store.remove(`${prefix}c.csv`);
    const reverted = await waitFor('the revert to B', status, (s) => (s.state.reverts ?? 0) >= 1, 30_000);
    assert.equal(reverted.state.lastRevert?.version, versionB);
    assert.equal(reverted.state.lastRevert?.from, versionC);
    assert.equal(reverted.state.lastRevert?.retrained, false);
    assert.equal(reverted.paused, undefined);
    const details = await h.schedules.describe(name, plan);
    assert.ok(details.watchers.some((w) => 'state' in w && w.state.lastRevert?.version === versionB));

    const runs = await allRuns();
    assert.equal(runs.length, 2, 'B (new data) and C (manual); no run for the revert');
    assert.equal(reverted.state.runsStarted, runs.length, 'the counter matches the runs');
  });
});
