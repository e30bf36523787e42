/**
 * Bounded histories at scale (issue 13): a run of thousands of fan-out instances continues as new
 * with its plan and carried state in the object store, so no Temporal payload grows with the run.
 * Real Temporal dev server and MinIO.
 *
 * Its result and every `runState` query answer stay under a bound independent of the instance count
 * (src/core/run/run-result.ts): the whole table goes to the store, compared here with a small run.
 *
 * FINEFLOW_TEST_FAN_OUT_INSTANCES sets the instance count (default 600, enough for a state of
 * several parts; the figure, 5,000, was run by hand: docs/operations.md "Bounded histories").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { RunClient } from '../../../src/client/run-client';
import { startRerun } from '../../../src/client/rerun';
import { readRecordedRunInput } from '../../../src/client/run-input';
import { instanceId } from '../../../src/core/run/fan-out';
import { runStateQuery } from '../../../src/core/run/run-definitions';
import { RESULT_INLINE_CHARS, STATE_PAGE_CHARS } from '../../../src/core/run/run-result';
import { RUN_STATE_PART_CHARS } from '../../../src/core/run/stored-run-state';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { compilePlan } from '../../../src/spec/compile';
import { readStoredRunState } from '../../../src/storage/run-state-store';
import { planGraph, readStageInputs } from '../../../src/ui/run-plan';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';

const INSTANCES = Number(process.env.FINEFLOW_TEST_FAN_OUT_INSTANCES ?? 600);
/** The small run the bounds are compared with. */
const SMALL_INSTANCES = 100;
/** What a result or query answer holds besides its stages (run fields, summary, reference). */
const ENVELOPE_BYTES = 8 * 1024;
/** A stage fans out to at most 256 items (MAX_FAN_OUT_ITEMS): the instances spread over several stages. */
const PER_STAGE = 250;
/** Time for the fan-outs to finish on a loaded 2-core machine (about 0.5 s per instance was seen). */
const BUDGET_MS = Math.max(25 * 60_000, INSTANCES * 600);
/** The bound this test holds every continue-as-new input to (it carries a reference, not the state). */
const MAX_CONTINUE_AS_NEW_INPUT_BYTES = 64 * 1024;
/** Temporal warns about any payload past 512 KiB and refuses one past 2 MB. */
const BLOB_WARNING_BYTES = 512 * 1024;

function pipelineYaml(pool: string, instances: number = INSTANCES): string {
  const fans: string[] = [];
  for (let f = 1, left = instances; left > 0; f++, left -= PER_STAGE) {
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

/** Payload sizes across every execution of a run, newest first. */
interface RunPayloads {
  readonly executions: number;
  /** Events of each execution, newest first. */
  readonly events: number[];
  /** Continue-as-new inputs. */
  readonly inputs: number[];
  /** Largest payload of any event but the completion. */
  readonly largest: number;
  readonly result: number;
}

async function runPayloads(client: Client, runId: string): Promise<RunPayloads> {
  let execution: string | undefined = (await client.workflow.getHandle(runId).describe()).runId;
  const found = { executions: 0, events: [] as number[], inputs: [] as number[], largest: 0, result: 0 };
  while (execution) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(runId, execution).fetchHistory();
    found.executions++;
    found.events.push(history.events?.length ?? 0);
    const start = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const previous: string | undefined = start?.continuedExecutionRunId || undefined;
    if (previous) found.inputs.push(start?.input?.payloads?.[0]?.data?.length ?? 0);
    for (const event of history.events ?? []) {
      if (event.workflowExecutionCompletedEventAttributes) found.result = Math.max(...payloadSizes(event));
      else found.largest = Math.max(found.largest, ...payloadSizes(event));
    }
    execution = previous;
  }
  return found;
}

/** The size of every `runState` answer (page) of a run, read page by page as the run client does. */
async function queryPageSizes(client: Client, runId: string): Promise<number[]> {
  const handle = client.workflow.getHandle(runId);
  const sizes: number[] = [];
  let page = await handle.query(runStateQuery);
  for (;;) {
    sizes.push(Buffer.byteLength(JSON.stringify(page)));
    const next = page.page?.next;
    if (next === undefined) return sizes;
    page = await handle.query(runStateQuery, { after: next });
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
      // Every instance succeeds. On a starved worker some take a second attempt (an activity task
      // lost, or freed by the heartbeat timeout): slow, not wrong, so they are counted and reported.
      const failed = instances.filter((s) => s.status !== 'succeeded');
      assert.deepEqual(
        failed.map((s) => `${s.id} ${s.status} ${s.attempts}`),
        [],
        JSON.stringify(failed.slice(0, 3)),
      );
      const retried = instances.filter((s) => s.attempts > 1);
      assert.ok(instances.every((s) => s.attempts >= 1));
      t.diagnostic(
        `${retried.length} of ${INSTANCES} instances needed more than one attempt` +
          (retried.length > 0 ? ` (most ${Math.max(...retried.map((s) => s.attempts))}: ${retried[0]?.id} …)` : ''),
      );

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

      // The result: the plan's stages, a summary and a reference to the whole table in the store.
      assert.ok(result.stored, 'the result points to the whole table in the store');
      assert.equal(result.summary?.stageCount, compiled.plan.stages.length + INSTANCES);
      assert.equal(result.summary?.counts.succeeded, compiled.plan.stages.length + INSTANCES);
      assert.equal(result.stages.filter((s) => s.instanceOf !== undefined).length, INSTANCES, 'read back whole');
      const table = await readStoredRunState(h.store, h.config.s3.bucket, runId, result.stored);
      assert.equal(table.carried.stages.length, compiled.plan.stages.length + INSTANCES);

      // Every execution: its continue-as-new input is a reference, no payload near Temporal's limits.
      const big = await runPayloads(h.client, runId);
      const bigPages = await queryPageSizes(h.client, runId);
      assert.ok(big.executions >= 2 && big.inputs.length === big.executions - 1, `executions: ${big.executions}`);
      assert.ok(
        Math.max(...big.inputs) < MAX_CONTINUE_AS_NEW_INPUT_BYTES,
        `continue-as-new inputs: ${big.inputs.join(', ')} bytes`,
      );
      t.diagnostic(
        `${INSTANCES} instances, ${big.executions} executions of ${big.events.join(', ')} events (newest first), ` +
          `stored state ${recorded.stored.bytes} bytes in ${recorded.stored.parts} part(s) of ≤ ` +
          `${RUN_STATE_PART_CHARS} chars; continue-as-new inputs ≤ ${Math.max(...big.inputs)} bytes; ` +
          `largest payload ${big.largest} bytes; ` +
          `result payload ${big.result} bytes; stored table ${result.stored.bytes} bytes; query pages ` +
          `${bigPages.join(', ')} bytes; ${Math.round((Date.now() - started) / 1000)} s`,
      );
      assert.ok(big.largest < BLOB_WARNING_BYTES, `largest payload: ${big.largest} bytes`);

      // A small run of the same pipeline: its result and query answers are under the same bound.
      const small = compilePlan(pipelineYaml(h.pools.cpu, SMALL_INSTANCES), 'large-fan-out.yaml', {
        set: { expected: '2' },
      });
      assert.ok(small.plan, JSON.stringify(small.diagnostics));
      const smallRunId = await runs.submit(small.plan);
      const smallResult = await runs.result(smallRunId);
      assert.equal(smallResult.status, 'succeeded');
      assert.equal(smallResult.stored, undefined, `${SMALL_INSTANCES} instances fit inline`);
      const smallPayloads = await runPayloads(h.client, smallRunId);
      const smallPages = await queryPageSizes(h.client, smallRunId);
      t.diagnostic(
        `${SMALL_INSTANCES} instances: result payload ${smallPayloads.result} bytes, query pages ` +
          `${smallPages.join(', ')} bytes; ${INSTANCES} instances: stored table ${result.stored.bytes} bytes`,
      );
      // The whole table grows with the instance count past the bound; what crosses Temporal does not.
      assert.ok(result.stored.bytes > RESULT_INLINE_CHARS, `stored table: ${result.stored.bytes} bytes`);
      for (const [what, size, bound] of [
        ['result', big.result, RESULT_INLINE_CHARS],
        ['small result', smallPayloads.result, RESULT_INLINE_CHARS],
        ['query page', Math.max(...bigPages), STATE_PAGE_CHARS],
        ['small query page', Math.max(...smallPages), STATE_PAGE_CHARS],
      ] as const)
        assert.ok(size < bound + ENVELOPE_BYTES, `${what}: ${size} bytes, bound ${bound + ENVELOPE_BYTES}`);
      if (result.stored.bytes > 2 * STATE_PAGE_CHARS) assert.ok(bigPages.length >= 2, `pages: ${bigPages.length}`);

      // rerun from the gate: the plan and final stages come through the continued run.
      const rerun = await startRerun(runs, h.store, { runId, fromStage: 'gate', set: { expected: '2' } });
      const again = await runs.result(rerun.runId);
      assert.equal(again.status, 'succeeded');
      assert.deepEqual(again.stages.find((s) => s.id === 'last')?.outputs?.value, f1);
      assert.equal(again.stages.find((s) => s.id === 'f1')?.reason, `reused from run ${runId}`);
    },
  );
});
