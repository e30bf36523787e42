/**
 * Kill the training child process mid-run and watch the retry resume: a `fine-tune` stage runs
 * on an in-process worker (real Temporal dev server, real MinIO, training in a forked child
 * process as in production). At an epoch drawn from the property seed (test/helpers/property-seed.mjs: the
 * same epoch on every CI run, another with FINEFLOW_PROPERTY_SEED=N|random) the test SIGKILLs the training child, with the
 * SDK's heartbeat throttling in force; the attempt fails (retryable), Temporal retries it, and the
 * second attempt resumes from the newest verified checkpoint in the store (not from the stale
 * heartbeat details) and trains only the epochs the first did not finish.
 *
 * Run with: bash scripts/test.sh integration test/e2e/fine-tune-resume.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fc from 'fast-check';
import { createFineTuneStage, fineTuneStage } from '../../activities/fine-tune';
import { runTrainingInChildProcess } from '../../src/ml/train/child-runner';
import { loadGraphAddon } from '../../src/ml/graph/tf-graph';
import { loadMnist } from '../../src/ml/generators/mnist';
import { writeDataset } from '../../src/ml/data/write-dataset';
import { listStageLogs, stageLogText as readLogText } from '../../src/client/run-logs';
import type { RunState } from '../../src/core/run/run-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../fixtures/runtime/harness';
import { requireStack } from '../helpers/stack';

const EPOCHS = 16;

let h: RuntimeHarness;
let trainPool: string;
let cancelPool: string;
/** Told of every training child the cancel pool's fine-tune stage forks. */
let onTrainingSpawn: ((child: ChildProcess) => void) | undefined;
let dataset: string;

before(async () => {
  await requireStack();
  h = await startRuntimeHarness({ cpuWorker: false });
  trainPool = `train-${randomSuffix()}`;
  // Progress reaches the run state every 200 ms (default 10 s), so the test sees each epoch's
  // checkpoint while training still runs, however fast the engine trains.
  await h.addWorker({
    pool: trainPool,
    extraStages: { 'fine-tune': fineTuneStage },
    concurrency: 1,
    progressIntervalMs: 200,
  });
  // The production stage, with the child-process runner told to hand over the child it forks.
  cancelPool = `train-cancel-${randomSuffix()}`;
  const observed = createFineTuneStage({
    runTraining: (request, options) =>
      runTrainingInChildProcess(request, { ...options, onSpawn: (child) => onTrainingSpawn?.(child) }),
  });
  await h.addWorker({
    pool: cancelPool,
    extraStages: { 'fine-tune': observed },
    concurrency: 1,
    progressIntervalMs: 200,
  });
  // Enough MNIST digits, in batches of 8, that an epoch takes a noticeable moment (~0.6 s) even
  // on the graph engine, so the test can kill training between two checkpoints.
  ({ manifestUri: dataset } = await writeDataset(
    h.store,
    `s3://${h.config.s3.bucket}/e2e-data/resume-${randomSuffix()}`,
    {
      train: loadMnist({ perClass: 150, seed: 1 }),
      validation: loadMnist({ perClass: 20, offset: 150, seed: 2 }),
      test: loadMnist({ perClass: 20, offset: 170, seed: 3 }),
    },
  ));
});

after(async () => {
  await h?.close();
});

/** Pids of this process's children running the training worker (the fork of src/ml's child runner). */
function trainingChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('training-worker')) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

async function waitFor(runId: string, predicate: (state: RunState) => boolean, timeoutMs: number): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  let last: RunState | undefined;
  while (Date.now() < deadline) {
    last = await h.runs.state(runId);
    if (predicate(last)) return last;
    if (last.endedAt) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const logs = await listStageLogs(h.store, h.config.s3.bucket, runId);
  const texts = await Promise.all(
    logs.map(async (log) => `--- ${log.stageId}#${log.attempt}\n${await readLogText(h.store, log)}`),
  );
  throw new Error(`condition not reached; last state ${JSON.stringify(last?.stages)}\n${texts.join('\n')}`);
}

/** Epoch numbers of the `epoch N/T …` lines an attempt logged (one per finished epoch). */
function epochsLogged(text: string): number[] {
  return [...text.matchAll(/ epoch (\d+)\/\d+ /g)].map((match) => Number(match[1]));
}

/**
 * The epoch to kill training at, 4…EPOCHS-5, and the seed that drew it. It was Math.random(): a failure at one
 * epoch could not be re-run. Now CI kills at the same epoch every run and a failure names the seed that repeats it.
 */
function drawKillEpoch(): { epoch: number; seed: number } {
  const seed = fc.readConfigureGlobal().seed ?? fc.sample(fc.integer(), 1)[0] ?? 0;
  const [epoch] = fc.sample(fc.integer({ min: 4, max: EPOCHS - 5 }), { seed, numRuns: 1 });
  return { epoch: epoch ?? 4, seed };
}

test(
  'killing the training child at a seeded epoch under heartbeat throttling: the retry redoes at most the epoch in flight',
  { timeout: 300_000 },
  async (t) => {
    // heartbeatTimeout 8 s: the SDK sends heartbeats at most every 6.4 s (0.8 × timeout), so the
    // details Temporal holds lag the store by several ~0.6 s epochs when the child dies.
    const { epoch: killAt, seed } = drawKillEpoch();
    t.diagnostic(`killing training at epoch ${killAt} (FINEFLOW_PROPERTY_SEED=${seed} repeats it)`);
    const plan = h.plan('ft-resume', [
      {
        id: 'finetune',
        uses: 'fine-tune',
        pool: trainPool,
        with: {
          architecture: 'small-cnn',
          data: dataset,
          epochs: EPOCHS,
          batchSize: 8,
          learningRate: 0.001,
          freeze: 'none',
          checkpoint: { everyEpochs: 1, keepLast: 2 },
          seed: 1,
        },
        timeoutMs: 240_000,
        heartbeatTimeoutMs: 8_000,
        retry: { maxAttempts: 3, initialIntervalMs: 200, backoffCoefficient: 1, maximumIntervalMs: 500 },
      },
    ]);
    const runId = await h.runs.submit(plan);
    const reached = await waitFor(
      runId,
      (state) =>
        typeof state.stages[0]?.progress?.detail?.epoch === 'number' &&
        (state.stages[0].progress.detail.epoch as number) >= killAt,
      180_000,
    );
    const killedAtEpoch = reached.stages[0]?.progress?.detail?.epoch as number;
    assert.ok(killedAtEpoch < EPOCHS, `training must still be running when we kill it (epoch ${killedAtEpoch})`);
    const children = trainingChildren();
    assert.equal(children.length, 1, 'exactly one training child process runs');
    process.kill(children[0] as number, 'SIGKILL');

    const result = await h.runs.result(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
    const stage = result.stages[0];
    assert.equal(stage?.attempts, 2, 'the killed attempt failed and the retry succeeded');
    const logs = await listStageLogs(h.store, h.config.s3.bucket, runId);
    const textOf = async (attempt: number): Promise<string> => {
      const log = logs.find((entry) => entry.stageId === 'finetune' && entry.attempt === attempt);
      assert.ok(log, `no log of attempt ${attempt}: ${JSON.stringify(logs.map((l) => `${l.stageId}#${l.attempt}`))}`);
      return await readLogText(h.store, log);
    };
    const [first, second] = [epochsLogged(await textOf(1)), epochsLogged(await textOf(2))];
    // Every epoch the first attempt finished (and so checkpointed) is not trained again; the one in
    // flight at the kill may be. Together the attempts cover every epoch exactly once.
    const lastFinished = Math.max(...first);
    assert.ok(lastFinished >= killedAtEpoch, `attempt 1 logged epochs ${first.join(',')}`);
    assert.deepEqual(
      second.filter((epoch) => first.includes(epoch)),
      [],
      `attempt 2 redid epochs: ${second.join(',')} after ${first.join(',')}`,
    );
    assert.deepEqual(
      [...first, ...second],
      Array.from({ length: EPOCHS }, (_, i) => i + 1),
    );
    const metrics = stage?.outputs?.metrics as { resumedFromEpoch: number; epochsTrained: number };
    assert.equal(metrics.resumedFromEpoch, lastFinished);
    assert.equal(metrics.epochsTrained, EPOCHS - lastFinished);
    assert.equal((stage?.outputs?.history as unknown[]).length, EPOCHS, 'the history covers every epoch');
    assert.ok(['tensorflow', 'cpu'].includes(String(stage?.outputs?.backend)));
    // On the native backend both attempts ran the graph engine: the retry resumed its checkpoint.
    assert.equal(
      stage?.outputs?.engine,
      stage?.outputs?.backend === 'tensorflow' && loadGraphAddon().addon ? 'graph' : 'eager',
    );
    assert.match(
      await textOf(2),
      /resuming from checkpoint s3:\/\/\S+\/checkpoints\/epoch-\d{4} at epoch \d+ \(the newest verified checkpoint in the store/,
    );
    // keepLast: 2 — only the newest two checkpoints and the best epoch's remain.
    const kept = new Set(
      (await h.store.list(`s3://${h.config.s3.bucket}/runs/${runId}/finetune/checkpoints/`))
        .map((o) => /epoch-(\d+)\//.exec(o.key)?.[1])
        .filter(Boolean),
    );
    assert.ok(kept.size <= 3 && kept.has(String(EPOCHS).padStart(4, '0')), `checkpoints kept: ${[...kept].join(', ')}`);
    assert.deepEqual(trainingChildren(), [], 'no training process is left behind');
  },
);

test(
  'cancelling the run mid-epoch: the training child exits at once and nothing is written after',
  { timeout: 300_000 },
  async (t) => {
    const spawnedChild = new Promise<ChildProcess>((resolve) => (onTrainingSpawn = resolve));
    const plan = h.plan('ft-cancel', [
      {
        id: 'finetune',
        uses: 'fine-tune',
        pool: cancelPool,
        with: {
          architecture: 'small-cnn',
          data: dataset,
          epochs: 50,
          batchSize: 8,
          learningRate: 0.002,
          freeze: 'none',
          seed: 2,
        },
        timeoutMs: 240_000,
        // The SDK sends heartbeats at most every 48 s (0.8 × 60 s): a cancel that waited for the
        // next heartbeat would leave training running that long.
        heartbeatTimeoutMs: 60_000,
      },
    ]);
    const runId = await h.runs.submit(plan);
    const child = await spawnedChild;
    const exited = once(child, 'exit');
    await waitFor(
      runId,
      (state) =>
        typeof state.stages[0]?.progress?.detail?.epoch === 'number' &&
        (state.stages[0].progress.detail.epoch as number) >= 1,
      180_000,
    );
    const cancelledAt = Date.now();
    await h.runs.cancel(runId);
    await exited;
    const stoppedAfterMs = Date.now() - cancelledAt;
    t.diagnostic(`training child exited ${stoppedAfterMs} ms after the cancel`);
    // Far below the 48 s heartbeat throttle; generous for a shared 2-core machine.
    assert.ok(stoppedAfterMs < 10_000, `the child exited ${stoppedAfterMs} ms after the cancel`);
    const result = await h.runs.result(runId);
    assert.equal(result.status, 'cancelled');
    assert.equal(result.stages[0]?.status, 'cancelled');
    // The run waited for the stage to stop, and the stage wrote no model nor training record.
    const written = await h.store.list(`s3://${h.config.s3.bucket}/runs/${runId}/finetune/model/`);
    assert.deepEqual(
      written.map((o) => o.key),
      [],
    );
    const [log] = await listStageLogs(h.store, h.config.s3.bucket, runId, 'finetune');
    assert.ok(log);
    const text = await readLogText(h.store, log);
    assert.doesNotMatch(text, /succeeded/);
    assert.match(text, /attempt 1 ended after [\d.]+ m?s: \w+: .*cancel/);
    assert.deepEqual(trainingChildren(), [], 'no training process is left behind');
  },
);
