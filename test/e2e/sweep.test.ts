/**
 * A hyperparameter sweep across a pool of TWO worker processes, on the real stack: the sweep
 * workflow runs on an in-process control worker; its trial segments run on two separate
 * `trial-worker.ts` processes polling the same `train` pool queue, each training in a forked
 * child process as in production. The results table records which worker ran every segment
 * and when, which is what the assertions read: trials ran on both workers, and in parallel.
 * A second test SIGKILLs one worker mid-sweep: its segment is retried on the survivor and the
 * sweep still finishes every trial.
 *
 * Run with: bash scripts/test.sh integration test/e2e/sweep.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { FineflowConfig } from '../../src/config';
import { connectClient, connectWorker, dataConverterFor } from '../../src/client/temporal-connection';
import { taskQueueForPool } from '../../src/core/run/task-queues';
import type { SweepResultsDocument } from '../../src/core/sweep/sweep-results';
import type { SegmentRecord, SweepExecution } from '../../src/core/sweep/sweep-types';
import { createObjectStoreFromConfig } from '../../src/storage/minio-store';
import type { ObjectStore } from '../../src/storage/object-store';
import { requireStack } from '../helpers/stack';
import {
  quietTemporalRuntime,
  randomSuffix,
  startSweep,
  sweepStageLog,
  sweepWorkflowBundle,
  writeSweepData,
  type SweepData,
} from '../integration/sweep/sweep-fixture';

const TRIAL_WORKER = path.join(__dirname, '../integration/sweep/trial-worker.ts');

interface TrialWorkerProcess {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
  output(): string;
}

function spawnTrialWorker(pool: string, identity: string): Promise<TrialWorkerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', TRIAL_WORKER, '--pool', pool, '--identity', identity, '--concurrency', '1'],
    { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      text += `${line}\n`;
      if (line.includes('"event":"ready"')) resolve({ identity, child, exited, output: () => text });
    });
    void exited.then((code) =>
      reject(new Error(`trial worker ${identity} exited (${code}) before it was ready:\n${text}`)),
    );
    setTimeout(() => reject(new Error(`trial worker ${identity} not ready after 60 s:\n${text}`)), 60_000).unref();
  });
}

let config: FineflowConfig;
let store: ObjectStore;
let client: Client;
let connection: NativeConnection;
let data: SweepData;
let control: Worker;
let controlRunning: Promise<void>;
const suffix = randomSuffix();
const controlPool = `sweep-e2e-control-${suffix}`;
const processes: TrialWorkerProcess[] = [];

before(async () => {
  quietTemporalRuntime();
  config = await requireStack();
  store = createObjectStoreFromConfig(config);
  data = await writeSweepData(store, config.s3.bucket, `sweep-e2e-${suffix}`);
  connection = await connectWorker(config.temporal);
  client = await connectClient(config.temporal);
  control = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config.temporal),
    taskQueue: taskQueueForPool(controlPool),
    workflowBundle: await sweepWorkflowBundle(),
  });
  controlRunning = control.run();
});

after(async () => {
  for (const worker of processes)
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  await Promise.all(processes.map((worker) => worker.exited));
  control?.shutdown();
  await controlRunning;
  await connection?.close();
  await client?.connection.close();
});

function overlaps(a: SegmentRecord, b: SegmentRecord): boolean {
  return a.startedAtMs < b.endedAtMs && b.startedAtMs < a.endedAtMs;
}

function execution(pool: string, extra: Partial<SweepExecution> = {}): SweepExecution {
  return {
    pool,
    segmentTimeoutMs: 120_000,
    heartbeatTimeoutMs: 10_000,
    retry: { maxAttempts: 3, initialIntervalMs: 200, backoffCoefficient: 1, maximumIntervalMs: 500 },
    ...extra,
  };
}

test('trials spread over two worker processes and run in parallel', { timeout: 300_000 }, async () => {
  const pool = `sweep-e2e-train-${suffix}`;
  const workers = await Promise.all([
    spawnTrialWorker(pool, `trainer-a-${suffix}`),
    spawnTrialWorker(pool, `trainer-b-${suffix}`),
  ]);
  processes.push(...workers);
  const runId = `sweep-e2e-${suffix}`;
  const sweep = await startSweep(client, {
    taskQueue: taskQueueForPool(controlPool),
    runId,
    bucket: config.s3.bucket,
    execution: execution(pool),
    inputs: {
      model: data.baseModel,
      data: data.dataset,
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      algorithm: 'random',
      earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1 },
      maxTrials: 4,
      parallelism: 2,
      seed: 11,
      space: { learningRate: { logUniform: [0.001, 0.05] }, batchSize: { choice: [8, 16] } },
      trial: { epochs: 3, freeze: 'none', seed: 2 },
    },
  });
  const result = await sweep.result();
  const document = await store.getJson<SweepResultsDocument>(result.outputs.results as string);
  const identities = new Set(document.segments.map((segment) => segment.worker));
  assert.deepEqual(
    [...identities].sort(),
    workers.map((worker) => worker.identity).sort(),
    `segments ran on: ${JSON.stringify(document.segments)}`,
  );
  const parallel = document.segments.some((a) =>
    document.segments.some((b) => a.worker !== b.worker && overlaps(a, b)),
  );
  assert.ok(parallel, `some segments on different workers overlap in time: ${JSON.stringify(document.segments)}`);
  assert.equal(document.rows.length, 4);
  assert.ok(
    document.rows.every((row) => row.status === 'completed' || row.status === 'stopped'),
    JSON.stringify(document.rows),
  );
  assert.ok(await store.stat(result.outputs.bestModel as string));
  const busy = document.segments.reduce((sum, segment) => sum + (segment.endedAtMs - segment.startedAtMs), 0);
  const wall =
    Math.max(...document.segments.map((s) => s.endedAtMs)) - Math.min(...document.segments.map((s) => s.startedAtMs));
  // One log for the stage, written by the workflow alone: whole lines, naming where each segment ran.
  const log = await sweepStageLog(store, config.s3.bucket, runId);
  for (const line of log.trim().split('\n').slice(1))
    assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z (sweep|trial \d+) /);
  for (const worker of workers)
    assert.match(log, new RegExp(`segment epochs \\d+-\\d+ ran on ${worker.identity} in [\\d.]+ s`));
  assert.match(
    log,
    /finished with validation\.accuracy=[\d.]+ after 3 epoch\(s\) \(backend [\w-]+, engine (graph|eager)\)/,
  );
  process.stdout.write(
    `# ${document.segments.length} segments on ${identities.size} workers: ${busy} ms of training in ${wall} ms wall clock\n`,
  );
});

test(
  'a worker killed mid-sweep: its segment is retried on the other worker, every trial finishes',
  { timeout: 300_000 },
  async () => {
    const pool = `sweep-e2e-crash-${suffix}`;
    const [victim, survivor] = await Promise.all([
      spawnTrialWorker(pool, `victim-${suffix}`),
      spawnTrialWorker(pool, `survivor-${suffix}`),
    ]);
    processes.push(victim as TrialWorkerProcess, survivor as TrialWorkerProcess);
    const runId = `sweep-e2e-crash-${suffix}`;
    const sweep = await startSweep(client, {
      taskQueue: taskQueueForPool(controlPool),
      runId,
      bucket: config.s3.bucket,
      execution: execution(pool, { heartbeatTimeoutMs: 4_000 }),
      inputs: {
        model: data.baseModel,
        data: data.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        algorithm: 'random',
        maxTrials: 3,
        parallelism: 2,
        seed: 4,
        space: { learningRate: { logUniform: [0.001, 0.05] } },
        // Small batches and many epochs: a segment is still training when the worker dies.
        trial: { epochs: 30, batchSize: 4, freeze: 'none', seed: 2 },
      },
    });
    // The first two trials start together, one per worker (each takes one segment at a time).
    // Kill the victim once both have checkpointed epoch 2, so whichever it runs is mid-training.
    const deadline = Date.now() + 120_000;
    let killed = false;
    while (!killed && Date.now() < deadline) {
      const objects = await store.list(`s3://${config.s3.bucket}/runs/${runId}/sweep/trials/`);
      // Epoch 2 or later: a trial keeps only its newest checkpoints (and its best epoch's) as it trains.
      const checkpointed = (trial: string): boolean =>
        objects.some(
          (object) =>
            Number(new RegExp(`${trial}/checkpoints/epoch-(\\d{4})/checkpoint\\.json$`).exec(object.key)?.[1]) >= 2,
        );
      if (checkpointed('trial-0000') && checkpointed('trial-0001')) {
        victim?.child.kill('SIGKILL');
        killed = true;
      } else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(killed, 'a trial checkpointed within 2 minutes');
    const result = await sweep.result();
    const document = await store.getJson<SweepResultsDocument>(result.outputs.results as string);
    assert.equal(document.rows.length, 3);
    assert.ok(
      document.rows.every((row) => row.status === 'completed' && row.epochs === 30),
      JSON.stringify(document.rows),
    );
    // Every successful segment that finished after the kill ran on the survivor.
    // The killed segment was retried on the survivor and resumed from the victim's last checkpoint.
    const retried = document.segments.filter((segment) => segment.attempt > 1);
    assert.ok(retried.length >= 1, `a segment was retried: ${JSON.stringify(document.segments)}`);
    for (const segment of retried) {
      assert.equal(segment.worker, survivor?.identity, JSON.stringify(segment));
      assert.ok(
        segment.resumedFromEpoch >= 2,
        `the retry resumed from a checkpoint, not from scratch: ${JSON.stringify(segment)}`,
      );
    }
    assert.match(
      await sweepStageLog(store, config.s3.bucket, runId),
      new RegExp(`ran on ${survivor?.identity ?? '?'} \\(attempt [2-9], resumed from epoch \\d+\\)`),
    );
    process.stdout.write(`# retried after the kill: ${JSON.stringify(retried)}\n`);
  },
);
