/**
 * Several `fineflow worker` processes on one pool: both take work, and SIGTERM drains a
 * worker (a stage that finishes within the grace period completes there; one that does not
 * is cancelled and retried on the other worker).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { RunState } from '../../../src/core/run/run-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { WorkerNotReadyError, spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';
import { waitForRunState } from '../../helpers/run-state';

let h: RuntimeHarness;
const processes: WorkerProcess[] = [];
before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
});
after(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await h?.close();
});

async function workers(pool: string, count: number, graceMs: number): Promise<WorkerProcess[]> {
  const started = await Promise.all(
    Array.from({ length: count }, () => spawnWorker({ pool, graceMs, concurrency: 2 })),
  );
  processes.push(...started);
  return started;
}

const waitForState = (runId: string, predicate: (state: RunState) => boolean, timeoutMs = 30_000) =>
  waitForRunState(h.runs, runId, predicate, { timeoutMs, pollMs: 100 });

const retry = { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 200 };

test('two worker processes on one pool both take work', async () => {
  const pool = `shared-${randomSuffix()}`;
  const [a, b] = await workers(pool, 2, 1_000);
  const stages = Array.from({ length: 8 }, (_, i) => ({
    id: `s${i}`,
    pool,
    with: { value: i, sleepMs: 1_000, steps: 2 },
  }));
  const result = await h.runs.result(await h.runs.submit(h.plan('fan-out', stages)));
  assert.equal(result.status, 'succeeded');
  const pids = new Set(result.stages.map((s) => s.outputs?.pid));
  assert.deepEqual([...pids].sort(), [a!.pid, b!.pid].sort(), `both workers ran stages: ${JSON.stringify([...pids])}`);
  // A pool worker runs no workflows by design: the SDK's warning about it is not shown to operators.
  for (const worker of [a!, b!]) assert.doesNotMatch(worker.output(), /No workflows registered/);
});

test('SIGTERM mid-stage: a stage longer than the grace period moves to the other worker', async () => {
  const pool = `move-${randomSuffix()}`;
  const [a, b] = await workers(pool, 2, 1_000);
  const plan = h.plan('sigterm-move', [
    { id: 'long', pool, with: { value: 'v', sleepMs: 6_000, steps: 12 }, retry, heartbeatTimeoutMs: 3_000 },
  ]);
  const runId = await h.runs.submit(plan);
  const running = await waitForState(runId, (s) => typeof s.stages[0]?.progress?.detail?.pid === 'number');
  const firstPid = running.stages[0]?.progress?.detail?.pid;
  const victim = [a!, b!].find((p) => p.pid === firstPid);
  const survivor = [a!, b!].find((p) => p.pid !== firstPid);
  assert.ok(victim && survivor, `the stage runs on one of our workers (pid ${String(firstPid)})`);
  const code = await victim.stop('SIGTERM');
  assert.equal(code, 0, `the worker drains and exits cleanly:\n${victim.output()}`);
  // That the worker did not wait for the stage is what these two say: had it waited, the stage would have ended on
  // it, in attempt 1. (A bound on the stop's duration, < 10 s, could not tell: waiting for a 6 s stage is < 10 s.)
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded');
  assert.equal(result.stages[0]?.outputs?.pid, survivor.pid, 'the stage finished on the other worker');
  assert.equal(result.stages[0]?.attempts, 2);
});

test('SIGTERM mid-stage: a stage within the grace period finishes on the draining worker', async () => {
  const pool = `drain-${randomSuffix()}`;
  const [only] = await workers(pool, 1, 20_000);
  const plan = h.plan('sigterm-drain', [{ id: 'short', pool, with: { value: 'v', sleepMs: 3_000, steps: 6 }, retry }]);
  const runId = await h.runs.submit(plan);
  await waitForState(runId, (s) => typeof s.stages[0]?.progress?.detail?.pid === 'number');
  const code = await only!.stop('SIGTERM');
  assert.equal(code, 0, only!.output());
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded');
  assert.equal(result.stages[0]?.outputs?.pid, only!.pid);
  assert.equal(result.stages[0]?.attempts, 1);
});

test('a worker against a Temporal address nothing listens on exits 3 at once, naming it and the fix', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const address = `127.0.0.1:${port}`;
  // The store is the real one (the worker checks its bucket first); only Temporal's address is wrong.
  const started = performance.now();
  const error = await spawnWorker({ pool: `refused-${randomSuffix()}`, env: { TEMPORAL_ADDRESS: address } }).then(
    () => assert.fail('the worker became ready against a closed port'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof WorkerNotReadyError, String(error));
  const text = error.message;
  assert.match(text, /worker exited \(3\) before it was ready/);
  assert.match(
    text,
    new RegExp(`cannot reach Temporal at ${address.replace(/\./g, '\\.')} \\(namespace \\S+\\): nothing listens`),
  );
  assert.match(text, new RegExp(`TEMPORAL_ADDRESS=${address.replace(/\./g, '\\.')} chose it: start the local stack`));
  assert.doesNotMatch(text, /tonic|ConnectError|^\s+at /m, 'no core debug dump, no stack trace');
  // A worker's start-up (tsx, the store's bucket check) takes seconds on a loaded machine; the refusal itself
  // is one TCP round trip. 30 s is well under the 60 s ready timeout a retrying connect would run into.
  assert.ok(performance.now() - started < 30_000, `took ${Math.round(performance.now() - started)} ms`);
});

test('a worker whose FINEFLOW_BUCKET its credentials may not use names the variable first, not only the keys', async () => {
  const { FINEFLOW_WORKER_S3_ACCESS_KEY: accessKey, FINEFLOW_WORKER_S3_SECRET_KEY: secretKey } = process.env;
  assert.ok(accessKey && secretKey, 'the test stack exports the worker user (infra/stack-env.sh)');
  const bucket = `not-the-stack-${randomSuffix()}`;
  const error = await spawnWorker({
    pool: `bucket-${randomSuffix()}`,
    env: { FINEFLOW_S3_ACCESS_KEY: accessKey, FINEFLOW_S3_SECRET_KEY: secretKey, FINEFLOW_BUCKET: bucket },
  }).then(
    () => assert.fail('the worker became ready with a bucket its policy does not cover'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof WorkerNotReadyError, String(error));
  assert.match(error.message, /worker exited \(1\) before it was ready/);
  assert.match(
    error.message,
    new RegExp(
      `bucket ${bucket} \\(FINEFLOW_BUCKET\\): these credentials may not check or create it \\(access denied\\)`,
    ),
  );
  assert.match(error.message, /Set FINEFLOW_BUCKET to the bucket your stack uses .* or check FINEFLOW_S3_ACCESS_KEY/);
  assert.ok(!error.message.includes(secretKey), 'the secret key is never printed');
  assert.doesNotMatch(error.message, /^\s+at /m, 'no stack trace');
});
