/**
 * Attack class: a training request that asks for more memory than the worker has (the issue's
 * `headUnits: [100000000]` grew a child past 7.6 GB, then a retry started another). The child runs
 * under a memory cap; running out is a non-retryable ResourceLimitError that says what to reduce,
 * and the stage runner turns it into a non-retryable failure (one attempt). Measured on bytes, not
 * time: the parent's RSS stays put, because the allocation happens (and fails) in the capped child.
 * Cancelling kills the child's whole process group.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CancelledError, ResourceLimitError } from '../../src/core/errors';
import { writeDataset } from '../../src/ml/data/write-dataset';
import { generateDefects } from '../../src/ml/generators/defects';
import { runTrainingInChildProcess, type StoreFactoryReference } from '../../src/ml/train/child-runner';
import type { TrainingRequest } from '../../src/ml/train/types';
import { toActivityFailure } from '../../activities/stage-runner';
import { createDirectoryObjectStore } from '../unit/ml/helpers/directory-object-store';

void describe('the training child runs under a memory cap', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fineflow-oom-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const store = createDirectoryObjectStore({ root });
  const storeReference: StoreFactoryReference = {
    modulePath: path.join(__dirname, '..', 'unit', 'ml', 'helpers', 'directory-object-store.ts'),
    exportName: 'createDirectoryObjectStore',
    options: { root },
  };

  void it('a model too large for the cap fails non-retryably, saying what to reduce', async () => {
    const { manifestUri } = await writeDataset(store, 's3://b/data', {
      train: generateDefects({ perClass: 4, seed: 1 }),
      validation: generateDefects({ perClass: 2, seed: 2 }),
    });
    // 14×14×4 features into 1,000,000 units: ~3 GB of float32 weights, against a 768 MiB cap.
    const request: TrainingRequest = {
      mode: 'from-scratch',
      architecture: { kind: 'cnn', inputShape: [28, 28, 1], filters: [4], featureUnits: 1_000_000, pooling: 'flatten' },
      datasetUri: manifestUri,
      outputUri: 's3://b/model',
      registryBucket: 'b',
      hyperparameters: { epochs: 1, batchSize: 4, learningRate: 0.01, seed: 1 },
    };
    const rssBefore = process.memoryUsage().rss;
    const error = await runTrainingInChildProcess(request, { store: storeReference, memoryLimitMb: 768 }).then(
      () => assert.fail('training a 3 GB model under a 768 MiB cap succeeded'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof ResourceLimitError, `expected ResourceLimitError, got ${String(error)}`);
    assert.equal(error.retryable, false);
    assert.match(error.message, /ran out of memory \(limit 768 MiB.*reduce batchSize.*image size.*headUnits/);
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024, 'the parent did not grow');
    const failure = toActivityFailure(error, undefined, 1) as { type?: string; nonRetryable?: boolean };
    assert.deepEqual([failure.type, failure.nonRetryable], ['FineflowResourceLimit', true]);
  });

  void it('cancelling kills the whole process group of the child', async () => {
    const { manifestUri } = await writeDataset(store, 's3://b/cancel-data', {
      train: generateDefects({ perClass: 4, seed: 1 }),
      validation: generateDefects({ perClass: 2, seed: 2 }),
    });
    const controller = new AbortController();
    const error = await runTrainingInChildProcess(
      {
        mode: 'from-scratch',
        architecture: { kind: 'cnn', inputShape: [28, 28, 1], filters: [4], featureUnits: 8 },
        datasetUri: manifestUri,
        outputUri: 's3://b/cancel-model',
        registryBucket: 'b',
        hyperparameters: { epochs: 50, batchSize: 4, learningRate: 0.01, seed: 1 },
      },
      { store: storeReference, signal: controller.signal, onProgress: () => controller.abort() },
    ).then(
      () => assert.fail('a cancelled training returned a result'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof CancelledError, String(error));
    const pid = error.details.pid;
    assert.equal(typeof pid, 'number');
    // SIGKILL to the group is delivered at once; wait (bounded) for the kernel to reap it.
    const deadline = Date.now() + 5000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      try {
        process.kill(-(pid as number), 0);
        await new Promise((resolve) => setImmediate(resolve));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, `process group ${String(pid)} still has members`);
  });
});
