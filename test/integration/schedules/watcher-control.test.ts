/**
 * A data watcher is paused, triggered and unpaused like a schedule; a return to an earlier
 * version (objects deleted) is recorded and shown by describe without a run; the watcher's run
 * counter matches the runs Temporal has. `fineflow schedule trigger` on a watched prefix that is
 * empty says no run starts (the UI's words, one rule) and exits 4; once data is there it runs it
 * and exits 0. Real Temporal dev server, MinIO and watchers; the CLI runs through its entry point.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/schedules/watcher-control.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sealDatasetVersion } from '../../../src/datasets/version-store';
import { runCli } from '../../helpers/cli';
import { applyWatchedPipeline, startScheduleHarness, waitFor, type ScheduleHarness } from './harness';

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
    await h.store.putBytes(`${prefix}a.csv`, 'a\n1\n');
    const { plan, watcherId, status } = await applyWatchedPipeline(h, t, name, prefix);
    const version = async (): Promise<string> =>
      (await sealDatasetVersion(h.store, h.config.s3.bucket, prefix, { createdBy: 'test' })).id;
    const allRuns = async () => [...(await h.runs(name, 'new-data')), ...(await h.runs(name, 'manual'))];
    await waitFor('the baseline', status, (s) => s?.lastObservation !== undefined);

    await h.store.putBytes(`${prefix}b.csv`, 'b\n2\n');
    const versionB = await version();
    await waitFor(
      'the run for B to end',
      status,
      (s) => s?.recentRuns.some((r) => r.datasetVersion === versionB && r.status === 'completed') ?? false,
      30_000,
    );
    assert.ok(
      typeof (await waitFor('the status', status, Boolean))?.appliedAt === 'string',
      'status says when applied',
    );

    await h.schedules.pause(name, 'data migration', plan);
    await h.store.putBytes(`${prefix}c.csv`, 'c\n3\n');
    const versionC = await version();
    const paused = await waitFor(
      'a look at C while paused',
      status,
      (s) => s?.lastObservation?.fingerprint === versionC && s.paused !== undefined,
    );
    assert.deepEqual(paused?.paused, { note: 'data migration' });
    // Two more looks at C: still no run while paused.
    const seenAt = paused?.pollsThisExecution ?? 0;
    const later = await waitFor(
      'two more looks',
      status,
      (s) => s !== undefined && (s.pollsThisExecution >= seenAt + 2 || s.pollsThisExecution < seenAt),
    );
    assert.equal(later?.state.runsStarted, 1, 'no run while paused');

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
      (s) => s?.recentRuns.some((r) => r.kind === 'manual' && r.status === 'completed') ?? false,
      30_000,
    );

    await h.schedules.unpause(name, undefined, plan);
    // c.csv is deleted: the prefix is B again, which already ran. Recorded, not run (onRevert: ignore).
    await h.store.remove(`${prefix}c.csv`);
    const reverted = await waitFor('the revert to B', status, (s) => (s?.state.reverts ?? 0) >= 1, 30_000);
    assert.equal(reverted?.state.lastRevert?.version, versionB);
    assert.equal(reverted?.state.lastRevert?.from, versionC);
    assert.equal(reverted?.state.lastRevert?.retrained, false);
    assert.equal(reverted?.paused, undefined);
    const details = await h.schedules.describe(name, plan);
    assert.ok(details.watchers.some((w) => 'state' in w && w.state.lastRevert?.version === versionB));

    const runs = await allRuns();
    assert.equal(runs.length, 2, 'B (new data) and C (manual); no run for the revert');
    assert.equal(reverted?.state.runsStarted, runs.length, 'the counter matches the runs');
  });

  void it(
    'trigger on an empty prefix says no run starts and exits 4; with data there it runs it and exits 0',
    { timeout: 120_000 },
    async (t) => {
      const name = `trg-${h.suffix}`;
      const prefix = `s3://${bucket}/not-pushed-yet/`;
      const { watcherId, status } = await applyWatchedPipeline(h, t, name, prefix);
      await waitFor('the first look', status, (s) => s?.lastObservation !== undefined);

      const empty = await runCli(['schedule', 'trigger', name]);
      assert.equal(empty.code, 4, `no run started: exit 4\n${empty.stderr}`);
      assert.equal(empty.stderr, '');
      assert.equal(
        empty.stdout,
        `asked 1 data watcher(s) of ${name}: ${watcherId}\n` +
          `Nothing was under ${prefix} at the last look: no run starts there until data arrives.\n` +
          `(see \`fineflow schedule describe ${name}\`)\n`,
      );
      const asJson = await runCli(['schedule', 'trigger', name, '--json']);
      assert.equal(asJson.code, 4);
      assert.deepEqual(JSON.parse(asJson.stdout), {
        pipeline: name,
        triggered: true,
        runIds: [],
        watcherIds: [watcherId],
        startsNothing: true,
        emptyPrefixes: [prefix],
      });

      // Data arrives: once the watcher has looked at it, a trigger runs it, and the CLI says so.
      await h.store.putBytes(`${prefix}a.csv`, 'a\n1\n');
      await waitFor('a look at the data', status, (s) => (s?.lastObservation?.count ?? 0) > 0);
      const held = await runCli(['schedule', 'trigger', name]);
      assert.equal(held.code, 0, held.stderr);
      assert.match(held.stdout, new RegExp(`runs the dataset version its prefix holds now: ${prefix}\\.\\n`));
      assert.doesNotMatch(held.stdout, /Nothing was under/);
      const heldJson = JSON.parse((await runCli(['schedule', 'trigger', name, '--json'])).stdout) as {
        startsNothing: boolean;
      };
      assert.equal(heldJson.startsNothing, false);
    },
  );
});
