/**
 * The stage panel's view of a stage's checkpoints (src/ml/train/checkpoint.ts): sizes, which verify,
 * the best and latest epochs, which one a retry resumes from, and the resume line an attempt logs.
 * Written with the real writeCheckpoint/pruneCheckpoints into the in-memory store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkpointDirectory,
  checkpointInventory,
  pruneCheckpoints,
  resumeLogLine,
  resumePointInLog,
  retainedEpochs,
  writeCheckpoint,
  type LoopState,
} from '../../../src/ml/train/checkpoint';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const PREFIX = 's3://fineflow/runs/r1/train/checkpoints';

function state(epochsDone: number, bestEpoch: number): LoopState {
  return {
    epochsDone,
    phaseIndex: 0,
    epochsDoneInPhase: epochsDone,
    history: [],
    bestEpoch,
    bestValue: 0.5,
    epochsWithoutImprovement: epochsDone - bestEpoch,
    stoppedEarly: false,
    stepInPhase: epochsDone * 10,
  };
}

async function write(store: ReturnType<typeof createMemoryObjectStore>, epoch: number, best: number, key = 'req-a') {
  const weights = [{ name: 'dense/kernel', shape: [2, 2], values: new Float32Array([epoch, 1, 2, 3]) }];
  return writeCheckpoint(store, PREFIX, { state: state(epoch, best), weights, optimizer: weights, requestKey: key });
}

void describe('checkpoint inventory', () => {
  void it('lists every checkpoint newest first with size, verification, best, latest and the resume point', async () => {
    const store = createMemoryObjectStore({ buckets: ['fineflow'] });
    for (const epoch of [1, 2, 3, 4]) await write(store, epoch, 2);
    // A kill mid-write of epoch 4: a part no longer matches its index.
    await store.putBytes(`${checkpointDirectory(PREFIX, 4)}/weights.bin`, new Uint8Array(16));
    const inventory = await checkpointInventory(store, PREFIX);
    assert.deepEqual(
      inventory.checkpoints.map((c) => [c.epoch, c.verified, c.objects]),
      [
        [4, false, 3],
        [3, true, 3],
        [2, true, 3],
        [1, true, 3],
      ],
    );
    assert.ok(inventory.checkpoints.every((c) => c.bytes > 0 && c.requestKey === 'req-a'));
    assert.equal(inventory.latestEpoch, 4, 'latest.json names the newest written, verified or not');
    assert.equal(inventory.resumeEpoch, 3, 'a retry resumes from the newest checkpoint that verifies');
    assert.equal(inventory.bestEpoch, 2);
    assert.equal(inventory.truncated, false);
  });

  void it('resumes only checkpoints of the newest request, and bounds the listing', async () => {
    const store = createMemoryObjectStore({ buckets: ['fineflow'] });
    for (const epoch of [1, 2]) await write(store, epoch, epoch, 'old-request');
    await write(store, 3, 1, 'new-request');
    const inventory = await checkpointInventory(store, PREFIX, { limit: 2 });
    assert.deepEqual(
      inventory.checkpoints.map((c) => c.epoch),
      [3, 2],
    );
    assert.equal(inventory.truncated, true);
    assert.equal(inventory.resumeEpoch, 3);
    assert.equal(inventory.bestEpoch, 1);
  });

  void it('an empty prefix has no checkpoints, no resume point', async () => {
    const inventory = await checkpointInventory(createMemoryObjectStore({ buckets: ['fineflow'] }), PREFIX);
    assert.deepEqual(inventory.checkpoints, []);
    assert.equal(inventory.resumeEpoch, undefined);
    assert.equal(inventory.latestEpoch, undefined);
  });

  void it('keepLast retains the newest N and the best epoch, as pruning does', async () => {
    assert.deepEqual([...retainedEpochs([5, 4, 3, 2, 1], { keepLast: 2, keep: [1] })].sort(), [1, 4, 5]);
    assert.deepEqual([...retainedEpochs([5, 4], { keepLast: 0 })], [5], 'at least one is kept');
    const store = createMemoryObjectStore({ buckets: ['fineflow'] });
    for (const epoch of [1, 2, 3, 4, 5]) await write(store, epoch, 2);
    await pruneCheckpoints(store, PREFIX, { keepLast: 2, keep: [2] });
    const kept = (await checkpointInventory(store, PREFIX)).checkpoints.map((c) => c.epoch);
    assert.deepEqual(kept, [5, 4, 2]);
  });

  void it('reads back the resume line an attempt logs, and nothing from other lines', () => {
    const directory = checkpointDirectory(PREFIX, 7);
    const log = `2026-12-05T10:00:00Z stage starting\n2026-12-05T10:00:01Z ${resumeLogLine(directory, 7, 'the newest verified checkpoint in the store')}\n`;
    assert.deepEqual(resumePointInLog(log), { directory, epoch: 7 });
    assert.equal(resumePointInLog('epoch 3/20 train loss=0.4 checkpoint s3://fineflow/x/epoch-0003'), undefined);
    assert.equal(resumePointInLog(`not resuming from ${directory}: no checkpoint in the store verifies`), undefined);
  });
});
