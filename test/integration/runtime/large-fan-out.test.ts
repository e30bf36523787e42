/**
 * Bounded histories at scale (issue 13): a run of thousands of fan-out instances continues as new
 * with its plan and carried state in the object store, so no Temporal payload grows with the run.
 * Real Temporal dev server and MinIO.
 *
 * FINEFLOW_TEST_FAN_OUT_INSTANCES sets the instance count (default 600, enough for a state of
 * several parts; the figure, 5,000, was run by hand: docs/operations.md "Bounded histories").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { RunClient } from '../../../src/client/run-client';
import { startRerun } from '../../../src/client/rerun';
import { readRecordedRunInput } from '../../../src/client/run-input';
import { instanceId } from '../../../src/core/run/fan-out';
import { RUN_STATE_PART_CHARS } from '../../../src/core/run/stored-run-state';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { compilePlan } from '../../../src/spec/compile';
import { readStoredRunState } from '../../../src/storage/run-state-store';
import { planGraph, readStageInputs } from '../../../src/ui/run-plan';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';

const INSTANCES = Number(process.env.FINEFLOW_TEST_FAN_OUT_INSTANCES ?? 600);
/** A stage fans out to at most 256 items (MAX_FAN_OUT_ITEMS): the instances spread over several stages. */
const PER_STAGE = 250;
/** Time for the fan-outs to finish on a loaded 2-core machine (about 0.5 s per instance was seen). */
const BUDGET_MS = Math.max(25 * 60_000, INSTANCES * 600);
/** The bound this test holds every continue-as-new input to (it carries a reference, not the state). */
const MAX_CONTINUE_AS_NEW_INPUT_BYTES = 64 * 1024;
/** Temporal warns about any payload past 512 KiB and refuses one past 2 MB. */
const BLOB_WARNING_BYTES = 512 * 1024;

function pipelineYaml(pool: string): string {
  const fans: string[] = [];
  for (let f = 1, left = INSTANCES; left > 0; f++, left -= PER_STAGE) {
    const items = Array.from({ length: Math.min(PER_STAGE, left) }, (_, i) => i);
    // A URI-like output per instance, as a real fan-out (one model per item) returns.
    fans.push(
      `  f${f}:`,
      `    uses: test-echo`,
      `    forEach: [${items.join(', ')}]`,
      // A workflow activation that starts hundreds of activities at once can pass the SDK's 5 s
      // isolate limit on this shared machine (the scale work's subject, not this test's).
      `    parallelism: 40`,
      `    with: {value: "runs/large-fan-out/f${f}/item-\${{ item }}/weights/model.json"}`,
    );
  }
  const ids = fans.filter((line) => /^ {2}f\d+:$/.test(line)).map((line) => line.trim().slice(0, -1));
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: large-fan-out}
params: {expected: 1}
defaults: {pool: ${pool}, cache: false}
stages:
${fans.join('\n')}
  gate:
    uses: test-fail-until-param
    onFailure: pause
    needs: [${ids.join(', ')}]
    with: {value: "\${{ params.expected }}", expected: 2}
  last:
    uses: test-echo
    needs: [gate]
    with: {value: "\${{ stages.f1.outputs.value }}"}
`;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A state query can time out behind a long workflow task on this shared machine: ask again.
    const value = await read().catch((error: unknown) => {
      if (Date.now() > deadline) throw error;
      return undefined;
    });
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Every payload of an event: inputs, results, details, memo fields (sizes as stored by Temporal). */
function payloadSizes(event: temporal.api.history.v1.IHistoryEvent): number[] {
  const sizes: number[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth > 8 || value === null || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const record = value as { data?: unknown; metadata?: unknown };
    if (record.data instanceof Uint8Array && record.metadata !== undefined) {
      sizes.push(record.data.length);
      return;
    }
    for (const child of Object.values(value)) visit(child, depth + 1);
  };
  visit(event, 0);
  return sizes;
}

void describe(`a fan-out of ${INSTANCES} instances across continue-as-new (Temporal + MinIO)`, () => {
  let h: RuntimeHarness;

  before(async () => {
    registerTestStageTypes();
    h = await startRuntimeHarness({ concurrency: 32 });
  });

  after(async () => {
    await h?.close();
  });

  void it(
    'continues as new with a small reference, and status, retry, the UI and rerun work across it',
    {
      timeout: BUDGET_MS + 10 * 60_000,
    },
    async (t) => {
      const started = Date.now();
      // Runs that hand over several times: each execution holds about 1,500 events.
      const runs = new RunClient(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(h.pools.control),
        historyEventLimit: 1_500,
        store: h.store,
      });
      const compiled = compilePlan(pipelineYaml(h.pools.cpu), 'large-fan-out.yaml', {});
      assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
      const runId = await runs.submit(compiled.plan);

      const waiting = await until(
        () => runs.state(runId),
        (s) => s.status === 'waiting' || s.status === 'failed',
        BUDGET_MS,
      );
      assert.equal(waiting.status, 'waiting');
      const instances = waiting.stages.filter((s) => s.instanceOf !== undefined);
      assert.equal(instances.length, INSTANCES);
      assert.ok(instances.every((s) => s.status === 'succeeded' && s.attempts === 1));

      // The latest execution started from a reference; its state in the store is the run's state.
      const recorded = await readRecordedRunInput(h.client, runId);
      assert.ok(recorded.stored, 'the run continued as new with its state in the store');
      assert.equal(recorded.input.plan.pipeline.name, 'large-fan-out', 'the plan comes from the first execution');
      const stored = await readStoredRunState(h.store, h.config.s3.bucket, runId, recorded.stored);
      const continuations = stored.carried.continuations;
      assert.ok(continuations >= 1);
      assert.equal(stored.plan.stages.length, compiled.plan.stages.length);

      // The UI: the plan graph, and an instance's inputs scheduled by the first execution.
      assert.equal(planGraph(recorded.input.plan).nodes.length, compiled.plan.stages.length);
      const first = await readStageInputs(h.client, runId, instanceId('f1', 0));
      assert.deepEqual(
        first.map((found) => (found.inputs as { value?: unknown }).value),
        ['runs/large-fan-out/f1/item-0/weights/model.json'],
      );

      // retry (an update) by run id reaches the current execution, with a param set.
      await runs.retry(runId, { stageId: 'gate', params: { expected: 2 } });
      const result = await runs.result(runId);
      assert.equal(result.status, 'succeeded');
      const byId = new Map(result.stages.map((s) => [s.id, s]));
      assert.equal(byId.get('gate')?.attempts, 2);
      const f1 = byId.get('f1')?.outputs?.value as unknown[];
      assert.equal(f1.length, Math.min(PER_STAGE, INSTANCES));
      assert.equal(f1[7], 'runs/large-fan-out/f1/item-7/weights/model.json');
      assert.deepEqual(byId.get('last')?.outputs?.value, f1);

      // Every execution: its continue-as-new input is a reference, no payload near Temporal's limits.
      let execution: string | undefined = (await h.client.workflow.getHandle(runId).describe()).runId;
      const inputs: number[] = [];
      let largest = 0;
      let executions = 0;
      let resultPayload = 0;
      while (execution) {
        const history: temporal.api.history.v1.IHistory = await h.client.workflow
          .getHandle(runId, execution)
          .fetchHistory();
        executions++;
        const start = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        const previous: string | undefined = start?.continuedExecutionRunId || undefined;
        if (previous) inputs.push(start?.input?.payloads?.[0]?.data?.length ?? 0);
        for (const event of history.events ?? []) {
          // The run's own result lists every instance (measured below, not part of the hand-over).
          if (event.workflowExecutionCompletedEventAttributes) resultPayload = Math.max(...payloadSizes(event));
          else largest = Math.max(largest, ...payloadSizes(event));
        }
        execution = previous;
      }
      assert.ok(executions >= 2 && inputs.length === executions - 1, `executions: ${executions}`);
      assert.ok(
        Math.max(...inputs) < MAX_CONTINUE_AS_NEW_INPUT_BYTES,
        `continue-as-new inputs: ${inputs.join(', ')} bytes`,
      );
      t.diagnostic(
        `${INSTANCES} instances, ${executions} executions, stored state ${recorded.stored.bytes} bytes in ` +
          `${recorded.stored.parts} part(s) of ≤ ${RUN_STATE_PART_CHARS} chars; continue-as-new inputs ≤ ` +
          `${Math.max(...inputs)} bytes; largest payload ${largest} bytes; result payload ${resultPayload} bytes; ` +
          `${Math.round((Date.now() - started) / 1000)} s`,
      );
      assert.ok(largest < BLOB_WARNING_BYTES, `largest payload: ${largest} bytes`);

      // rerun from the gate: the plan and final stages come through the continued run.
      const rerun = await startRerun(runs, h.store, { runId, fromStage: 'gate', set: { expected: '2' } });
      const again = await runs.result(rerun.runId);
      assert.equal(again.status, 'succeeded');
      assert.deepEqual(again.stages.find((s) => s.id === 'last')?.outputs?.value, f1);
      assert.equal(again.stages.find((s) => s.id === 'f1')?.reason, `reused from run ${runId}`);
    },
  );
});
