import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it, test } from 'node:test';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import { generateDefects } from '../../../src/ml/generators/defects';
import { findCheckpoint } from '../../../src/ml/train/checkpoint';
import {
  forwardLines,
  runTrainingInChildProcess,
  type StoreFactoryReference,
} from '../../../src/ml/train/child-runner';
import type { TrainingProgress, TrainingRequest } from '../../../src/ml/train/types';
import { createDirectoryObjectStore } from './helpers/directory-object-store';

describe('training in a child process', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fineflow-child-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const store = createDirectoryObjectStore({ root });
  const storeReference: StoreFactoryReference = {
    modulePath: path.join(__dirname, 'helpers', 'directory-object-store.ts'),
    exportName: 'createDirectoryObjectStore',
    options: { root },
  };

  it('streams progress, is killed on abort mid-run, and a retry resumes at the checkpointed epoch and finishes', async () => {
    const { manifestUri } = await writeDataset(store, 's3://b/data', {
      train: generateDefects({ perClass: 8, seed: 1 }),
      validation: generateDefects({ perClass: 2, seed: 2 }),
    });
    const request: TrainingRequest = {
      mode: 'from-scratch',
      architecture: { kind: 'cnn', inputShape: [28, 28, 1], filters: [4, 4], featureUnits: 8, pooling: 'max' },
      datasetUri: manifestUri,
      outputUri: 's3://b/model',
      checkpoint: { uri: 's3://b/checkpoints', everyEpochs: 1 },
      registryBucket: 'b',
      hyperparameters: { epochs: 5, batchSize: 8, learningRate: 0.01, seed: 1 },
    };
    const controller = new AbortController();
    const firstRun: TrainingProgress[] = [];
    await assert.rejects(
      runTrainingInChildProcess(request, {
        store: storeReference,
        signal: controller.signal,
        onProgress: (progress) => {
          firstRun.push(progress);
          if (progress.epoch === 2) controller.abort();
        },
      }),
      { type: 'FineflowCancelled', message: /killed/ },
    );
    assert.ok(firstRun.length >= 2 && firstRun.length < 5, `killed mid-run after ${firstRun.length} epochs`);
    const lastCheckpoint = firstRun[firstRun.length - 1]?.checkpointUri;
    assert.ok(lastCheckpoint?.startsWith('s3://b/checkpoints/epoch-'));
    const checkpoint = await findCheckpoint(store, 's3://b/checkpoints');
    assert.ok(checkpoint);

    // The retry resumes from the checkpoint the last heartbeat named.
    const secondRun: number[] = [];
    const result = await runTrainingInChildProcess(
      { ...request, resumeFrom: lastCheckpoint },
      { store: storeReference, onProgress: (progress) => void secondRun.push(progress.epoch) },
    );
    const resumedAt = result.resumedFromEpoch;
    assert.ok(resumedAt >= 2, `resumed at epoch ${resumedAt}`);
    assert.deepEqual(
      secondRun,
      Array.from({ length: 5 - resumedAt }, (_, i) => resumedAt + i + 1),
    );
    assert.equal(result.epochs.length, 5);
    assert.ok(['tensorflow', 'cpu'].includes(result.backend));
    assert.ok(await store.stat('s3://b/model/model.json'));
  });

  it("forwards the child's output lines to the stage log without libtensorflow's absl notice", async () => {
    const { manifestUri } = await writeDataset(store, 's3://b/absl-data', {
      train: generateDefects({ perClass: 4, seed: 3 }),
      validation: generateDefects({ perClass: 2, seed: 4 }),
    });
    const lines: string[] = [];
    await runTrainingInChildProcess(
      {
        mode: 'from-scratch',
        architecture: { kind: 'cnn', inputShape: [28, 28, 1], filters: [4], featureUnits: 4, pooling: 'max' },
        datasetUri: manifestUri,
        outputUri: 's3://b/absl-model',
        registryBucket: 'b',
        hyperparameters: { epochs: 1, batchSize: 8, learningRate: 0.01, seed: 1 },
      },
      { store: storeReference, onLog: (line) => void lines.push(line) },
    );
    assert.deepEqual(
      lines.filter((line) => line.includes('absl::InitializeLog')),
      [],
      `the child's lines: ${JSON.stringify(lines)}`,
    );
  });

  /** A request whose dataset does not exist, run in a real child (it fails as soon as it reads the manifest). */
  const missingDatasetInChild = () =>
    runTrainingInChildProcess(
      {
        mode: 'from-scratch',
        datasetUri: 's3://b/missing',
        outputUri: 's3://b/x',
        registryBucket: 'b',
        hyperparameters: { epochs: 1, batchSize: 1, learningRate: 0.1 },
      },
      { store: storeReference },
    );

  it('maps a request for a missing dataset in the child to a non-retryable not-found error', async () => {
    await assert.rejects(missingDatasetInChild(), { type: 'FineflowNotFound', retryable: false });
  });

  it('starts its child from a worker whose working directory is outside the checkout', async () => {
    // A team runs `/path/to/fineflow/bin/fineflow.js worker` from its own project folder: the child must
    // still find tsx (a bare `--import tsx` resolved it from the working directory and every stage failed).
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'fineflow-cwd-'));
    const before = process.cwd();
    process.chdir(elsewhere);
    try {
      await assert.rejects(missingDatasetInChild(), { type: 'FineflowNotFound', retryable: false });
    } finally {
      process.chdir(before);
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

test("libtensorflow's absl notice alone is dropped from a child's lines; other warnings, and the line inside others, stay", async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  forwardLines(stream, (line) => void lines.push(line));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  stream.end(
    [
      'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\r',
      'W0000 cpu_feature_guard.cc:227] a warning that says something',
      'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR, and more',
      '',
      'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
    ].join('\n'),
  );
  await ended;
  assert.deepEqual(lines, [
    'W0000 cpu_feature_guard.cc:227] a warning that says something',
    'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR, and more',
  ]);
});

/** Every line a child's stderr forwards, read through {@link forwardLines}. */
async function forwardedLines(text: string): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  forwardLines(stream, (line) => void lines.push(line));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  stream.end(text);
  await ended;
  return lines;
}

test("libtensorflow's oneDNN and cpu_feature_guard notices (with its second line) are dropped; lookalikes stay", async () => {
  const oneDnn =
    'I0000 00:00:1796545090.900429    6738 port.cc:153] oneDNN custom operations are on. You may see slightly ' +
    'different numerical results due to floating-point round-off errors from different computation orders. To turn ' +
    'them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.';
  const guard =
    'I0000 00:00:1796545090.963876    6738 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use ' +
    'available CPU instructions in performance-critical operations.';
  const guardInstructions =
    'To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations, rebuild ' +
    'TensorFlow with the appropriate compiler flags.';
  const lines = await forwardedLines(
    [
      oneDnn,
      `${guard}\r`,
      guardInstructions,
      'epoch 1 done',
      // Not after the notice: a line of someone else's that happens to read the same stays.
      guardInstructions,
      guard.replace('I0000', 'W0000'),
      `${oneDnn} and more`,
      'W0000 00:00:1796545090.9 6738 port.cc:153] oneDNN custom operations failed to load',
    ].join('\n'),
  );
  assert.deepEqual(lines, [
    'epoch 1 done',
    guardInstructions,
    guard.replace('I0000', 'W0000'),
    `${oneDnn} and more`,
    'W0000 00:00:1796545090.9 6738 port.cc:153] oneDNN custom operations failed to load',
  ]);
});

test('a process that loads the native backend forwards none of its start-up notices', async (t) => {
  const { spawn } = await import('node:child_process');
  // A binding that does not load says so on stdout and exits 0; any other failure of the process fails the test.
  const script =
    "let tf; try { tf = require('@tensorflow/tfjs-node'); } catch (error) { " +
    "console.log(String(error.message).split('\\n')[0]); process.exit(0); } " +
    "tf.tensor([1, 2]).square().dataSync(); console.error('done')";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const lines: string[] = [];
  forwardLines(child.stderr, (line) => void lines.push(line));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `the process that loads the binding failed: ${lines.join(' ').slice(0, 500)}`);
  // Without the native binding (no `npm run setup:tf` here) there is no libtensorflow to print anything.
  if (stdout.trim() !== '') return t.skip(`the native binding does not load here: ${stdout.trim().slice(0, 200)}`);
  assert.deepEqual(lines, ['done'], 'everything libtensorflow printed was a known notice');
});
