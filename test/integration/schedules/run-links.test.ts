/**
 * FINEFLOW_UI_URL for runs the CLI does not start itself: a schedule's run (its id completed by
 * Temporal, so the run writes its Fineflow page into its memo), a schedule's manual trigger, and a
 * data watcher's run (memo and the details the Temporal UI shows), on the real stack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runPageDetails, runPageUrl } from '../../../src/core/run/run-links';
import { watcherIdFor } from '../../../src/schedules/data-watch-client';
import { startScheduleHarness, waitFor, type ScheduleHarness } from './harness';

const UI = 'http://ui.example:8090';

let h: ScheduleHarness;
before(async () => {
  h = await startScheduleHarness({ uiUrl: UI });
});
after(async () => {
  await h?.close();
});

function pipelineYaml(name: string, trigger: string): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
defaults: {pool: ${h.pools.cpu}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
${trigger}
stages:
  echo:
    uses: test-echo
    cache: false
    with: {value: linked}
`;
}

/** The run's memo link and details once its first workflow task has run (the run sets the memo then). */
async function linkOf(runId: string): Promise<{ memo: unknown; details: string | undefined }> {
  const described = await waitFor(
    `the memo link of ${runId}`,
    () => h.client.workflow.getHandle(runId).describe(),
    (d) => d.memo?.fineflowUi !== undefined,
    30_000,
  );
  return { memo: described.memo?.fineflowUi, details: await described.staticDetails() };
}

void describe('runs of schedules and data watchers link back to fineflow ui', () => {
  void it('a scheduled run writes its page into its memo; a manual trigger carries details too', async (t) => {
    const name = `link-sched-${h.suffix}`;
    t.after(async () => {
      await h.schedules.delete(name).catch(() => undefined);
      await h.terminateRuns(name);
    });
    await h.schedules.apply(h.compile(pipelineYaml(name, 'schedule: {cron: "0 3 1 1 *", paused: true}')));
    await h.schedules.backfill(name, new Date('2026-01-01T02:59:00Z'), new Date('2026-01-01T03:01:00Z'));
    const [scheduled] = await waitFor(
      'the backfilled run',
      () => h.runs(name, 'schedule'),
      (r) => r.length >= 1,
    );
    const runId = scheduled?.workflowId ?? '';
    assert.match(runId, /-scheduled-/, 'an id the schedule could not know when it was applied');
    assert.deepEqual(await linkOf(runId), { memo: runPageUrl(UI, runId), details: undefined });
    assert.equal((await h.result(runId)).status, 'succeeded');

    const triggered = (await h.schedules.trigger(name, 'allow-all')).runIds[0] ?? '';
    assert.deepEqual(await linkOf(triggered), {
      memo: runPageUrl(UI, triggered),
      details: runPageDetails(UI, triggered),
    });
  });

  void it("a data watcher's run carries its page in its memo and details", async (t) => {
    const name = `link-watch-${h.suffix}`;
    t.after(async () => {
      await h.schedules.delete(name).catch(() => undefined);
      await h.terminateRuns(name);
    });
    const prefix = `s3://${h.config.s3.bucket}/link-watch-${h.suffix}/`;
    await h.schedules.apply(
      h.compile(pipelineYaml(name, `triggers:\n  - newData: {path: "${prefix}", debounce: 1s, pollInterval: 1s}`)),
    );
    // The watcher's first look is its baseline: wait for it, so the push below is new data.
    await waitFor(
      'the watcher baseline',
      () => h.schedules.watchers.status(watcherIdFor(name, prefix)),
      (status) => status.lastObservation !== undefined,
    );
    await h.store.putBytes(`${prefix}batch-1.csv`, 'a,b\n1,2\n');
    const [run] = await waitFor(
      'the new-data run',
      () => h.runs(name, 'new-data'),
      (r) => r.length >= 1,
    );
    const runId = run?.workflowId ?? '';
    assert.deepEqual(await linkOf(runId), { memo: runPageUrl(UI, runId), details: runPageDetails(UI, runId) });
  });
});
