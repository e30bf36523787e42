/**
 * `fineflow status` when no control worker answers the state query: an ended run is rebuilt
 * from its history (its whole table read from the store when the result or carried state is there;
 * a cancelled run from the result it left in its memo); a running one is reported as unavailable
 * instead of hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchOriginalRun } from '../../../src/client/rerun';
import { RunClient } from '../../../src/client/run-client';
import type { PipelineRunResult, RunState, StageState } from '../../../src/core/run/run-types';
import type { Plan } from '../../../src/core/spec/plan-types';
import { CANCELLED_RESULT_MEMO } from '../../../src/core/run/run-result';
import { DependencyUnavailableError } from '../../../src/core/errors';
import { connectClient } from '../../../src/client/temporal-connection';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { makePlan } from '../../fixtures/runtime/plans';
import { randomSuffix, startRuntimeHarness } from '../../fixtures/runtime/harness';
import {
  assertReadsAsWorkerDid,
  CHAIN_HISTORY_EVENT_LIMIT,
  continuedChain,
  stageTable,
  terminateContinuedRun,
} from '../../fixtures/runtime/terminated-run';
import { runCli } from '../../helpers/cli';

test('an ended run shows its stages from history once its workers are gone; a running one fails fast', async () => {
  const h = await startRuntimeHarness();
  const config = h.config;
  let runId: string;
  // Closed even when an assertion fails: an open harness keeps the file running instead of reporting.
  try {
    const plan = h.plan('no-worker', [
      { id: 'a', with: { value: 1 } },
      { id: 'b', needs: ['a'], with: { value: '${{ stages.a.outputs.value }}' } },
    ]);
    runId = await h.runs.submit(plan);
    assert.equal((await h.runs.result(runId)).status, 'succeeded');
  } finally {
    await h.close();
  }

  const client = await connectClient(config.temporal);
  try {
    const runs = new RunClient(client, {
      bucket: config.s3.bucket,
      workflowTaskQueue: taskQueueForPool(`nobody-${randomSuffix()}`),
    });
    const state = await runs.state(runId, { timeoutMs: 2_000 });
    assert.equal(state.status, 'succeeded');
    assert.deepEqual(
      state.stages.map((s) => [s.id, s.status, s.outputs?.value]),
      [
        ['a', 'succeeded', 1],
        ['b', 'succeeded', 1],
      ],
    );
    assert.ok(state.endedAt);

    const orphan = await runs.submit(makePlan('orphan', [{ id: 'x' }]));
    await assert.rejects(
      runs.state(orphan, { timeoutMs: 2_000 }),
      (error: unknown) => error instanceof DependencyUnavailableError && /control worker/.test(error.message),
    );
    await client.workflow.getHandle(orphan).terminate('test cleanup');
  } finally {
    await client.connection.close();
  }
});

test('fineflow status without a worker reads the store: a cut result, and the state a terminated run continued with', async () => {
  const h = await startRuntimeHarness();
  const chain = Array.from({ length: 8 }, (_, i) => ({
    id: `s${i + 1}`,
    needs: i === 0 ? [] : [`s${i}`],
    with: { value: i === 0 ? 'seed' : `\${{ stages.s${i}.outputs.value }}` },
  }));
  let ended: string;
  let paused: string;
  try {
    // Small thresholds: both runs continue as new, and every result is cut to its plan stages.
    const runs = new RunClient(h.client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: h.runs.workflowTaskQueue,
      store: h.store,
      historyEventLimit: 40,
      resultInlineChars: 64,
    });
    ended = await runs.submit(h.plan('stored-result', chain));
    const result = await h.client.workflow.getHandle(ended).result();
    assert.ok(result.stored, 'the result points to its table in the store');
    paused = await runs.submit(
      h.plan('stored-carried', [
        ...chain,
        {
          id: 'gate',
          uses: 'test-fail-until-param',
          needs: ['s8'],
          with: { value: 1, expected: 2 },
          onFailure: 'pause',
        },
      ]),
    );
    await runs.watch(paused, () => undefined, { until: (s) => s.status === 'waiting' });
    await h.client.workflow.getHandle(paused).terminate('no worker will answer from here on');
  } finally {
    await h.close();
  }

  const statusOf = async (runId: string): Promise<RunState> => {
    const status = await runCli(['status', runId, '--json']);
    assert.equal(status.code, 0, status.stderr);
    return JSON.parse(status.stdout) as RunState;
  };
  // The ended run: every stage, from the table its result points to.
  const whole = await statusOf(ended);
  assert.deepEqual(
    whole.stages.map((s) => [s.id, s.status, s.outputs?.value]),
    chain.map((s) => [s.id, 'succeeded', 'seed']),
  );
  // The terminated run: the stages as of its last hand-over, not "state unknown".
  const carried = await statusOf(paused);
  assert.equal(carried.status, 'terminated');
  // Nothing reads as still going: a stage the carried state had running or waiting was stopped by the termination.
  assert.deepEqual(
    carried.stages.filter((s) => s.status === 'running' || s.status === 'waiting'),
    [],
  );
  assert.deepEqual(
    carried.stages.filter((s) => /state unknown/.test(s.reason ?? '')),
    [],
  );
  assert.deepEqual(carried.stages[0]?.outputs?.value, 'seed');
});

test('a cancelled run leaves its result: every stage, read without a worker, inline or with its table in the store', async () => {
  const h = await startRuntimeHarness();
  const table = (stages: readonly StageState[]) => stages.map((s) => [s.id, s.status, s.outputs?.value]);
  const expected = [
    ['first', 'succeeded', 'kept'],
    ['long', 'cancelled', undefined],
    ['after', 'pending', undefined],
  ];
  const runIds: string[] = [];
  try {
    const plan = (name: string) =>
      h.plan(name, [
        { id: 'first', with: { value: 'kept' } },
        { id: 'long', needs: ['first'], with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
        { id: 'after', needs: ['long'] },
      ]);
    // The second run's result is cut to fit 64 characters: its whole table goes to the store.
    const cutting = new RunClient(h.client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: h.runs.workflowTaskQueue,
      store: h.store,
      resultInlineChars: 64,
    });
    runIds.push(await h.runs.submit(plan('cancel-inline')), await cutting.submit(plan('cancel-stored')));
    for (const runId of runIds) {
      // Cancelled mid-stage: the long stage has reported progress, so its attempt is under way.
      await h.runs.watch(runId, () => undefined, { until: (s) => s.stages[1]?.progress !== undefined });
      await h.runs.cancel(runId);
    }
    for (const runId of runIds) assert.equal((await cutting.result(runId)).status, 'cancelled');
  } finally {
    await h.close();
  }

  // No control worker from here on: only what the runs recorded answers.
  const client = await connectClient(h.config.temporal);
  try {
    const runs = new RunClient(client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: taskQueueForPool(`nobody-${randomSuffix()}`),
      store: h.store,
    });
    for (const runId of runIds) {
      const result = await runs.result(runId);
      assert.equal(result.status, 'cancelled');
      assert.deepEqual(table(result.stages), expected, `result of ${runId}`);
      const state = await runs.state(runId, { timeoutMs: 2_000 });
      assert.equal(state.status, 'cancelled');
      assert.deepEqual(table(state.stages), expected, `status of ${runId}`);
      // `fineflow rerun --from` reads the same recorded stages (before, only a worker's query had them).
      const original = await fetchOriginalRun(client, runId, { bucket: h.config.s3.bucket, store: h.store });
      assert.deepEqual(table(original.stages), expected, `rerun's view of ${runId}`);
    }
    const recorded = (await client.workflow.getHandle(runIds[1] as string).describe()).memo?.[CANCELLED_RESULT_MEMO];
    assert.ok((recorded as PipelineRunResult | undefined)?.stored, 'the cut result points to its table in the store');
  } finally {
    await client.connection.close();
  }
});

test('an ended run is read from its history without asking the workflow, with the params `retry --set` gave it', async () => {
  const h = await startRuntimeHarness();
  let runId: string;
  try {
    const plan = h.plan(
      'retried-params',
      [
        {
          id: 'gate',
          uses: 'test-fail-until-param',
          with: { value: '${{ params.p }}', expected: 2 },
          onFailure: 'pause',
        },
      ],
      { p: 1, q: 'kept' },
    );
    runId = await h.runs.submit(plan);
    await h.runs.watch(runId, () => undefined, { until: (s) => s.status === 'waiting' });
    await h.runs.retry(runId, { params: { p: 2 } });
    assert.equal((await h.runs.result(runId)).status, 'succeeded');
    assert.deepEqual((await h.runs.state(runId)).params, { p: 2, q: 'kept' }, 'what the workflow itself says');
  } finally {
    await h.close();
  }

  // No control worker from here on. A query would wait for one until its timeout: record whether one is asked.
  const queried: string[] = [];
  const client = await connectClient(h.config.temporal, {
    interceptors: {
      workflow: [
        {
          async query(input, next) {
            queried.push(input.queryType);
            return next(input);
          },
        },
      ],
    },
  });
  try {
    const runs = new RunClient(client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: taskQueueForPool(`nobody-${randomSuffix()}`),
    });
    const state = await runs.state(runId);
    assert.deepEqual(queried, [], 'an ended run is read from its history, not queried');
    assert.equal(state.status, 'succeeded');
    assert.deepEqual(state.params, { p: 2, q: 'kept' }, 'the params the retry set, as the workflow says');
    assert.deepEqual(
      state.stages.map((s) => [s.id, s.status, s.outputs?.value]),
      [['gate', 'succeeded', 2]],
    );
  } finally {
    await client.connection.close();
  }
  const status = await runCli(['status', runId, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as RunState).params, { p: 2, q: 'kept' });
});

test('the state of a running run describes its workflow once per poll', async () => {
  const h = await startRuntimeHarness();
  // Every describe() and query this client sends: `status --watch` polls state() once a second.
  const calls: string[] = [];
  const client = await connectClient(h.config.temporal, {
    interceptors: {
      workflow: [
        {
          async describe(input, next) {
            calls.push('describe');
            return next(input);
          },
          async query(input, next) {
            calls.push(`query ${input.queryType}`);
            return next(input);
          },
        },
      ],
    },
  });
  try {
    const runs = new RunClient(client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: taskQueueForPool(h.pools.control),
    });
    const plan = h.plan('describe-once', [{ id: 'slow', with: { value: 1, sleepMs: 20_000, steps: 20 } }]);
    const runId = await runs.submit(plan);
    await runs.watch(runId, () => undefined, { until: (s) => s.stages[0]?.status === 'running' });
    calls.length = 0;
    const state = await runs.state(runId);
    assert.equal(state.stages[0]?.status, 'running');
    assert.deepEqual(
      calls.filter((call) => call === 'describe'),
      ['describe'],
      `one describe per state(): ${calls.join(', ')}`,
    );
    await runs.cancel(runId);
  } finally {
    await client.connection.close();
    await h.close();
  }
});

test('a terminated run that continued as new reads without a worker as its last execution left it', async () => {
  const h = await startRuntimeHarness();
  const table = (stages: readonly StageState[]) =>
    stages.map((s) => [s.id, s.status, s.attempts, s.outputs?.value, s.reason ?? '']);
  const chain = Array.from({ length: 8 }, (_, i) => ({
    id: `s${i + 1}`,
    needs: i === 0 ? [] : [`s${i}`],
    with: { value: i === 0 ? 'seed' : `\${{ stages.s${i}.outputs.value }}` },
  }));
  let runId: string;
  let withWorker: RunState;
  try {
    // A 40-event history limit: the run continues as new between the chain's stages (the hook the bounded-history
    // tests use), then is terminated while `slow` runs in its latest execution.
    const runs = new RunClient(h.client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: h.runs.workflowTaskQueue,
      store: h.store,
      historyEventLimit: 40,
    });
    runId = await runs.submit(
      h.plan('terminated-continued', [
        ...chain,
        { id: 'slow', needs: ['s8'], with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
        { id: 'after', needs: ['slow'] },
      ]),
    );
    await runs.watch(runId, () => undefined, { until: (s) => s.stages[8]?.progress !== undefined });
    const handle = h.client.workflow.getHandle(runId);
    const latest = await handle.describe();
    assert.notEqual(latest.runId, latest.raw.workflowExecutionInfo?.firstRunId, 'the run continued as new');
    await handle.terminate('operator stopped it');
    // While a control worker answers: its query replays the latest execution (the reading to match).
    withWorker = await runs.state(runId, { timeoutMs: 10_000 });
  } finally {
    await h.close();
  }
  assert.equal(withWorker.status, 'terminated');
  assert.deepEqual(
    table(withWorker.stages).slice(0, 8),
    chain.map((s) => [s.id, 'succeeded', 1, 'seed', '']),
  );
  assert.equal(withWorker.stages[8]?.status, 'cancelled');

  // No control worker from here on: the history and the store answer.
  const client = await connectClient(h.config.temporal);
  try {
    const runs = new RunClient(client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: taskQueueForPool(`nobody-${randomSuffix()}`),
      store: h.store,
    });
    const state = await runs.state(runId, { timeoutMs: 2_000 });
    assert.equal(state.status, 'terminated');
    assert.deepEqual(table(state.stages), table(withWorker.stages), 'the stages as the terminated execution left them');
    assert.equal(state.stages[8]?.startedAt, withWorker.stages[8]?.startedAt);
  } finally {
    await client.connection.close();
  }
  const status = await runCli(['status', runId, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(table((JSON.parse(status.stdout) as RunState).stages), table(withWorker.stages), 'status --json');
  const text = await runCli(['status', runId]);
  assert.match(text.stdout, /slow\b.*cancelled/);
  const listed = await runCli(['runs', '--pipeline', withWorker.pipeline, '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(
    (JSON.parse(listed.stdout) as { runId: string; status: string }[]).some(
      (r) => r.runId === runId && r.status === 'terminated',
    ),
    listed.stdout,
  );
});

test('a terminated continued run reads its skipped stage, new fan-out and spent outage without a worker', async () => {
  const h = await startRuntimeHarness();
  // The stages under test begin after the run continued as new.
  const { stages: chain, last } = continuedChain();
  const plan = h.plan(
    'terminated-decisions',
    [
      ...chain,
      // Skipped by its condition: no event says so.
      { id: 'deploy', needs: [last], when: '${{ params.deploy }}' },
      // Instances made from items in the latest execution; the fan-in is no event either.
      {
        id: 'fan',
        needs: [last],
        fanOut: { forEach: ['a', 'b'], failFast: false, minSuccessRatio: 1 },
        with: { value: '${{ item }}' },
      },
      { id: 'gather', needs: ['fan'], with: { value: '${{ stages.fan.outputs.value }}' } },
      // A dependency that stays down past the stage's outage budget: the stage waits for a retry.
      {
        id: 'outage',
        needs: [last],
        uses: 'test-flaky',
        with: { failTimes: 1000, outage: true },
        onFailure: 'pause',
        retry: {
          maxAttempts: 1,
          initialIntervalMs: 200,
          backoffCoefficient: 1,
          maximumIntervalMs: 200,
          outageBudgetMs: 500,
        },
      },
      { id: 'slow', needs: [last], with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
    ],
    { deploy: false },
  );
  const stageOf = (s: RunState, id: string) => s.stages.find((stage) => stage.id === id);
  const { runId, withWorker } = await terminateContinuedRun(h, plan, {
    historyEventLimit: CHAIN_HISTORY_EVENT_LIMIT,
    until: (s) =>
      stageOf(s, 'outage')?.status === 'waiting' &&
      stageOf(s, 'gather')?.status === 'succeeded' &&
      stageOf(s, 'slow')?.progress !== undefined,
  });
  assert.equal(withWorker.status, 'terminated');
  const byId = new Map(withWorker.stages.map((s) => [s.id, s]));
  assert.equal(byId.get('deploy')?.status, 'skipped');
  assert.equal(byId.get('fan')?.status, 'succeeded');
  assert.deepEqual(byId.get('fan')?.outputs?.value, ['a', 'b']);
  assert.equal(byId.get('fan.1')?.instanceOf, 'fan');
  assert.equal(byId.get('outage')?.status, 'cancelled');
  assert.match(byId.get('outage')?.error?.message ?? '', /a dependency stayed unavailable for/);

  await assertReadsAsWorkerDid(h, runId, withWorker);
  const status = await runCli(['status', runId, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(
    stageTable((JSON.parse(status.stdout) as RunState).stages),
    stageTable(withWorker.stages),
    'status --json',
  );
});

test('a terminated continued run reads a stage its `when` skipped before a `retry --set` changed the param', async () => {
  const h = await startRuntimeHarness();
  const { stages: chain, last } = continuedChain();
  const plan = h.plan(
    'terminated-retry-set',
    [
      ...chain,
      // Skipped while `deploy` was false; the retry below sets it true, which must not undo that.
      { id: 'deploy', needs: [last], when: '${{ params.deploy }}' },
      {
        id: 'check',
        needs: [last],
        uses: 'test-fail-until-param',
        with: { value: '${{ params.fixed }}', expected: true },
        onFailure: 'pause',
      },
      { id: 'slow', needs: ['check'], with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
    ],
    { deploy: false, fixed: false },
  );
  const stageOf = (s: RunState, id: string) => s.stages.find((stage) => stage.id === id);
  const { runId, withWorker } = await terminateContinuedRun(h, plan, {
    historyEventLimit: CHAIN_HISTORY_EVENT_LIMIT,
    midway: {
      when: (s) => stageOf(s, 'check')?.status === 'waiting',
      act: (runs, id) => runs.retry(id, { stageId: 'check', params: { fixed: true, deploy: true } }),
    },
    until: (s) => stageOf(s, 'slow')?.progress !== undefined,
  });
  assert.equal(stageOf(withWorker, 'deploy')?.status, 'skipped');
  assert.equal(stageOf(withWorker, 'check')?.status, 'succeeded');
  assert.deepEqual(withWorker.params, { deploy: true, fixed: true });
  const state = await assertReadsAsWorkerDid(h, runId, withWorker);
  assert.deepEqual(state.params, { deploy: true, fixed: true });
});

test('a run terminated while it drains towards continue-as-new reads without a worker as the draining execution left it', async () => {
  const h = await startRuntimeHarness();
  const { stages: chain, last } = continuedChain();
  // After the chain, in the latest execution: `slow` keeps it from continuing as new, while `d1`…`d30` grow its history
  // past the limit. Each `dN` has a sibling `kN` a false `when` skips, a decision no event records: the task that sees
  // `dN` end takes it, unless that task is draining, which decides nothing.
  const links = Array.from({ length: 30 }, (_, i) => i + 1);
  const plan = h.plan(
    'terminated-draining',
    [
      ...chain,
      { id: 'slow', needs: [last], with: { sleepMs: 120_000, steps: 120 }, heartbeatTimeoutMs: 5_000 },
      ...links.flatMap((n) => [
        { id: `d${n}`, needs: [n === 1 ? last : `d${n - 1}`] },
        { id: `k${n}`, needs: [`d${n}`], when: '${{ params.deploy }}' },
      ]),
    ],
    { deploy: false },
  );
  const stageOf = (s: RunState, id: string) => s.stages.find((stage) => stage.id === id);
  // Draining: a link ended and its sibling was left undecided (a deciding task would have skipped it at once).
  const undecided = (s: RunState): string[] =>
    links
      .filter((n) => stageOf(s, `d${n}`)?.status === 'succeeded' && stageOf(s, `k${n}`)?.status === 'pending')
      .map((n) => `k${n}`);
  const { runId, withWorker } = await terminateContinuedRun(h, plan, {
    historyEventLimit: CHAIN_HISTORY_EVENT_LIMIT,
    until: (s) => undecided(s).length > 0 && stageOf(s, 'slow')?.progress !== undefined,
  });
  assert.equal(withWorker.status, 'terminated');
  assert.equal(undecided(withWorker).length, 1, 'one link ended while the execution drained');
  assert.equal(stageOf(withWorker, 'k1')?.status, 'skipped', 'the links before the drain were decided');
  assert.equal(stageOf(withWorker, 'slow')?.status, 'cancelled');

  const state = await assertReadsAsWorkerDid(h, runId, withWorker);
  assert.deepEqual(undecided(state), undecided(withWorker));
});

test('a terminated run reads a stage waiting for a `parallelism:` slot as pending, though its inputs do not resolve', async () => {
  const h = await startRuntimeHarness();
  const { stages: chain, last } = continuedChain();
  // One stage at a time: `slow` takes the slot, and `bad`, ready beside it, waits for it. Its input names an output
  // `last` never produced: the workflow fails it once it gets the slot, which `slow` holds until the run is stopped.
  const plan: Plan = {
    ...h.plan('terminated-slot', [
      ...chain,
      { id: 'slow', needs: [last], with: { sleepMs: 120_000, steps: 120 }, heartbeatTimeoutMs: 5_000 },
      { id: 'bad', needs: [last], with: { value: `\${{ stages.${last}.outputs.missing }}` } },
    ]),
    parallelism: 1,
  };
  const stageOf = (s: RunState, id: string) => s.stages.find((stage) => stage.id === id);
  const { runId, withWorker } = await terminateContinuedRun(h, plan, {
    historyEventLimit: CHAIN_HISTORY_EVENT_LIMIT,
    until: (s) => stageOf(s, 'slow')?.progress !== undefined,
  });
  assert.equal(withWorker.status, 'terminated');
  assert.equal(stageOf(withWorker, 'slow')?.status, 'cancelled');
  assert.equal(stageOf(withWorker, 'bad')?.status, 'pending', 'no slot came free for it');
  const state = await assertReadsAsWorkerDid(h, runId, withWorker);
  assert.equal(stageOf(state, 'bad')?.status, 'pending');
});
