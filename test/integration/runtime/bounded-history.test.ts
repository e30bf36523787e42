/**
 * Bounded histories (issue 13): live progress stays out of the run's workflow history, so a stage
 * that reports progress for 48 hours adds O(1) events. Real Temporal dev server and MinIO.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RunClient } from '../../../src/client/run-client';
import type { RunState } from '../../../src/core/run/run-types';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { compilePlan } from '../../../src/spec/compile';
import { readRecordedRunInput } from '../../../src/client/run-input';
import { readStoredRunState } from '../../../src/storage/run-state-store';
import { readStageInputs } from '../../../src/ui/run-plan';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';

/** A chain of `length` stages, each passing on its upstream's value plus one character. */
function chain(prefix: string, from: string, length: number): string {
  const lines: string[] = [];
  let previous = from;
  for (let i = 1; i <= length; i++) {
    lines.push(
      `  ${prefix}${i}:`,
      `    uses: test-echo`,
      `    with: {value: "\${{ stages.${previous}.outputs.value }}${i % 10}"}`,
    );
    previous = `${prefix}${i}`;
  }
  return lines.join('\n');
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Events of every execution of a run (a continued-as-new run has several). */
async function historyEvents(h: RuntimeHarness, runId: string): Promise<number> {
  const history = await h.client.workflow.getHandle(runId).fetchHistory();
  return history.events?.length ?? 0;
}

void describe('bounded histories (Temporal + MinIO)', () => {
  let h: RuntimeHarness;
  const chatty = `chatty-${randomSuffix()}`;

  before(async () => {
    registerTestStageTypes();
    h = await startRuntimeHarness();
    // Heartbeats (and progress) reach Temporal every 200 ms: a long stage compressed into seconds.
    await h.addWorker({ pool: chatty, progressIntervalMs: 200 });
  });

  after(async () => {
    await h?.close();
  });

  void it(
    'a stage that reports progress 60 times adds no more events than one that reports once',
    {
      timeout: 120_000,
    },
    async (t) => {
      const run = async (steps: number, onState?: (state: RunState) => void): Promise<number> => {
        const plan = h.plan(`progress-${steps}`, [{ id: 'long', pool: chatty, with: { sleepMs: 6_000, steps } }]);
        const runId = await h.runs.submit(plan);
        if (onState) await h.runs.watch(runId, onState, { intervalMs: 250 });
        const result = await h.runs.result(runId);
        assert.equal(result.status, 'succeeded');
        return historyEvents(h, runId);
      };
      const seen = new Set<string>();
      const many = await run(60, (state) => {
        const message = state.stages[0]?.progress?.message;
        if (message) seen.add(message);
      });
      const once = await run(1);
      // The client still sees live progress (from the heartbeat), step after step.
      assert.ok(seen.size >= 5, `progress seen while running: ${[...seen].join(', ')}`);
      assert.equal(many, once, `history events: ${many} with 60 progress reports, ${once} with 1`);
      t.diagnostic(`history events: ${many} with 60 progress reports, ${once} with 1`);
    },
  );

  void it(
    'a run longer than its history threshold continues as new and keeps its state, id and controls',
    {
      timeout: 240_000,
    },
    async (t) => {
      // 60 events per execution: this run needs several.
      const runs = new RunClient(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(h.pools.control),
        historyEventLimit: 60,
      });
      const yaml = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: long-history}
params: {expected: 1}
defaults: {pool: ${h.pools.cpu}, cache: false}
stages:
  root:
    uses: test-echo
    with: {value: r}
${chain('a', 'root', 12)}
  flaky:
    uses: test-flaky
    needs: [a12]
    retry: {maxAttempts: 3, initialInterval: 100ms, backoffCoefficient: 1}
    with: {failTimes: 2, value: "\${{ stages.a12.outputs.value }}"}
  fan:
    uses: test-echo
    forEach: [w, x, y, z, v, u]
    parallelism: 2
    needs: [flaky]
    with: {value: "\${{ item }}"}
  gate:
    uses: test-fail-until-param
    onFailure: pause
    needs: [fan]
    with: {value: "\${{ params.expected }}", expected: 2}
  skipped:
    uses: test-echo
    needs: [gate]
    when: "\${{ params.expected == 1 }}"
${chain('b', 'gate', 8)}
  last:
    uses: test-echo
    with:
      value:
        chain: "\${{ stages.b8.outputs.value }}"
        first: "\${{ stages.a1.outputs.value }}"
        flaky: "\${{ stages.flaky.outputs.value }}"
        fan: "\${{ stages.fan.outputs.value }}"
`;
      const compiled = compilePlan(yaml, 'long-history.yaml', {});
      assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
      const runId = await runs.submit(compiled.plan);
      const waiting = await until(
        () => runs.state(runId),
        (s) => s.status === 'waiting',
        120_000,
      );
      // A continued execution starts from a reference to its state in the store, not the state itself.
      const continuations = async (): Promise<number> => {
        const { input, stored } = await readRecordedRunInput(h.client, runId);
        assert.equal(input.plan.pipeline.name, 'long-history');
        assert.ok(stored, 'the latest execution got its state from the store');
        return (await readStoredRunState(h.store, h.config.s3.bucket, runId, stored)).carried.continuations;
      };
      assert.ok((await continuations()) >= 1, 'the run continued as new before the pause');
      assert.equal(waiting.stages.find((s) => s.id === 'flaky')?.attempts, 3, 'attempts survive continue-as-new');
      assert.equal(waiting.stages.find((s) => s.id === 'a12')?.status, 'succeeded');
      // retry (an update) reaches the current execution by run id.
      await runs.retry(runId, { stageId: 'gate', params: { expected: 2 } });
      const result = await runs.result(runId);
      assert.equal(result.status, 'succeeded', JSON.stringify(result.stages.filter((s) => s.status !== 'succeeded')));
      const byId = new Map(result.stages.map((s) => [s.id, s]));
      assert.deepEqual(byId.get('last')?.outputs?.value, {
        chain: '212345678',
        first: 'r1',
        flaky: 'r123456789012',
        fan: ['w', 'x', 'y', 'z', 'v', 'u'],
      });
      assert.equal(byId.get('skipped')?.status, 'skipped');
      assert.equal(byId.get('gate')?.attempts, 2);
      assert.equal(byId.get('flaky')?.attempts, 3);
      const after = await continuations();
      assert.ok(after >= 2, `continuations: ${after}`);
      // Every execution stayed near its threshold (60 + what was in flight when it was reached).
      let runIdOfExecution: string | undefined = (await h.client.workflow.getHandle(runId).describe()).runId;
      const lengths: number[] = [];
      while (runIdOfExecution) {
        const history = await h.client.workflow.getHandle(runId, runIdOfExecution).fetchHistory();
        lengths.push(history.events?.length ?? 0);
        runIdOfExecution =
          history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      }
      assert.ok(lengths.length >= 3, `executions: ${lengths.join(', ')}`);
      // 60, plus what was in flight at the threshold, plus the hand-over (write, seal, read: about 20).
      assert.ok(Math.max(...lengths) < 120, `events per execution: ${lengths.join(', ')}`);
      // `fineflow runs` lists the run once, with its first start time.
      const listed = await until(
        () => runs.list({ pipeline: 'long-history' }),
        (list) => list.some((r) => r.runId === runId && r.status === 'succeeded'),
        20_000,
      );
      const mine = listed.filter((r) => r.runId === runId);
      assert.equal(mine.length, 1, JSON.stringify(mine));
      assert.equal(mine[0]?.startedAt, waiting.startedAt);
      const state = await runs.state(runId);
      assert.equal(state.startedAt, waiting.startedAt, 'the run keeps its start across executions');
      assert.equal(state.stages.length, result.stages.length);
      // The UI's stage panel finds inputs scheduled by an earlier execution.
      const a1 = await readStageInputs(h.client, runId, 'a1');
      assert.deepEqual(
        a1.map((found) => [found.attempt, (found.inputs as { value?: unknown }).value]),
        [[1, 'r1']],
      );
      t.diagnostic(`events per execution: ${lengths.join(', ')}; continuations: ${after}`);
    },
  );

  void it(
    'a cancel after the run continued as new stops the running stage and nothing is written after',
    { timeout: 180_000 },
    async (t) => {
      const runs = new RunClient(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(h.pools.control),
        historyEventLimit: 40,
      });
      // A chain long enough to pass the threshold, then a stage that writes a file every second for a minute.
      const yaml = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: cancel-continued}
defaults: {pool: ${h.pools.cpu}, cache: false}
stages:
  root:
    uses: test-echo
    with: {value: r}
${chain('a', 'root', 10)}
  long:
    uses: test-echo
    needs: [a10]
    with: {sleepMs: 60000, steps: 60, storeSteps: true}
`;
      const compiled = compilePlan(yaml, 'cancel-continued.yaml', {});
      assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
      const runId = await runs.submit(compiled.plan);
      const prefix = `s3://${h.config.s3.bucket}/runs/${runId}/long/`;
      const steps = async () => (await h.store.list(prefix)).filter((o) => /step-\d+\.txt$/.test(o.key));
      // The stage runs in a later execution and has written a few steps.
      await until(steps, (written) => written.length >= 2, 120_000);
      const { stored } = await readRecordedRunInput(h.client, runId);
      assert.ok(stored, 'the stage runs in an execution that continued as new');
      await runs.cancel(runId);
      const result = await runs.result(runId);
      assert.equal(result.status, 'cancelled');
      const long = result.stages.find((s) => s.id === 'long');
      assert.equal(long?.status, 'cancelled');
      const state = await runs.state(runId);
      assert.equal(state.status, 'cancelled');
      assert.ok(state.endedAt, 'the run recorded its end');
      // The run waited for the stage to stop (it has a heartbeat timeout): its activity is no longer pending.
      const description = await h.client.workflow.getHandle(runId).describe();
      assert.equal(description.raw.pendingActivities?.length ?? 0, 0);
      const written = await steps();
      const last = Math.max(...written.map((o) => o.lastModified.getTime()));
      assert.ok(last <= Date.parse(state.endedAt) + 1_000, `last step written ${last}, run ended ${state.endedAt}`);
      // One more step interval: a stage still running would have written another step by now.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      assert.equal((await steps()).length, written.length, 'no step written after the cancel');
      t.diagnostic(`cancelled after ${written.length} steps in a continued execution`);
    },
  );
});
