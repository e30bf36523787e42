/**
 * Kill the training child process mid-run and watch the retry resume: a `fine-tune` stage runs
 * on an in-process worker (real Temporal dev server, real MinIO, training in a forked child
 * process as in production). At a random epoch the test SIGKILLs the training child, with the
 * SDK's heartbeat throttling in force; the attempt fails (retryable), Temporal retries it, and the
 * second attempt resumes from the newest verified checkpoint in the store (not from the stale
 * heartbeat details) and trains only the epochs the first did not finish.
 *
 * Run with: bash scripts/test.sh integration test/e2e/fine-tune-resume.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fineTuneStage } from '../../activities/fine-tune';
import { loadGraphAddon } from '../../src/ml/graph/tf-graph';
import { loadMnist } from '../../src/ml/generators/mnist';
import { writeDataset } from '../../src/ml/data/write-dataset';
import { listStageLogs } from '../../src/client/run-logs';
import type { RunState } from '../../src/runtime/run-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../fixtures/runtime/harness';
import { requireStack } from '../helpers/stack';

const EPOCHS = 16;

let h: RuntimeHarness;
let trainPool: string;
let dataset: string;

before(async () => {
  await requireStack();
  h = await startRuntimeHarness({ cpuWorker: false });
  trainPool = `train-${randomSuffix()}`;
  // Progress reaches the run state every 200 ms (default 10 s), so the test sees each epoch's
  // checkpoint while training still runs, however fast the engine trains.
  await h.addWorker({ pool: trainPool, extraStages: { 'fine-tune': fineTuneStage }, concurrency: 1, progressSignalIntervalMs: 200 });
  // Enough MNIST digits, in batches of 8, that an epoch takes a noticeable moment (~0.6 s) even
  // on the graph engine, so the test can kill training between two checkpoints.
  ({ manifestUri: dataset } = await writeDataset(h.store, `s3://${h.config.s3.bucket}/e2e-data/resume-${randomSuffix()}`, {
    train: loadMnist({ perClass: 150, seed: 1 }),
    validation: loadMnist({ perClass: 20, offset: 150, seed: 2 }),
    test: loadMnist({ perClass: 20, offset: 170, seed: 3 }),
  }));
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
  const texts = await Promise.all(logs.map(async (log) => `--- ${log.stageId}#${log.attempt}\n${(await h.store.getBytes(log.uri)).toString('utf8')}`));
  throw new Error(`condition not reached; last state ${JSON.stringify(last?.stages)}\n${texts.join('\n')}`);
}

/** Epoch numbers of the `epoch N/T …` lines an attempt logged (one per finished epoch). */
function epochsLogged(text: string): number[] {
  return [...text.matchAll(/ epoch (\d+)\/\d+ /g)].map((match) => Number(match[1]));
}

test('killing the training child at a random epoch under heartbeat throttling: the retry redoes at most the epoch in flight', { timeout: 300_000 }, async () => {
  // heartbeatTimeout 8 s: the SDK sends heartbeats at most every 6.4 s (0.8 × timeout), so the
  // details Temporal holds lag the store by several ~0.6 s epochs when the child dies.
  const killAt = 4 + Math.floor(Math.random() * (EPOCHS - 8));
  const plan = h.plan('ft-resume', [
    {
      id: 'finetune',
      uses: 'fine-tune',
      pool: trainPool,
      with: { architecture: 'small-cnn', data: dataset, epochs: EPOCHS, batchSize: 8, learningRate: 0.001, freeze: 'none', checkpoint: { everyEpochs: 1, keepLast: 2 }, seed: 1 },
      timeoutMs: 240_000,
      heartbeatTimeoutMs: 8_000,
      retry: { maxAttempts: 3, initialIntervalMs: 200, backoffCoefficient: 1, maximumIntervalMs: 500 },
    },
  ]);
  const runId = await h.runs.submit(plan);
  const reached = await waitFor(runId, (state) => typeof state.stages[0]?.progress?.detail?.epoch === 'number' && (state.stages[0].progress.detail.epoch as number) >= killAt, 180_000);
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
    return (await h.store.getBytes(log.uri)).toString('utf8');
  };
  const [first, second] = [epochsLogged(await textOf(1)), epochsLogged(await textOf(2))];
  // Every epoch the first attempt finished (and so checkpointed) is not trained again; the one in
  // flight at the kill may be. Together the attempts cover every epoch exactly once.
  const lastFinished = Math.max(...first);
  assert.ok(lastFinished >= killedAtEpoch, `attempt 1 logged epochs ${first.join(',')}`);
  assert.deepEqual(second.filter((epoch) => first.includes(epoch)), [], `attempt 2 redid epochs: ${second.join(',')} after ${first.join(',')}`);
  assert.deepEqual([...first, ...second], Array.from({ length: EPOCHS }, (_, i) => i + 1));
  const metrics = stage?.outputs?.metrics as { resumedFromEpoch: number; epochsTrained: number };
  assert.equal(metrics.resumedFromEpoch, lastFinished);
  assert.equal(metrics.epochsTrained, EPOCHS - lastFinished);
  assert.equal((stage?.outputs?.history as unknown[]).length, EPOCHS, 'the history covers every epoch');
  assert.ok(['tensorflow', 'cpu'].includes(String(stage?.outputs?.backend)));
  // On the native backend both attempts ran the graph engine: the retry resumed its checkpoint.
  assert.equal(stage?.outputs?.engine, stage?.outputs?.backend === 'tensorflow' && loadGraphAddon().addon ? 'graph' : 'eager');
  assert.match(await textOf(2), /resuming from checkpoint s3:\/\/\S+\/checkpoints\/epoch-\d{4} at epoch \d+ \(the newest verified checkpoint in the store/);
  // keepLast: 2 — only the newest two checkpoints and the best epoch's remain.
  const kept = new Set((await h.store.list(`s3://${h.config.s3.bucket}/runs/${runId}/finetune/checkpoints/`)).map((o) => /epoch-(\d+)\//.exec(o.key)?.[1]).filter(Boolean));
  assert.ok(kept.size <= 3 && kept.has(String(EPOCHS).padStart(4, '0')), `checkpoints kept: ${[...kept].join(', ')}`);
  assert.deepEqual(trainingChildren(), [], 'no training process is left behind');
});

test('cancelling the run while it trains kills the training child promptly', { timeout: 300_000 }, async () => {
  const plan = h.plan('ft-cancel', [
    {
      id: 'finetune',
      uses: 'fine-tune',
      pool: trainPool,
      with: { architecture: 'small-cnn', data: dataset, epochs: 50, batchSize: 32, learningRate: 0.002, freeze: 'none', seed: 2 },
      timeoutMs: 240_000,
      heartbeatTimeoutMs: 10_000,
    },
  ]);
  const runId = await h.runs.submit(plan);
  await waitFor(runId, (state) => typeof state.stages[0]?.progress?.detail?.epoch === 'number' && (state.stages[0].progress.detail.epoch as number) >= 1, 180_000);
  assert.equal(trainingChildren().length, 1);
  const cancelledAt = Date.now();
  await h.runs.cancel(runId);
  const deadline = Date.now() + 30_000;
  while (trainingChildren().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(trainingChildren(), [], 'the training child is gone');
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'cancelled');
  assert.ok(Date.now() - cancelledAt < 30_000, `stopped ${Date.now() - cancelledAt} ms after the cancel`);
});
