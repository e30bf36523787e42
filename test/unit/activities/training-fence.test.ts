/**
 * The training child's writes under the attempt fence (src/ml/train/training-fence.ts): the child opens its own store
 * and writes `model/` and `checkpoints/` itself, so the stage runner's fenced store never saw them, and an attempt
 * Temporal gave up on rewrote its retry's checkpoints and model. In-memory store; the runner here trains in-process
 * exactly as the child's entry point does (src/ml/train/training-worker.ts: its store through `fencedTrainingStore`).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { claimStageOutputs, stageOwnerUri, type OutputsClaim } from '../../../activities/attempt-fence';
import { createFineTuneStage } from '../../../activities/fine-tune';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { CancelledError } from '../../../src/core/errors';
import { trainModel } from '../../../src/ml/train/fine-tune';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import { fencedTrainingStore } from '../../../src/ml/train/training-fence';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { preparedBars, registeredBase } from './fixtures';

let store: MemoryObjectStore;
let dataset: string;
let base: string;

before(async () => {
  store = memoryStore();
  dataset = await preparedBars(store, `s3://${BUCKET}/runs/prep/prepare/dataset`);
  base = await registeredBase(store);
});

test("the rule: the child's store refuses writes and removals once a newer attempt claimed", async () => {
  const prefix = `s3://${BUCKET}/runs/fence-child/train/`;
  const claimed = await claimStageOutputs(store, prefix, 1);
  assert.ok(claimed.owned);
  const claim: OutputsClaim = { outputPrefix: prefix, attempt: 1, etag: claimed.etag };
  const lines: string[] = [];
  const child = fencedTrainingStore(store, claim, (line) => lines.push(line));
  await child.putJson(`${prefix}checkpoints/epoch-0001/state.json`, { by: 1 });
  assert.equal(
    fencedTrainingStore(store, undefined, () => undefined),
    store,
    'no claim, no fence',
  );

  assert.ok((await claimStageOutputs(store, prefix, 2)).owned);
  await store.putJson(`${prefix}checkpoints/epoch-0001/state.json`, { by: 2 });
  for (const write of [
    () => child.putJson(`${prefix}checkpoints/epoch-0001/state.json`, { by: 1 }),
    () => child.putBytes(`${prefix}model/weights.bin`, 'x'),
    () => child.removePrefix(`${prefix}checkpoints/epoch-0001/`),
  ]) {
    await assert.rejects(write(), (thrown: unknown) => {
      assert.ok(thrown instanceof CancelledError);
      assert.deepEqual([thrown.details.code, thrown.details.ownedBy], ['superseded-attempt', 2]);
      return true;
    });
  }
  assert.deepEqual(await store.getJson(`${prefix}checkpoints/epoch-0001/state.json`), { by: 2 });
  assert.equal(await store.stat(`${prefix}model/weights.bin`), undefined);
  assert.equal(lines.length, 1, 'the first refusal is logged, once');
  assert.match(lines[0] ?? '', /^attempt 1 did not write s3:\/\/\S+state\.json: attempt 2 of this stage owns/);
});

/** Every object under `prefix` but the logs and the claim, with the sha256 of its bytes. */
async function snapshot(prefix: string): Promise<Record<string, string>> {
  const entries: [string, string][] = [];
  for (const uri of store.uris()) {
    if (!uri.startsWith(prefix) || uri.startsWith(`${prefix}logs/`) || uri === stageOwnerUri(prefix)) continue;
    entries.push([
      uri,
      createHash('sha256')
        .update(await store.getBytes(uri))
        .digest('hex'),
    ]);
  }
  return Object.fromEntries(entries);
}

test('a fine-tune attempt superseded while it trains writes no more checkpoints, nor the model, and ends cancelled', async () => {
  const context = stageContext('finetune', { runId: 'ft-fenced-child' });
  const prefix = context.outputPrefix;
  let retryWrote: Record<string, string> | undefined;
  // Attempt 1's training, as the child runs it. After its first epoch (checkpointed, then reported), the retry that
  // Temporal started when it gave attempt 1 up claims the outputs and writes its own checkpoint.
  const runTraining: TrainingRunner = (request, options) =>
    trainModel(
      fencedTrainingStore(store, options.fence, options.onLog ?? (() => undefined)),
      { ...request, tfBackend: 'cpu' },
      {
        onEpoch: async (progress) => {
          options.onProgress?.(progress);
          if (progress.epoch !== 1) return;
          assert.ok((await claimStageOutputs(store, prefix, 2)).owned);
          await store.putJson(`${prefix}checkpoints/epoch-0002/state.json`, { by: 'attempt 2' });
          retryWrote = await snapshot(prefix);
        },
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  const failure = await stageFailure(
    runStage('fine-tune', createFineTuneStage({ runTraining }), store, context, {
      model: base,
      data: dataset,
      epochs: 4,
      batchSize: 8,
      learningRate: 0.01,
      freeze: 'none',
      checkpoint: { everyEpochs: 1 },
      seed: 3,
    }),
  );
  assert.equal(failure.type, 'FineflowCancelled', failure.message);
  assert.equal(failure.details.code, 'superseded-attempt');
  assert.ok(retryWrote, 'the retry claimed after epoch 1');
  assert.deepEqual(await snapshot(prefix), retryWrote, "attempt 1 wrote nothing over the retry's outputs");
  const log = (await listStageLogs(store, BUCKET, context.runId, 'finetune')).find((l) => l.attempt === 1);
  const text = log ? await stageLogText(store, log) : '';
  assert.match(
    text,
    /\[training\] attempt 1 did not write s3:\/\/\S+\/checkpoints\/epoch-0002\/\S+: attempt 2 of this stage owns its outputs now/,
  );
});
