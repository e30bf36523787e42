/**
 * The stage cache end to end, on the real Temporal dev server and MinIO with in-process workers:
 * - a second submit of an unchanged pipeline runs no stage;
 * - changing one param reruns only the stages whose key it changes;
 * - deleting a cached artifact makes the next run recompute that stage instead of failing;
 * - `rerun --from` reruns exactly the named stage and its descendants.
 *
 * The stages write files whose bytes are a function of their inputs and of the bytes of the
 * files they read, like real data stages, so digests behave as they do in production.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { StageImplementation } from '../../../activities/stage-runner';
import { RunClient } from '../../../src/client/run-client';
import { EXIT } from '../../../src/cli/command';
import { startRerun } from '../../../src/client/rerun';
import { main } from '../../../src/cli/main';
import { annotateCache, explainCache } from '../../../src/cli/explain-cache';
import type { FineflowConfig } from '../../../src/config';
import { canonicalJson } from '../../../src/canonical-json';
import type { PipelineRunResult, StageState } from '../../../src/core/run/run-types';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { connectClient, connectWorker } from '../../../src/client/temporal-connection';
import type { JsonObject, JsonValue, Plan } from '../../../src/core/spec/plan-types';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { createWorker, type FineflowWorker } from '../../../src/worker/run-worker';
import { makePlan } from '../../fixtures/runtime/plans';
import { requireStack } from '../../helpers/stack';
import { stages as testStages } from '../../stage-types';

/**
 * `cache-e2e-write`: writes `out.json` = canonical JSON of its inputs, with every `s3://` input
 * replaced by the text of the object it names. Returns the file URI and declares it as an artifact.
 */
const writeStage: StageImplementation = async ({ context, inputs }, runtime) => {
  const expand = async (value: JsonValue): Promise<JsonValue> => {
    if (typeof value === 'string' && value.startsWith('s3://'))
      return (await runtime.store.getBytes(value)).toString('utf8');
    if (Array.isArray(value)) return Promise.all(value.map((item: JsonValue) => expand(item)));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(value as JsonObject)) out[key] = await expand(item);
      return out;
    }
    return value;
  };
  const content = canonicalJson({ stage: context.stageId, inputs: await expand(inputs) });
  const written = await runtime.store.putBytes(`${context.outputPrefix}out.json`, content);
  runtime.log(`wrote ${written.uri} (${written.size} bytes)`);
  return {
    outputs: { file: written.uri, size: written.size },
    artifacts: [{ uri: written.uri, sha256: written.sha256 }],
  };
};

const cached = { enabled: true } as const;

/**
 *       a(p1) ── b(p2) ── c
 *       d(p1)
 * a and d read p1; b reads a and p2; c reads b.
 */
function pipeline(name: string, pool: string, params: { p1: string; p2: number }): Plan {
  // Keys are content-addressed across pipelines and runs: the salt keeps earlier test runs' entries out.
  const salt = name;
  return makePlan(
    name,
    [
      { id: 'a', uses: 'cache-e2e-write', pool, cache: cached, with: { salt, value: '${{ params.p1 }}' } },
      {
        id: 'b',
        uses: 'cache-e2e-write',
        pool,
        cache: cached,
        needs: ['a'],
        with: { salt, from: '${{ stages.a.outputs.file }}', factor: '${{ params.p2 }}' },
      },
      {
        id: 'c',
        uses: 'cache-e2e-write',
        pool,
        cache: cached,
        needs: ['b'],
        with: { salt, from: '${{ stages.b.outputs.file }}' },
      },
      { id: 'd', uses: 'cache-e2e-write', pool, cache: cached, with: { salt, value: 'side-${{ params.p1 }}' } },
    ],
    params,
  );
}

function statuses(result: PipelineRunResult): Record<string, StageState['status']> {
  return Object.fromEntries(result.stages.map((s) => [s.id, s.status]));
}

const extraStages = { ...testStages, 'cache-e2e-write': writeStage };

void describe('stage cache end to end (Temporal + MinIO)', () => {
  let config: FineflowConfig;
  let store: ObjectStore;
  let connection: NativeConnection;
  let client: Client;
  let runs: RunClient;
  const workers: FineflowWorker[] = [];
  const running: Promise<void>[] = [];
  const suffix = randomBytes(4).toString('hex');
  const pools = { control: `control-${suffix}`, cpu: `cpu-${suffix}` };
  /** A pipeline name of its own per test file run, so earlier runs' entries do not interfere. */
  const name = `cache-e2e-${suffix}`;

  async function submitAndWait(plan: Plan): Promise<{ runId: string; result: PipelineRunResult }> {
    const runId = await runs.submit(plan);
    return { runId, result: await runs.result(runId) };
  }

  before(async () => {
    config = await requireStack();
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // installed by another suite in this process
    }
    store = createObjectStoreFromConfig(config);
    await store.ensureBucket(config.s3.bucket);
    connection = await connectWorker(config.temporal);
    client = await connectClient(config.temporal);
    runs = new RunClient(client, { bucket: config.s3.bucket, workflowTaskQueue: taskQueueForPool(pools.control) });
    for (const options of [
      { pool: pools.control, runsWorkflows: true },
      { pool: pools.cpu, concurrency: 4 },
    ]) {
      const worker = await createWorker({ config, store, connection, extraStages, shutdownGraceMs: 2_000, ...options });
      workers.push(worker);
      running.push(worker.run());
    }
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.shutdown()));
    await Promise.allSettled(running);
    await connection?.close();
    await client?.connection.close();
  });

  let firstRunId = '';
  /** A run whose every output still exists (after the deletion test). */
  let intactRunId = '';

  void it('a second submit of an unchanged pipeline runs no stage again', async () => {
    const first = await submitAndWait(pipeline(name, pools.cpu, { p1: 'x', p2: 2 }));
    firstRunId = first.runId;
    assert.equal(first.result.status, 'succeeded');
    assert.deepEqual(statuses(first.result), { a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded' });
    const second = await submitAndWait(pipeline(name, pools.cpu, { p1: 'x', p2: 2 }));
    assert.deepEqual(statuses(second.result), { a: 'cached', b: 'cached', c: 'cached', d: 'cached' });
    for (const stage of second.result.stages)
      assert.match(stage.reason ?? '', new RegExp(`^cache hit from run ${first.runId}`));
    // The cached outputs are the first run's.
    const c = second.result.stages.find((s) => s.id === 'c');
    assert.equal(c?.outputs?.file, `s3://${config.s3.bucket}/runs/${first.runId}/c/out.json`);
  });

  void it('plan --explain-cache predicts what a changed param reruns, and the run agrees', async () => {
    const changed = pipeline(name, pools.cpu, { p1: 'x', p2: 3 });
    const explained = await explainCache(changed, store, config.s3.bucket);
    assert.deepEqual(
      explained.map((e) => [e.stageId, e.prediction]),
      [
        ['a', 'hit'],
        ['b', 'miss'],
        ['c', 'depends'],
        ['d', 'hit'],
      ],
    );
    assert.match(explained[1]?.reason ?? '', /params\.p2 2 → 3, with\.factor 2 → 3/);
    // What `fineflow plan --explain-cache` draws next to each stage of the DAG.
    const notes = await annotateCache(changed, {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      env: process.env,
      cwd: process.cwd(),
    });
    assert.match(notes.get('a') ?? '', /^cache hit \(run /);
    assert.match(notes.get('b') ?? '', /^runs: changed since run .+: params\.p2 2 → 3/);
    assert.match(notes.get('c') ?? '', /^runs unless upstream reproduces its outputs: upstream b will run/);
    const run = await submitAndWait(changed);
    // p2 changes b's key; b's new bytes change c's; a and d do not read p2.
    assert.deepEqual(statuses(run.result), { a: 'cached', b: 'succeeded', c: 'succeeded', d: 'cached' });
  });

  void it('deleting a cached artifact makes the next run recompute that stage instead of failing', async () => {
    await store.remove(`s3://${config.s3.bucket}/runs/${firstRunId}/a/out.json`);
    const run = await submitAndWait(pipeline(name, pools.cpu, { p1: 'x', p2: 2 }));
    intactRunId = run.runId;
    assert.equal(run.result.status, 'succeeded');
    const byId = Object.fromEntries(run.result.stages.map((s) => [s.id, s]));
    assert.equal(byId.a?.status, 'succeeded', 'a recomputed');
    // a reproduced the same bytes: b's key is unchanged and its entry (from the first run) still verifies.
    assert.equal(byId.b?.status, 'cached');
    assert.equal(byId.c?.status, 'cached');
    assert.equal(byId.d?.status, 'cached');
  });

  void it('rerun --from reruns exactly the named stage and its descendants', async () => {
    const started = await startRerun(runs, store, { runId: intactRunId, fromStage: 'b' });
    assert.deepEqual(started.selection.rerun, ['b', 'c']);
    const result = await runs.result(started.runId);
    assert.equal(result.status, 'succeeded');
    const byId = Object.fromEntries(result.stages.map((s) => [s.id, s]));
    assert.deepEqual(
      { a: byId.a?.status, b: byId.b?.status, c: byId.c?.status, d: byId.d?.status },
      { a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded' },
    );
    assert.equal(byId.a?.reason, `reused from run ${intactRunId}`);
    assert.equal(byId.d?.reason, `reused from run ${intactRunId}`);
    assert.equal(byId.a?.attempts, 0, 'a reused stage never ran');
    // b and c really ran in the new run (the cache was bypassed): their outputs live under its prefix.
    assert.equal(byId.b?.attempts, 1);
    assert.equal(byId.b?.outputs?.file, `s3://${config.s3.bucket}/runs/${started.runId}/b/out.json`);
    assert.equal(byId.c?.outputs?.file, `s3://${config.s3.bucket}/runs/${started.runId}/c/out.json`);
    // Lineage: the new run names the original run and stage.
    const state = await runs.state(started.runId);
    assert.deepEqual(state.trigger, {
      kind: 'rerun',
      fromRunId: intactRunId,
      fromStage: 'b',
      origin: { kind: 'manual' },
    });
  });

  void it('rerun does not reuse a stage whose artifact was deleted: it runs again (here served by the cache)', async () => {
    // The first run's `a` output was deleted above; the cache now holds the recomputed `a`.
    const started = await startRerun(runs, store, { runId: firstRunId, fromStage: 'c' });
    assert.deepEqual(started.selection.rerun, ['a', 'c']);
    assert.match(
      started.selection.notes[0] ?? '',
      /^stage a cannot be reused from run .+ \(artifact s3:\/\/.+\/a\/out\.json missing\)/,
    );
    const result = await runs.result(started.runId);
    assert.equal(result.status, 'succeeded');
    const byId = Object.fromEntries(result.stages.map((s) => [s.id, s]));
    assert.deepEqual(
      { a: byId.a?.status, b: byId.b?.status, c: byId.c?.status, d: byId.d?.status },
      { a: 'cached', b: 'succeeded', c: 'succeeded', d: 'succeeded' },
    );
    assert.equal(byId.a?.reason?.startsWith(`cache hit from run ${intactRunId}`), true);
    assert.equal(byId.c?.attempts, 1);
  });

  void it('rerun --set applies a param override to the rerun stages', async () => {
    const started = await startRerun(runs, store, { runId: intactRunId, fromStage: 'c', set: { p2: '5' } });
    assert.deepEqual(started.selection.rerun, ['c']);
    assert.equal(started.selection.plan.params.p2?.value, 5);
    assert.deepEqual(started.selection.notes, [
      `stage b is reused from run ${intactRunId} but reads params.p2, which --set changes; rerun --from b to apply it there too`,
    ]);
    assert.equal((await runs.result(started.runId)).status, 'succeeded');
  });

  void it(
    'fineflow rerun --watch follows the new run, on the control pool of the original',
    { timeout: 120_000 },
    async () => {
      // No worker polls the default control queue: the rerun starts on the queue the original ran on (this file's
      // control pool). It needed a worker on `control`, which every other test file and user shares.
      const out = { stdout: '', stderr: '' };
      const stream = (key: 'stdout' | 'stderr') =>
        new PassThrough().on('data', (chunk: Buffer) => (out[key] += chunk.toString()));
      const io = { stdout: stream('stdout'), stderr: stream('stderr'), env: process.env, cwd: process.cwd() };
      assert.equal(await main(['rerun', intactRunId, '--from', 'c', '--watch'], io), EXIT.ok, out.stderr);
      const rerunId = /^started run (\S+): rerun of /.exec(out.stdout)?.[1] ?? '';
      assert.match(out.stdout, /\bc succeeded\b/);
      // a and b did not run: the watch says so as the rerun's header and the UI do.
      assert.match(out.stdout, /\ba reused from run \S+/);
      assert.match(out.stdout, /\bb reused from run \S+/);
      assert.doesNotMatch(out.stdout, /\b[ab] succeeded\b/);
      assert.match(out.stdout, /\brun succeeded\b/);
      assert.doesNotMatch(out.stdout, /watch it with/, 'it follows the run instead');
      assert.equal((await runs.state(rerunId)).status, 'succeeded', 'it returned once the run had ended');
      assert.equal((await client.workflow.getHandle(rerunId).describe()).taskQueue, taskQueueForPool(pools.control));
    },
  );

  void it('fineflow rerun names an unknown run and refuses a stage the run does not have (exit 1)', async () => {
    const io = () => {
      const out = { stdout: '', stderr: '' };
      const stream = (key: 'stdout' | 'stderr') =>
        new PassThrough().on('data', (chunk: Buffer) => (out[key] += chunk.toString()));
      return { out, io: { stdout: stream('stdout'), stderr: stream('stderr'), env: process.env, cwd: process.cwd() } };
    };
    const unknown = io();
    assert.equal(await main(['rerun', `no-such-run-${suffix}`, '--from', 'a'], unknown.io), EXIT.failure);
    assert.match(unknown.out.stderr, new RegExp(`no run no-such-run-${suffix}; list runs with \`fineflow runs\``));
    const typo = io();
    assert.equal(await main(['rerun', intactRunId, '--from', 'bb', '--json'], typo.io), EXIT.failure);
    assert.match(typo.out.stderr, /has no stage bb; did you mean b\?/);
  });

  void it('rerun starts from the params the run ended with, including those changed by retry --set', async () => {
    const plan = makePlan(
      `${name}-retry`,
      [
        {
          id: 'check',
          uses: 'test-fail-until-param',
          pool: pools.cpu,
          onFailure: 'pause',
          cache: cached,
          with: { value: '${{ params.v }}', expected: 'good', salt: name },
        },
      ],
      { v: 'bad' },
    );
    const runId = await runs.submit(plan);
    const deadline = Date.now() + 20_000;
    while ((await runs.state(runId)).status !== 'waiting') {
      assert.ok(Date.now() < deadline, 'the stage waits for a retry');
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await runs.retry(runId, { stageId: 'check', params: { v: 'good' } });
    assert.equal((await runs.result(runId)).status, 'succeeded');
    const started = await startRerun(runs, store, { runId, fromStage: 'check' });
    assert.equal(started.selection.plan.params.v?.value, 'good');
    const result = await runs.result(started.runId);
    assert.equal(result.status, 'succeeded');
    assert.equal(result.stages[0]?.attempts, 1, 'ran once, with the fixed param');
  });
});
