/**
 * Periodic retraining on the real stack: `schedule apply` creates a Temporal Schedule whose runs
 * execute the plan; re-apply is a no-op; a changed param updates the schedule in place and the
 * next run uses it; pause stops runs; backfill starts one run per missed time; delete removes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { canonicalJson, sha256Hex } from '../../../src/canonical-json';
import { InvalidInputError } from '../../../src/core/errors';
import { RUN_WORKFLOW_TASK_TIMEOUT_MS } from '../../../src/core/run/run-types';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { buildScheduleOptions, planDigest, scheduleIdForPipeline } from '../../../src/schedules/schedules';
import { searchAttributesForRun } from '../../../src/core/schedules/schedule-search-attributes';
import { pipelineRun } from '../../../workflows/pipeline-run';
import { startScheduleHarness, sleep, waitFor, type ScheduleHarness } from './harness';

let h: ScheduleHarness;
before(async () => {
  h = await startScheduleHarness();
});
after(async () => {
  await h?.close();
});

function pipelineYaml(name: string, schedule: string): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params:
  tag: first
defaults: {pool: ${h.pools.cpu}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
schedule: ${schedule}
stages:
  echo:
    uses: test-echo
    cache: false
    with: {value: "\${{ params.tag }}"}
`;
}

/** Delete the schedule and stop its runs when the test ends, passed or not. */
function cleanUpAfter(t: { after(fn: () => Promise<void>): void }, name: string): void {
  t.after(async () => {
    await h.schedules.delete(name).catch(() => undefined);
    await h.terminateRuns(name);
  });
}

/** Scheduled time Temporal appended to the run id (`<pipeline>-scheduled-<ISO>`). */
function scheduledTimeOf(runId: string): number {
  const match = /-scheduled-(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/.exec(runId);
  assert.ok(match, `run id ${runId} carries its scheduled time`);
  return Date.parse(match[1] as string);
}

/** Backfill the schedule's 2026-01-01 03:00 time (works while paused) and wait for that run to appear. */
async function backfillOneRun(name: string): Promise<WorkflowExecutionInfo | undefined> {
  await h.schedules.backfill(name, new Date('2026-01-01T02:59:00Z'), new Date('2026-01-01T03:01:00Z'));
  const [run] = await waitFor(
    'the backfilled run',
    () => h.runs(name, 'schedule'),
    (found) => found.length >= 1,
    15_000,
  );
  return run;
}

/** The `tag` param the run was started with, after checking it is a scheduled run of this schedule. */
async function startedTag(runId: string, pipeline: string): Promise<unknown> {
  const input = await h.runInput(runId);
  assert.deepEqual(input.trigger, { kind: 'schedule', scheduleId: scheduleIdForPipeline(pipeline) });
  assert.equal(input.bucket, h.config.s3.bucket);
  return input.plan.params.tag?.value;
}

void describe('schedule apply on the real stack', () => {
  void it(
    'a 5s interval starts runs with the plan; same file again is unchanged; a changed param updates in place',
    { timeout: 90_000 },
    async (t) => {
      const name = `sched-every-${h.suffix}`;
      cleanUpAfter(t, name);
      const yaml = pipelineYaml(name, '{every: 5s, overlap: allow-all}');
      const created = await h.schedules.apply(h.compile(yaml));
      assert.equal(created.schedule, 'created');
      assert.equal(created.scheduleId, scheduleIdForPipeline(name));

      const firstRuns = await waitFor(
        'two scheduled runs',
        () => h.runs(name, 'schedule'),
        (runs) => runs.length >= 2,
        25_000,
      );
      for (const run of firstRuns.slice(0, 2)) assert.equal(await startedTag(run.workflowId, name), 'first');
      // Scheduled time → start time, as recorded by the schedule.
      const described = await h.schedules.describe(name);
      assert.ok(described.schedule && described.schedule.recentRuns.length >= 2);
      assert.ok(described.schedule.recentRuns.every((r) => r.trigger === 'schedule'));
      const delays = described.schedule.recentRuns.map((r) => r.delayMs ?? -1);
      console.log(`scheduled time → run start (ms): ${JSON.stringify(delays)}`);
      assert.ok(
        delays.every((d) => d >= 0 && d < 3000),
        `start delays ${JSON.stringify(delays)}`,
      );
      assert.equal(described.schedule.params && (described.schedule.params as { tag: string }).tag, 'first');

      const again = await h.schedules.apply(h.compile(yaml));
      assert.equal(again.schedule, 'unchanged');
      assert.equal(again.unchanged, true);

      const updatedAt = Date.now();
      const updated = await h.schedules.apply(h.compile(yaml, ['tag=second']));
      assert.equal(updated.schedule, 'updated');
      assert.notEqual(updated.planDigest, created.planDigest);
      const describedAfter = await h.schedules.describe(name);
      assert.equal(describedAfter.schedule?.createdAt, described.schedule.createdAt, 'same schedule, updated in place');
      assert.deepEqual(describedAfter.schedule?.params, { tag: 'second' });

      // The first run scheduled after the update executes the new param.
      const later = await waitFor(
        'a run scheduled after the update',
        () => h.runs(name, 'schedule'),
        (runs) => runs.some((r) => scheduledTimeOf(r.workflowId) > updatedAt + 1000),
        20_000,
      );
      const next = later.filter((r) => scheduledTimeOf(r.workflowId) > updatedAt + 1000);
      for (const run of next) assert.equal(await startedTag(run.workflowId, name), 'second');

      await h.schedules.delete(name);
      await h.terminateRuns(name);
      await assert.rejects(
        () => h.schedules.describe(name),
        (error: unknown) => error instanceof InvalidInputError && error.details.code === 'not-found',
      );
    },
  );

  void it('pause stops runs; unpause resumes without replaying the paused times', { timeout: 60_000 }, async (t) => {
    const name = `sched-pause-${h.suffix}`;
    cleanUpAfter(t, name);
    await h.schedules.apply(h.compile(pipelineYaml(name, '{every: 2s, overlap: allow-all, catchupWindow: 1m}')));
    await waitFor(
      'a first run',
      () => h.runs(name, 'schedule'),
      (runs) => runs.length >= 1,
      15_000,
    );
    await h.schedules.pause(name, 'maintenance');
    const pausedFrom = Date.now();
    const pausedDetails = await h.schedules.describe(name);
    assert.equal(pausedDetails.schedule?.paused, true);
    assert.equal(pausedDetails.schedule?.note, 'maintenance');
    assert.deepEqual(pausedDetails.schedule?.nextRuns, [], 'a paused schedule lists no next runs');
    const listed = (await h.schedules.list()).find((l) => l.pipeline === name);
    assert.deepEqual([listed?.paused, listed?.nextRuns], [true, []]);
    assert.ok(listed?.appliedAt, 'list says when the schedule was applied');
    const takenAtPause = pausedDetails.schedule?.runsTaken ?? -1;
    await sleep(7000);
    assert.equal((await h.schedules.describe(name)).schedule?.runsTaken, takenAtPause, 'no run while paused');

    // Re-applying the file keeps it paused.
    const reapplied = await h.schedules.apply(
      h.compile(pipelineYaml(name, '{every: 2s, overlap: allow-all, catchupWindow: 1m}')),
    );
    assert.equal(reapplied.schedule, 'unchanged');
    assert.equal((await h.schedules.describe(name)).schedule?.paused, true);

    // Replaying the paused times would start runs scheduled inside the pause; resuming starts only
    // times after the unpause. Run ids carry their scheduled time, so this needs no timing window.
    const pausedUntil = Date.now();
    await h.schedules.unpause(name);
    await waitFor(
      'a run after unpause',
      () => h.schedules.describe(name),
      (d) => (d.schedule?.runsTaken ?? 0) > takenAtPause,
      15_000,
    );
    const scheduledTimes = (await h.runs(name, 'schedule')).map((r) => scheduledTimeOf(r.workflowId));
    const replayed = scheduledTimes.filter((time) => time > pausedFrom + 2_000 && time < pausedUntil - 2_000);
    assert.deepEqual(
      replayed.map((time) => new Date(time).toISOString()),
      [],
      'no run for a time inside the pause',
    );
    assert.ok(
      scheduledTimes.some((time) => time >= pausedUntil - 2_000),
      'a run for a time after the unpause',
    );
    await h.schedules.delete(name);
    await h.terminateRuns(name);
  });

  void it('backfill over a window starts one run per scheduled time in it', { timeout: 60_000 }, async (t) => {
    const name = `sched-backfill-${h.suffix}`;
    cleanUpAfter(t, name);
    // Created paused: only the backfill starts runs (a backfill runs even while paused).
    await h.schedules.apply(h.compile(pipelineYaml(name, '{every: 10s, paused: true, overlap: allow-all}')));
    const from = new Date(Math.floor((Date.now() - 10 * 60_000) / 10_000) * 10_000);
    const to = new Date(from.getTime() + 60_000);
    await h.schedules.backfill(name, from, to);
    await waitFor(
      'backfilled runs',
      () => h.runs(name, 'schedule'),
      (found) => found.length >= 7,
      30_000,
    );
    await sleep(3000);
    const settled = await h.runs(name, 'schedule');
    const times = settled.map((r) => scheduledTimeOf(r.workflowId)).sort((a, b) => a - b);
    console.log(
      `backfill ${from.toISOString()}..${to.toISOString()} started ${settled.length} runs at ${times.map((t) => new Date(t).toISOString().slice(11, 19)).join(' ')}`,
    );
    // Both ends of the window are included: 60 s at one run per 10 s is 7 runs.
    const expected = Array.from({ length: 7 }, (_, i) => from.getTime() + i * 10_000);
    assert.deepEqual(times, expected, 'one run per 10 s step, window start and end included, nothing else');
    for (const run of settled) assert.equal(await startedTag(run.workflowId, name), 'first');
    await h.schedules.delete(name);
    await h.terminateRuns(name);
  });

  void it('trigger starts one run now; unknown schedules are reported as not found', { timeout: 60_000 }, async (t) => {
    const name = `sched-trigger-${h.suffix}`;
    cleanUpAfter(t, name);
    await h.schedules.apply(h.compile(pipelineYaml(name, '{cron: "0 3 1 1 *", timezone: Europe/Berlin}')));
    // Two manual starts in the same second never share a run id (nor runs/<id>/), and are labelled manual.
    const first = await h.schedules.trigger(name, 'allow-all');
    const second = await h.schedules.trigger(name, 'allow-all');
    assert.equal(first.runIds.length, 1);
    assert.notEqual(first.runIds[0], second.runIds[0]);
    assert.match(first.runIds[0] ?? '', /^fineflow-sched-trigger-[0-9a-f]+-manual-/);
    const runs = await waitFor(
      'the triggered runs',
      () => h.runs(name, 'manual'),
      (found) => found.length >= 2,
      15_000,
    );
    assert.deepEqual(runs.map((r) => r.workflowId).sort(), [...first.runIds, ...second.runIds].sort());
    assert.equal((await h.runs(name, 'schedule')).length, 0, 'not labelled as scheduled');
    assert.deepEqual((await h.runInput(first.runIds[0] as string)).trigger, {
      kind: 'manual',
      scheduleId: `fineflow-${name}`,
    });
    assert.equal((await h.runInput(runs[0]?.workflowId as string)).plan.params.tag?.value, 'first');
    // A run of the same pipeline submitted by hand, not by the schedule (`fineflow submit`): never one of its runs.
    const submitted = `${name}-submitted`;
    await h.client.workflow.start(pipelineRun, {
      workflowId: submitted,
      taskQueue: `nobody-${h.suffix}`,
      args: [{ ...(await h.runInput(first.runIds[0] as string)), trigger: { kind: 'manual' } }],
      typedSearchAttributes: searchAttributesForRun(name, 'manual'),
    });
    await waitFor(
      'the submitted run in the visibility store',
      () => h.runs(name, 'manual'),
      (found) => found.some((r) => r.workflowId === submitted),
      15_000,
    );
    // Started outside the Temporal Schedule, they are still the schedule's recent runs, marked as triggered by hand.
    const triggered = [...first.runIds, ...second.runIds].sort();
    const described = await waitFor(
      'the triggered runs among the schedule’s recent runs',
      () => h.schedules.describe(name),
      (d) => (d.schedule?.recentRuns.length ?? 0) >= 2,
      15_000,
    );
    assert.deepEqual(described.schedule?.recentRuns.map((r) => r.runId).sort(), triggered);
    for (const run of described.schedule?.recentRuns ?? []) {
      assert.equal(run.trigger, 'manual');
      assert.equal(run.scheduledAt, undefined, 'no time of the spec');
      assert.ok(Date.parse(run.startedAt) > 0, run.startedAt);
    }
    const listed = (await h.schedules.list()).find((l) => l.pipeline === name);
    assert.deepEqual(listed?.recentRuns.map((r) => r.runId).sort(), triggered);
    assert.equal(listed?.lastRun?.trigger, 'manual');
    assert.ok(triggered.includes(listed?.lastRun?.runId as string));
    await h.schedules.delete(name);
    await h.terminateRuns(name);
    await assert.rejects(() => h.schedules.pause(`nope-${h.suffix}`), /no schedule for pipeline nope-/);
  });

  // Temporal names a scheduled run `<action workflow id>-<scheduled time, ISO with colons>`;
  // the run's storage prefix runs/<runId>/ must accept that id (src/core/storage/layout.ts).
  void it('a scheduled run executes its stages to the end', { timeout: 60_000 }, async (t) => {
    const name = `sched-complete-${h.suffix}`;
    cleanUpAfter(t, name);
    await h.schedules.apply(h.compile(pipelineYaml(name, '{cron: "0 3 1 1 *"}')));
    // A backfill starts a scheduled run (trigger starts a manual one): its id has the scheduled time, with colons.
    const run = await backfillOneRun(name);
    assert.match(run?.workflowId ?? '', /2026-01-01T03:00:00Z$/);
    const outcome = await Promise.race([h.result(run?.workflowId as string), sleep(20_000).then(() => undefined)]);
    await h.schedules.delete(name);
    await h.terminateRuns(name);
    assert.ok(outcome, `run ${run?.workflowId} did not finish in 20 s (is ':' accepted in run ids?)`);
    assert.equal(outcome.status, 'succeeded');
    assert.equal(outcome.stages.find((s) => s.id === 'echo')?.outputs?.value, 'first');
  });

  // Schedules applied before runs got a 60 s workflow task timeout start them with Temporal's 10 s
  // default, which a loaded control worker misses. The timeout is part of the apply digest, so the
  // next `apply` of the unchanged file updates such a schedule in place, and it stays paused.
  void it(
    'a schedule applied without the run task timeout is updated by the same file',
    { timeout: 60_000 },
    async (t) => {
      const name = `sched-task-timeout-${h.suffix}`;
      cleanUpAfter(t, name);
      const plan = h.compile(pipelineYaml(name, '{cron: "0 3 1 1 *", paused: true}'));
      const current = buildScheduleOptions(plan, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(h.pools.control),
      });
      // What `apply` wrote before: no task timeout on the action, the digest without it.
      const { workflowTaskTimeout: _timeout, ...oldAction } = current.action;
      const oldDigest = sha256Hex(
        canonicalJson({ digest: planDigest(plan), spec: current.spec, policies: current.policies }),
      );
      await h.client.schedule.create({
        ...current,
        action: { ...oldAction, memo: { ...current.action.memo, applyDigest: oldDigest } },
      });
      const handle = h.client.schedule.getHandle(scheduleIdForPipeline(name));
      const before = await handle.describe();
      assert.equal(before.action.type === 'startWorkflow' && before.action.workflowTaskTimeout, undefined);

      const applied = await h.schedules.apply(plan);
      assert.equal(applied.schedule, 'updated');
      const after = await handle.describe();
      assert.equal(after.action.type, 'startWorkflow');
      assert.equal(
        after.action.type === 'startWorkflow' && after.action.workflowTaskTimeout,
        RUN_WORKFLOW_TASK_TIMEOUT_MS,
      );
      assert.equal(after.state.paused, true, 'the update keeps the schedule paused');
      assert.equal((await h.schedules.apply(plan)).schedule, 'unchanged');

      // A run the schedule starts now carries the timeout (a backfill works on a paused schedule).
      const run = await backfillOneRun(name);
      assert.equal(await h.taskTimeoutMs(run?.workflowId as string), RUN_WORKFLOW_TASK_TIMEOUT_MS);
    },
  );
});
