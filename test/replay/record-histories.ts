/**
 * Records the event histories that test/unit/replay/replay-histories.test.ts replays against the
 * current workflow code. Each scenario drives one workflow type or feature to completion on the
 * real stack (Temporal dev server + MinIO named by the environment), with the runtime's own
 * workers and the test stage types, then writes every execution's history (each run of a
 * continue-as-new chain) to test/replay/histories/<scenario>--<n>.json in Temporal's JSON form.
 *
 * Run: `npm run record-histories` (scripts/record-histories.sh starts and stops a test stack).
 * Only re-record deliberately: see docs/operations.md ("Re-recording histories").
 * Usage: node --import tsx test/replay/record-histories.ts [scenario…]   (default: all)
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import { RunClient } from '../../src/client/run-client';
import { loadConfig } from '../../src/config';
import { watcherIdFor } from '../../src/schedules/data-watch-client';
import type { RunState } from '../../src/core/run/run-types';
import { STAGE_START_BATCH } from '../../src/core/run/start-slots';
import { ScheduleService } from '../../src/schedules/schedule-client';
import { scheduleIdForPipeline } from '../../src/schedules/schedules';
import { runsQuery } from '../../src/core/schedules/schedule-search-attributes';
import type { HyperparameterSweepInput } from '../../src/core/sweep/sweep-types';
import { taskQueueForPool } from '../../src/core/run/task-queues';
import { connectClient, connectWorker } from '../../src/client/temporal-connection';
import { compilePlan } from '../../src/spec/compile';
import type { JsonObject, Plan } from '../../src/core/spec/plan-types';
import { registerModel } from '../../src/ml/models/registry';
import { createObjectStoreFromConfig } from '../../src/storage/minio-store';
import type { ObjectStore } from '../../src/storage/object-store';
import { createWorker, type FineflowWorker, type WorkerOptions } from '../../src/worker/run-worker';
import type { RunStatePartInput } from '../../src/core/run/stored-run-state';
import { writeRunStatePart } from '../../src/storage/run-state-store';
import { makePlan, type StageSketch } from '../fixtures/runtime/plans';
import { requireStack } from '../helpers/stack';
import { writeSweepData } from '../integration/sweep/sweep-fixture';
import { registerTestStageTypes, stages as testStages } from '../stage-types';

export const HISTORIES_DIR = path.join(__dirname, 'histories');

interface Recorder {
  readonly client: Client;
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly runs: RunClient;
  readonly schedules: ScheduleService;
  readonly pools: { readonly control: string; readonly cpu: string };
  readonly suffix: string;
  plan(name: string, stages: readonly StageSketch[], params?: JsonObject): Plan;
  compile(yaml: string): Plan;
  /** Start one more worker (running) for a pool of the scenario's own; `stop` drains it. */
  startWorker(pool: string, runsWorkflows: boolean, extra?: Partial<WorkerOptions>): Promise<{ stop(): Promise<void> }>;
}

type Scenario = (r: Recorder) => Promise<readonly string[]>;

const fastRetry = (maxAttempts: number) => ({
  maxAttempts,
  initialIntervalMs: 100,
  backoffCoefficient: 1,
  maximumIntervalMs: 200,
});

async function until<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe().catch(() => undefined);
    if (last !== undefined && done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/** The run's result; a long poll that fails under load (a shared machine) is asked again. */
async function settled(r: Recorder, runId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await r.runs.result(runId);
      return;
    } catch (error) {
      if (attempt >= 10) throw error;
    }
  }
}

/** A sweep stage's inputs over the fixture's data and base model: the fields every sweep scenario shares, then its own. */
function sweepStageInputs(data: { readonly baseModel: string; readonly dataset: string }, own: JsonObject): JsonObject {
  return {
    model: data.baseModel,
    data: data.dataset,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    ...own,
  };
}

/** Runs a one-stage pipeline of a sweep stage to its end; its run id and the sweep's child workflow id. */
async function runSweepStage(r: Recorder, pipeline: string, inputs: JsonObject): Promise<[string, string]> {
  const plan = r.plan(pipeline, [{ id: 'sweep', uses: 'hyperparameter-sweep', with: inputs, timeoutMs: 300_000 }]);
  const runId = await r.runs.submit(plan);
  await settled(r, runId);
  return [runId, `${runId}.sweep.sweep-1`];
}

const runState = (r: Recorder, runId: string, done: (state: RunState) => boolean): Promise<RunState> =>
  until(`run ${runId}`, () => r.runs.state(runId), done);

/** Every execution of a workflow id, oldest first, following continue-as-new links from the first run. */
async function executionsOf(
  client: Client,
  workflowId: string,
  firstRunId: string,
): Promise<{ runId: string; json: string }[]> {
  const out: { runId: string; json: string }[] = [];
  for (let runId: string | undefined = firstRunId; runId;) {
    const history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>> =
      await client.workflow.getHandle(workflowId, runId).fetchHistory();
    // The workflow id is part of what replays (workflowInfo().workflowId names children and runs).
    out.push({
      runId,
      json: `{"workflowId":${JSON.stringify(workflowId)},"runId":${JSON.stringify(runId)},"history":${historyToStoredJson(history)}}`,
    });
    const last = history.events?.[history.events.length - 1];
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return out;
}

/**
 * Protobuf's canonical JSON of the history (int64 as strings, enums by name, bytes base64), read
 * back by `History.fromObject` in the replay test. Not `historyToJSON` of @temporalio/common: in
 * this install it sees a second copy of protobufjs and throws "type must be a Type". The
 * round trip is checked byte for byte before the file is written.
 */
function historyToStoredJson(history: temporal.api.history.v1.IHistory): string {
  const message = temporal.api.history.v1.History.fromObject(history);
  const json = JSON.stringify(message.toJSON());
  const back = temporal.api.history.v1.History.fromObject(JSON.parse(json) as Record<string, unknown>);
  const same = Buffer.from(temporal.api.history.v1.History.encode(back).finish()).equals(
    Buffer.from(temporal.api.history.v1.History.encode(message).finish()),
  );
  if (!same) throw new Error('the stored JSON of a history does not decode to the same history');
  return json;
}

async function firstRunIdOf(client: Client, workflowId: string): Promise<string> {
  const description = await client.workflow.getHandle(workflowId).describe();
  // The chain starts at the first execution; describe() of the id gives the latest.
  const history = await client.workflow.getHandle(workflowId, description.runId).fetchHistory();
  const first = history.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId;
  return first || description.runId;
}

/** Stage types of the test stages' activities (not the run's own cache and state activities). */
const STAGE_ACTIVITY = /^test-/;

/**
 * For each workflow task of a history, the stage activities that ended in the events it was given (those since the
 * task before it started), and last those no task has been given yet. A task given two or more orders their
 * follow-up commands by `await` hops alone.
 */
function stageEndsPerTask(history: temporal.api.history.v1.IHistory): string[][] {
  const scheduled = new Map<string, string>();
  const tasks: string[][] = [];
  let pending: string[] = [];
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type && STAGE_ACTIVITY.test(type)) scheduled.set(id, type);
    const ended = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes;
    const stage = ended ? scheduled.get(String(ended.scheduledEventId)) : undefined;
    if (stage) pending.push(`${stage} ${event.activityTaskCompletedEventAttributes ? 'completed' : 'failed'}`);
    if (event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      tasks.push(pending);
      pending = [];
    }
  }
  return [...tasks, pending];
}

/**
 * A run continues as new while its stage waits for a retry; its state write is held until a `retry` was accepted, so
 * the execution writes its state again. Returns the run and how many `@state/` objects it keeps at the end.
 */
async function retryAtContinueAsNew(r: Recorder, name: string): Promise<{ runId: string; states: number }> {
  let writing!: () => void;
  const written = new Promise<void>((resolve) => (writing = resolve));
  let retried!: () => void;
  const accepted = new Promise<void>((resolve) => (retried = resolve));
  const control = `replay-recarry-${r.suffix}`;
  const worker = await r.startWorker(control, true, {
    extraActivities: {
      writeRunStatePart: async (input: RunStatePartInput): Promise<void> => {
        if (input.continuation === 1) {
          writing();
          await accepted;
        }
        await writeRunStatePart(r.store, input);
      },
    },
  });
  try {
    const runs = new RunClient(r.client, {
      bucket: r.bucket,
      workflowTaskQueue: taskQueueForPool(control),
      historyEventLimit: 10,
    });
    const plan = r.plan(name, [
      { id: 'flaky', uses: 'test-flaky', with: { failTimes: 1, value: 'second time' }, onFailure: 'pause' },
    ]);
    const runId = await runs.submit(plan);
    await written;
    await runs.retry(runId);
    retried();
    const result = (await r.client.workflow.getHandle(runId).result()) as RunState;
    if (result.status !== 'succeeded') throw new Error(`the retried run ended ${result.status}`);
    return { runId, states: (await r.store.list(`s3://${r.bucket}/runs/${runId}/@state/`)).length };
  } finally {
    await worker.stop();
  }
}

const scenarios: Record<string, Scenario> = {
  /** Parallel branches, a stage that fails twice then succeeds, live progress signals, `when: false` skips. */
  async 'pipeline-run-retries-when'(r) {
    const plan = r.plan('replay-retries', [
      { id: 'root', with: { value: 'seed' } },
      { id: 'slow', needs: ['root'], with: { value: '${{ stages.root.outputs.value }}', sleepMs: 2_000, steps: 4 } },
      { id: 'flaky', needs: ['root'], uses: 'test-flaky', with: { failTimes: 2, value: 'ok' }, retry: fastRetry(3) },
      { id: 'gate', needs: ['slow', 'flaky'], with: { value: false } },
      { id: 'deploy', needs: ['gate'], when: '${{ stages.gate.outputs.value }}', with: { value: 'deployed' } },
    ]);
    const runId = await r.runs.submit(plan);
    await settled(r, runId);
    return [runId];
  },
  /** onFailure: pause, then the retryStage update with a param override; the run continues. */
  async 'pipeline-run-pause-retry'(r) {
    const plan = r.plan(
      'replay-pause',
      [
        {
          id: 'check',
          uses: 'test-fail-until-param',
          with: { value: '${{ params.threshold }}', expected: 7 },
          onFailure: 'pause',
        },
        { id: 'next', needs: ['check'], with: { value: '${{ stages.check.outputs.value }}' } },
      ],
      { threshold: 3 },
    );
    const runId = await r.runs.submit(plan);
    await runState(r, runId, (s) => s.status === 'waiting');
    await r.runs.retry(runId, { params: { threshold: '7' } });
    await settled(r, runId);
    return [runId];
  },
  /**
   * A retry accepted while the run continues as new: the state write is held until the retry was accepted, so the
   * execution takes the state again (the `fineflow-recarry-after-update` marker) and the next one runs the retry.
   * Recorded before the superseded state was removed: no removal in its commands.
   */
  async 'pipeline-run-retry-at-continue-as-new'(r) {
    return [(await retryAtContinueAsNew(r, 'replay-retry-at-continue-as-new')).runId];
  },
  /**
   * The same, recorded since the state written first is removed before it is written again (the
   * `fineflow-remove-superseded-state` marker and a `removeRunState` activity): the run keeps one `@state/` object.
   */
  async 'pipeline-run-superseded-state-removed'(r) {
    const { runId, states } = await retryAtContinueAsNew(r, 'replay-superseded-state-removed');
    if (states !== 1) throw new Error(`the run keeps ${states} @state objects, not the one the next execution read`);
    return [runId];
  },
  /** The same cacheable stage twice: a miss that records, then a hit. */
  async 'pipeline-run-cache'(r) {
    const plan = r.plan('replay-cache', [
      { id: 'cached', with: { value: `v-${r.suffix}` }, cache: { enabled: true } },
      { id: 'after', needs: ['cached'], with: { value: '${{ stages.cached.outputs.value }}' } },
    ]);
    const first = await r.runs.submit(plan);
    await settled(r, first);
    const second = await r.runs.submit(plan);
    await settled(r, second);
    return [first, second];
  },
  /** A run past its history threshold: it drains, continues as new with its state carried, twice, and pauses in between. */
  async 'pipeline-run-continue-as-new'(r) {
    const runs = new RunClient(r.client, {
      bucket: r.bucket,
      workflowTaskQueue: r.runs.workflowTaskQueue,
      historyEventLimit: 40,
    });
    const chain = Array.from({ length: 10 }, (_, i) => ({
      id: `s${i + 1}`,
      needs: [i === 0 ? 'gate' : `s${i}`],
      with: { value: `\${{ stages.${i === 0 ? 'gate' : `s${i}`}.outputs.value }}` },
    }));
    const plan = r.plan(
      'replay-continue-as-new',
      [
        ...Array.from({ length: 6 }, (_, i) => ({ id: `p${i + 1}`, with: { value: i } })),
        {
          id: 'gate',
          uses: 'test-fail-until-param',
          needs: ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'],
          with: { value: '${{ params.threshold }}', expected: 7 },
          onFailure: 'pause',
        },
        ...chain,
      ],
      { threshold: 3 },
    );
    const runId = await runs.submit(plan);
    await runState(r, runId, (s) => s.status === 'waiting');
    await runs.retry(runId, { params: { threshold: '7' } });
    await settled(r, runId);
    return [runId];
  },
  /** Cancel while a stage runs: the running stage is cancelled, the run ends cancelled. */
  async 'pipeline-run-cancel'(r) {
    const plan = r.plan('replay-cancel', [
      { id: 'long', with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
      { id: 'after', needs: ['long'] },
    ]);
    const runId = await r.runs.submit(plan);
    await runState(r, runId, (s) => s.stages[0]?.progress !== undefined);
    await r.runs.cancel(runId);
    await settled(r, runId);
    return [runId];
  },
  /**
   * Two stage events in one workflow task: a cached stage's completion (its cache record follows) and another
   * stage's dependency outage (its wait timer follows). Both run while the control worker is down, so the task
   * after its restart carries both; the order of the two commands then rests on the `await` hops of each path in
   * executeStage, and an extra hop in one of them fails this history's replay (docs/operations.md).
   */
  async 'pipeline-run-one-task-two-stages'(r) {
    const pools = { control: `replay-control-b-${r.suffix}`, cpu: `replay-cpu-b-${r.suffix}` };
    const plan = makePlan('replay-one-task', [
      { id: 'cached', pool: pools.cpu, with: { value: `v-${r.suffix}` }, cache: { enabled: true } },
      {
        id: 'outage',
        pool: pools.cpu,
        uses: 'test-flaky',
        with: { failTimes: 1, outage: true, value: 'ok' },
        retry: fastRetry(2),
      },
      {
        id: 'join',
        pool: pools.cpu,
        needs: ['cached', 'outage'],
        with: { value: '${{ stages.outage.outputs.value }}' },
      },
    ]);
    const runs = new RunClient(r.client, { bucket: r.bucket, workflowTaskQueue: taskQueueForPool(pools.control) });
    let control = await r.startWorker(pools.control, true);
    const runId = await runs.submit(plan);
    const history = () => r.client.workflow.getHandle(runId).fetchHistory();
    const stageActivities = (h: temporal.api.history.v1.IHistory) =>
      (h.events ?? []).filter((e) =>
        STAGE_ACTIVITY.test(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
      ).length;
    // Both stages scheduled (the cached one after its lookup) while no worker polls the stage pool.
    await until('both stages scheduled', history, (h) => stageActivities(h) >= 2);
    await control.stop();
    const cpu = await r.startWorker(pools.cpu, false);
    await until('both stages ended', history, (h) => (stageEndsPerTask(h).at(-1) ?? []).length >= 2);
    control = await r.startWorker(pools.control, true);
    await settled({ ...r, runs }, runId);
    await Promise.all([control.stop(), cpu.stop()]);
    const together = stageEndsPerTask(await history())
      .slice(0, -1)
      .find((ends) => ends.length >= 2);
    if (!together) throw new Error(`no workflow task of ${runId} was given two stage events`);
    console.log(`pipeline-run-one-task-two-stages: one workflow task given ${together.join(', ')}`);
    return [runId];
  },
  /** forEach over an upstream output (parallelism 2, one instance failing once and retried), matrix, fan-in. */
  async 'pipeline-run-fan-out'(r) {
    const plan = r.compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: replay-fan-out}
defaults: {pool: ${r.pools.cpu}, cache: false, retry: {maxAttempts: 2, initialInterval: 100ms}}
stages:
  split:
    uses: test-echo
    with: {value: [a, b, c]}
  work:
    uses: test-echo
    forEach: \${{ stages.split.outputs.value }}
    parallelism: 2
    with: {value: "\${{ item }}-done", sleepMs: 300, steps: 2}
  flaky:
    uses: test-flaky
    matrix: {size: [s, m], seed: [1, 2]}
    with: {failTimes: 1, value: "\${{ item.size }}\${{ item.seed }}"}
  join:
    uses: test-echo
    with: {value: {all: "\${{ stages.work.outputs.value }}", grid: "\${{ stages.flaky.outputs.value }}"}}
`);
    const runId = await r.runs.submit(plan);
    await settled(r, runId);
    return [runId];
  },
  /** A fan-out wider than one workflow task's start batch: its instances start over two tasks. */
  async 'pipeline-run-wide-fan-out'(r) {
    const plan = r.compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: replay-wide-fan-out}
defaults: {pool: ${r.pools.cpu}, cache: false}
stages:
  work:
    uses: test-echo
    forEach: [${Array.from({ length: STAGE_START_BATCH + 5 }, (_, i) => i).join(', ')}]
    with: {value: "\${{ item }}"}
`);
    const runId = await r.runs.submit(plan);
    await settled(r, runId);
    return [runId];
  },
  /**
   * Results too large to hold every stage (src/core/run/run-result.ts, here made small): the whole table is
   * written to the store and the result keeps the plan's stages; once for a success, once for a failure.
   */
  async 'pipeline-run-bounded-result'(r) {
    const runs = new RunClient(r.client, {
      bucket: r.bucket,
      store: r.store,
      workflowTaskQueue: r.runs.workflowTaskQueue,
      resultInlineChars: 2_000,
    });
    const yaml = (name: string, expected: number): string => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
defaults: {pool: ${r.pools.cpu}, cache: false}
stages:
  work:
    uses: test-echo
    forEach: [${Array.from({ length: 30 }, (_, i) => i).join(', ')}]
    parallelism: 10
    with: {value: "runs/replay/item-\${{ item }}/model.json"}
  check:
    uses: test-fail-until-param
    needs: [work]
    onFailure: fail
    with: {value: 1, expected: ${expected}}
`;
    const succeeded = await runs.submit(r.compile(yaml('replay-bounded-result', 1)));
    await settled(r, succeeded);
    const failed = await runs.submit(r.compile(yaml('replay-bounded-failure', 2)));
    await settled(r, failed);
    return [succeeded, failed];
  },
  /** A run with a sweep stage (the child workflow), and a sweep that continues as new mid-way. */
  async 'hyperparameter-sweep'(r) {
    const data = await writeSweepData(r.store, r.bucket, `replay-sweep-${r.suffix}`);
    const inputs: JsonObject = {
      model: data.baseModel,
      data: data.dataset,
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      trial: { epochs: 3, batchSize: 16, freeze: 'none', seed: 1 },
      algorithm: 'random',
      earlyStopping: { type: 'median', reductionFactor: 3, minEpochs: 1 },
      maxTrials: 3,
      parallelism: 2,
      seed: 5,
      space: { learningRate: { logUniform: [0.001, 0.03] } },
    };
    const plan = r.plan('replay-sweep', [
      { id: 'sweep', uses: 'hyperparameter-sweep', with: inputs, timeoutMs: 300_000 },
    ]);
    const runId = await r.runs.submit(plan);
    await settled(r, runId);
    const childId = `${runId}.sweep.sweep-1`;
    // Directly, with a tiny history threshold, so the recorded chain has continue-as-new in it.
    const chainRunId = `replay-sweep-can-${r.suffix}`;
    const input: HyperparameterSweepInput = {
      context: {
        runId: chainRunId,
        pipeline: 'replay-sweep',
        stageId: 'sweep',
        attempt: 1,
        outputPrefix: `s3://${r.bucket}/runs/${chainRunId}/sweep/`,
        bucket: r.bucket,
        trigger: { kind: 'manual' },
      },
      inputs: { ...inputs, maxTrials: 4 },
      execution: {
        pool: r.pools.cpu,
        segmentTimeoutMs: 120_000,
        heartbeatTimeoutMs: 30_000,
        retry: fastRetry(2),
        continueAsNewAfterEvents: 40,
      },
    };
    const chainId = `${chainRunId}.sweep.sweep-1`;
    const handle = await r.client.workflow.start('hyperparameterSweep', {
      taskQueue: taskQueueForPool(r.pools.control),
      workflowId: chainId,
      args: [input],
    });
    for (let attempt = 1; ; attempt++) {
      const done = await handle.result().then(
        () => true,
        (error: unknown) => {
          if (attempt >= 10) throw error;
          return false;
        },
      );
      if (done) break;
    }
    return [runId, childId, chainId];
  },
  /** Two runs of a warm-started TPE sweep stage: the first starts cold and records its trials, the second begins from them. */
  async 'hyperparameter-sweep-warm-start'(r) {
    const data = await writeSweepData(r.store, r.bucket, `replay-warm-${r.suffix}`);
    const inputs: JsonObject = {
      model: data.baseModel,
      data: data.dataset,
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      trial: { epochs: 2, batchSize: 16, freeze: 'none', seed: 1 },
      algorithm: 'tpe',
      tpe: { startupTrials: 2 },
      warmStart: { sweeps: 2 },
      maxTrials: 2,
      parallelism: 2,
      seed: 5,
      space: { learningRate: { logUniform: [0.001, 0.03] } },
    };
    const ids: string[] = [];
    for (let run = 0; run < 2; run++) {
      const plan = r.plan(`replay-warm-${r.suffix}`, [
        { id: 'sweep', uses: 'hyperparameter-sweep', with: inputs, timeoutMs: 300_000 },
      ]);
      const runId = await r.runs.submit(plan);
      await settled(r, runId);
      ids.push(runId, `${runId}.sweep.sweep-1`);
    }
    return ids;
  },
  /**
   * A sweep stage whose base is a registry alias: the sweep pins it once, before the first trial (activity
   * `pinSweepBase` behind the `fineflow-sweep-base-pin` patch), and every trial trains on that version.
   */
  async 'hyperparameter-sweep-base-pin'(r) {
    const data = await writeSweepData(r.store, r.bucket, `replay-pin-${r.suffix}`);
    const name = `replay-pin-${r.suffix}`;
    await registerModel(r.store, {
      bucket: r.bucket,
      name,
      modelUri: data.baseModel,
      aliases: ['champion'],
      description: 'the base of the base-pin replay scenario',
    });
    const inputs: JsonObject = {
      model: `registry://${name}@champion`,
      data: data.dataset,
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      trial: { epochs: 2, batchSize: 16, freeze: 'none', seed: 1 },
      algorithm: 'random',
      maxTrials: 2,
      parallelism: 2,
      seed: 5,
      space: { learningRate: { logUniform: [0.001, 0.03] } },
    };
    return runSweepStage(r, 'replay-pin', inputs);
  },
  /**
   * A sweep stage with a rung audit (`earlyStopping.auditEvery`), recorded before its sweep log said when a trial
   * continues as an audit: every 2nd trial below the first rung's cut trains on (one trial at a time, so in id order).
   */
  async 'hyperparameter-sweep-rung-audit'(r) {
    const data = await writeSweepData(r.store, r.bucket, `replay-audit-${r.suffix}`);
    const inputs = sweepStageInputs(data, {
      trial: { epochs: 4, batchSize: 16, freeze: 'none', seed: 1 },
      algorithm: 'random',
      earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1, auditEvery: 2 },
      maxTrials: 8,
      parallelism: 1,
      seed: 11,
      space: { learningRate: { logUniform: [0.00005, 0.05] }, batchSize: { choice: [8, 16] } },
    });
    return runSweepStage(r, 'replay-audit', inputs);
  },
  /**
   * A promotion-based ASHA sweep (`earlyStopping.promotion`): trials pause at rungs and the workflow resumes promoted
   * ones from their checkpoints before it starts new trials; the trials still paused at the end are recorded stopped.
   */
  async 'hyperparameter-sweep-promotion'(r) {
    const data = await writeSweepData(r.store, r.bucket, `replay-promotion-${r.suffix}`);
    const inputs = sweepStageInputs(data, {
      trial: { epochs: 4, batchSize: 16, freeze: 'none', seed: 1 },
      algorithm: 'random',
      earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1, promotion: true },
      maxTrials: 4,
      parallelism: 1,
      seed: 11,
      space: { learningRate: { logUniform: [0.00005, 0.05] } },
    });
    return runSweepStage(r, 'replay-promotion', inputs);
  },
  /**
   * An ASHA sweep of fine-tune trials that does not say `promotion`: promotion-based by default, behind the
   * `fineflow-20-asha-promotion-default` patch marker (sweeps recorded before it replay stopping-based).
   */
  async 'hyperparameter-sweep-asha-default'(r) {
    const data = await writeSweepData(r.store, r.bucket, `replay-asha-default-${r.suffix}`);
    const inputs = sweepStageInputs(data, {
      trial: { epochs: 4, batchSize: 16, freeze: 'none', seed: 1 },
      algorithm: 'random',
      earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1 },
      maxTrials: 4,
      parallelism: 2,
      seed: 3,
      space: { learningRate: { logUniform: [0.00005, 0.05] } },
    });
    return runSweepStage(r, 'replay-asha-default', inputs);
  },
  /**
   * A newData watcher: an empty prefix as its baseline (no version), a push, the run it starts, and continue-as-new
   * after a few polls.
   */
  async 'data-watcher'(r) {
    const name = `replay-watch-${r.suffix}`;
    const bucket = `ffreplay-${r.suffix}`;
    await r.store.ensureBucket(bucket);
    const prefix = `s3://${bucket}/incoming/`;
    await r.schedules.apply(
      r.compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params: {dataset: ${prefix}}
defaults: {pool: ${r.pools.cpu}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
triggers:
  - newData: {path: "\${{ params.dataset }}", debounce: 1s, pollInterval: 1s}
stages:
  echo: {uses: test-echo, cache: false, with: {value: new-data}}
`),
    );
    const watcherId = watcherIdFor(name, prefix);
    await until(
      'the baseline',
      () => r.schedules.watchers.status(watcherId),
      (s) => s.lastObservation !== undefined,
    );
    await r.store.putBytes(`${prefix}batch-1.csv`, 'a,b\n3,4\n');
    const runs = await until(
      'a run for the push',
      () => listIds(r.client, runsQuery(name, 'new-data')),
      (ids) => ids.length >= 1,
    );
    await settled(r, runs[0] as string);
    // Let the watcher see the run end and continue as new (pollsPerExecution is small here).
    const firstRunId = await firstRunIdOf(r.client, watcherId);
    await until(
      'the watcher to continue as new',
      () => r.client.workflow.getHandle(watcherId).describe(),
      (d) => d.runId !== firstRunId,
    );
    await r.schedules.delete(name);
    return [watcherId, runs[0] as string];
  },
  /** A run started by a schedule (trigger now). */
  async 'schedule-run'(r) {
    const name = `replay-sched-${r.suffix}`;
    await r.schedules.apply(
      r.compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
defaults: {pool: ${r.pools.cpu}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
schedule: {cron: "0 3 1 1 *", overlap: skip}
stages:
  echo: {uses: test-echo, cache: false, with: {value: scheduled}}
`),
    );
    // Fired by Temporal from the schedule's action (trigger `schedule`), not `schedules.trigger`,
    // which starts a manual run beside the schedule.
    await r.client.schedule.getHandle(scheduleIdForPipeline(name)).trigger();
    const runs = await until(
      'the scheduled run',
      () => listIds(r.client, runsQuery(name, 'schedule')),
      (ids) => ids.length >= 1,
    );
    await settled(r, runs[0] as string);
    await r.schedules.delete(name);
    return [runs[0] as string];
  },
};

async function listIds(client: Client, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of client.workflow.list({ query })) ids.push(info.workflowId);
  return ids;
}

async function writeScenario(r: Recorder, name: string, workflowIds: readonly string[]): Promise<number> {
  for (const file of await readdir(HISTORIES_DIR))
    if (file.startsWith(`${name}--`)) await rm(path.join(HISTORIES_DIR, file));
  let n = 0;
  for (const workflowId of workflowIds) {
    for (const execution of await executionsOf(r.client, workflowId, await firstRunIdOf(r.client, workflowId))) {
      n += 1;
      await writeFile(path.join(HISTORIES_DIR, `${name}--${n}.json`), `${execution.json}\n`);
    }
  }
  return n;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  registerTestStageTypes();
  const config = await requireStack(loadConfig(process.env));
  const suffix = randomBytes(4).toString('hex');
  const pools = { control: `replay-control-${suffix}`, cpu: `replay-cpu-${suffix}` };
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const connection: NativeConnection = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);
  const common = {
    config,
    store,
    connection,
    extraStages: testStages,
    shutdownGraceMs: 2_000,
    progressIntervalMs: 300,
  };
  const workers: FineflowWorker[] = [
    await createWorker({ ...common, pool: pools.control, runsWorkflows: true }),
    await createWorker({ ...common, pool: pools.cpu, runsWorkflows: false, concurrency: 4 }),
  ];
  const running = workers.map((w) => w.run());
  const workflowTaskQueue = taskQueueForPool(pools.control);
  const recorder: Recorder = {
    client,
    store,
    bucket: config.s3.bucket,
    runs: new RunClient(client, { bucket: config.s3.bucket, store, workflowTaskQueue }),
    schedules: new ScheduleService(client, { bucket: config.s3.bucket, workflowTaskQueue, pollsPerExecution: 4 }),
    pools,
    suffix,
    plan: (name, stages, params) =>
      makePlan(
        name,
        stages.map((s) => ({ pool: pools.cpu, ...s })),
        params,
      ),
    async startWorker(pool, runsWorkflows, extra = {}) {
      const worker = await createWorker({ ...extra, ...common, pool, runsWorkflows, concurrency: 4 });
      const running = worker.run();
      return {
        async stop() {
          await worker.shutdown();
          await running;
        },
      };
    },
    compile(yaml) {
      const compiled = compilePlan(yaml, 'replay.yaml', { set: [] });
      if (!compiled.plan) throw new Error(`replay pipeline does not compile: ${JSON.stringify(compiled.diagnostics)}`);
      return compiled.plan;
    },
  };
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !(name in scenarios));
  if (unknown.length > 0)
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);
  await mkdir(HISTORIES_DIR, { recursive: true });
  try {
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (wanted.length > 0 && !wanted.includes(name)) continue;
      const started = Date.now();
      const ids = await scenario(recorder);
      const count = await writeScenario(recorder, name, ids);
      console.log(
        `${name}: ${count} histor${count === 1 ? 'y' : 'ies'} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.shutdown()));
    await Promise.allSettled(running);
    await connection.close();
    await client.connection.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
