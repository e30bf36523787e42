/**
 * pipelines/quickstart.yaml end to end on the real stack (Temporal dev server + MinIO started by
 * scripts/test.sh), scaled down with --set: select-model ranks a digits CNN from the registry,
 * prepare-data reads a raw PNG image folder from MinIO, fine-tune trains in a child process,
 * evaluate compares with a from-scratch model and gates, register-model adds the model to the
 * registry with its card. A second run with an unreachable gate skips the registration.
 *
 * Hermetic: its own bucket (registry included) and its own worker pools.
 * Run with: bash scripts/test.sh integration test/e2e/ml-pipeline.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadGraphAddon } from '../../src/ml/graph/tf-graph';
import { main } from '../../src/cli/main';
import { RunClient } from '../../src/client/run-client';
import { writeDataset } from '../../src/ml/data/write-dataset';
import { generateDefects } from '../../src/ml/generators/defects';
import { loadMnist } from '../../src/ml/generators/mnist';
import { imageFolderFiles, writeFilesToStore } from '../../src/ml/generators/writers';
import { registerModel, showModel } from '../../src/ml/models/registry';
import { trainModel } from '../../src/ml/train/fine-tune';
import type { RunState, StageState } from '../../src/core/run/run-types';
import { taskQueueForPool } from '../../src/core/run/task-queues';
import { compilePlan } from '../../src/spec/compile';
import type { Plan } from '../../src/core/spec/plan-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../fixtures/runtime/harness';
import { requireStack } from '../helpers/stack';
import { ML_STAGES } from './helpers/example-runtime';

const REPO = path.resolve(__dirname, '../..');

let h: RuntimeHarness;
let runs: RunClient;
let bucket: string;
let trainPool: string;

before(async () => {
  await requireStack();
  h = await startRuntimeHarness({ cpuWorker: false });
  trainPool = `train-${randomSuffix()}`;
  await h.addWorker({ pool: h.pools.cpu, extraStages: ML_STAGES, concurrency: 2 });
  await h.addWorker({ pool: trainPool, extraStages: ML_STAGES, concurrency: 1 });
  bucket = `ff-e2e-ml-${randomSuffix()}`;
  await h.store.ensureBucket(bucket);
  runs = new RunClient(h.client, { bucket, workflowTaskQueue: taskQueueForPool(h.pools.control) });

  // The base model the quickstart selects: a small CNN (pretrained here on MNIST digits, standing in for surface-cnn), in this test's registry.
  const { manifestUri } = await writeDataset(h.store, `s3://${bucket}/pretrain/dataset`, {
    train: loadMnist({ perClass: 100, seed: 1 }),
    validation: loadMnist({ perClass: 10, offset: 100, seed: 2 }),
  });
  const pretrained = await trainModel(h.store, {
    mode: 'from-scratch',
    datasetUri: manifestUri,
    outputUri: `s3://${bucket}/pretrain/model`,
    hyperparameters: { epochs: 3, batchSize: 32, learningRate: 0.003, seed: 1 },
    registryBucket: bucket,
  });
  await registerModel(h.store, {
    bucket,
    name: 'surface-cnn',
    modelUri: `${pretrained.modelUri}/model.json`,
    description: 'e2e base',
  });

  // The target domain: a small labelled set of surface-defect images, pushed as PNG files.
  await writeFilesToStore(
    h.store,
    `s3://${bucket}/datasets/target/`,
    imageFolderFiles(generateDefects({ perClass: 30, seed: 5 })),
  );
});

after(async () => {
  await h?.close();
});

function quickstart(set: Record<string, string>): Plan {
  const file = 'pipelines/quickstart.yaml';
  const compiled = compilePlan(readFileSync(path.join(REPO, file), 'utf8'), file, { set });
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  const pools: Record<string, string> = { cpu: h.pools.cpu, train: trainPool };
  return {
    ...compiled.plan,
    stages: compiled.plan.stages.map((stage) => ({
      ...stage,
      pool: pools[stage.pool] ?? stage.pool,
      cache: { enabled: false },
    })),
  };
}

function byUses(state: { stages: readonly StageState[] }, uses: string): StageState {
  const stage = state.stages.find((s) => s.uses === uses);
  assert.ok(stage, `no ${uses} stage`);
  return stage;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    ({ write: (chunk: string | Uint8Array) => (append(String(chunk)), true) }) as unknown as NodeJS.WritableStream;
  const code = await main(args, {
    stdout: sink((t) => (stdout += t)),
    stderr: sink((t) => (stderr += t)),
    env: { ...process.env, FINEFLOW_BUCKET: bucket },
    cwd: REPO,
  });
  assert.equal(code, 0, stderr);
  return { code, stdout };
}

test(
  'quickstart: select, prepare, fine-tune, evaluate (with from-scratch comparison) and register, end to end',
  { timeout: 600_000 },
  async () => {
    const runId = await runs.submit(
      quickstart({
        dataset: `s3://${bucket}/datasets/target/`,
        examplesPerClass: '12',
        epochs: '12',
        minAccuracy: '0',
      }),
    );
    const result = await runs.result(runId);
    const state: RunState = await runs.state(runId);
    assert.equal(
      result.status,
      'succeeded',
      JSON.stringify(state.stages.map((s) => ({ id: s.id, status: s.status, error: s.error }))),
    );

    const select = byUses(state, 'select-model');
    assert.equal(select.outputs?.model, 'registry://surface-cnn@1');
    const prepare = byUses(state, 'prepare-data');
    assert.deepEqual(prepare.outputs?.classes, ['crack', 'ok', 'scratch', 'spot']);
    assert.deepEqual(
      (prepare.outputs?.counts as { train: Record<string, number> }).train,
      { crack: 12, ok: 12, scratch: 12, spot: 12 },
      'limitPerClass kept 12 per class',
    );

    const finetune = byUses(state, 'fine-tune');
    assert.ok(['tensorflow', 'cpu'].includes(String(finetune.outputs?.backend)));
    // Native backend with the graph addon built → the graph engine trained (src/ml/train/engine.ts).
    assert.equal(
      finetune.outputs?.engine,
      finetune.outputs?.backend === 'tensorflow' && loadGraphAddon().addon ? 'graph' : 'eager',
    );
    assert.equal((finetune.outputs?.history as unknown[]).length > 0, true);

    const evaluate = byUses(state, 'evaluate');
    assert.equal(evaluate.outputs?.passed, true);
    const comparison = evaluate.outputs?.comparison as {
      fromScratch: { accuracy: number; trainSeconds: number };
      gate: { reasons: string[] };
    };
    assert.ok(typeof comparison.fromScratch.accuracy === 'number' && comparison.fromScratch.trainSeconds > 0);
    assert.ok(
      comparison.gate.reasons.some((r) => /accuracy .* >= min 0\b/.test(r)),
      JSON.stringify(comparison.gate),
    );
    const report = String(evaluate.outputs?.report);
    assert.match(report, new RegExp(`^s3://${bucket}/runs/${runId}/evaluate/report/report\\.html$`));
    const html = (await h.store.getBytes(report)).toString('utf8');
    assert.match(html, /Confusion matrix/);
    assert.match(html, new RegExp(`Evaluation of stage evaluate · pipeline [\\w-]+ · run ${runId}`));
    assert.match(html, /reliability diagram/);
    assert.match(html, /<a href="\.\.\/\.\.\/prepare\/dataset\/data-report\.json">/);
    assert.ok(await h.store.stat(report.replace(/report\.html$/, 'report.json')));
    // The classic baselines ran on the same split, and every headline metric has an interval.
    const logistic = (comparison as unknown as Record<string, { metrics: { accuracy: number } }>)[
      'logistic-regression'
    ];
    assert.ok(logistic && logistic.metrics.accuracy >= 0 && logistic.metrics.accuracy <= 1, JSON.stringify(comparison));
    const intervals = (evaluate.outputs?.metrics as { intervals: Record<string, { low: number; high: number }> })
      .intervals;
    const accuracy = (evaluate.outputs?.metrics as { accuracy: number }).accuracy;
    assert.ok(intervals.accuracy && intervals.accuracy.low <= accuracy && accuracy <= intervals.accuracy.high);
    // Kept for a look in a browser (test-artifacts/ is gitignored; scripts/render-report.ts renders it to PNG).
    mkdirSync(path.join(REPO, 'test-artifacts/reports'), { recursive: true });
    writeFileSync(path.join(REPO, 'test-artifacts/reports/quickstart-evaluate.html'), html);

    const register = byUses(state, 'register-model');
    assert.equal(register.status, 'succeeded');
    assert.deepEqual(register.outputs, { model: 'registry://surface-defects@1', version: 1, unchanged: false });
    const details = await showModel(h.store, bucket, 'surface-defects');
    assert.deepEqual(details.aliases, { champion: 1 });
    const card = details.versions[0];
    assert.equal(card?.lineage.runId, runId);
    assert.equal(card?.lineage.baseModel, 'registry://surface-cnn@1');
    assert.equal(card?.lineage.dataset, prepare.outputs?.dataset);
    assert.equal(card?.metrics?.accuracy, (evaluate.outputs?.metrics as { accuracy: number }).accuracy);
    assert.equal(card?.backend, finetune.outputs?.backend);
    // The gate's verdict and what it judged are on the card, so the model page needs no read of the run's history.
    assert.deepEqual(card?.evaluations, [
      {
        stage: evaluate.id,
        split: 'test',
        passed: true,
        reasons: comparison.gate.reasons,
        metrics: Object.fromEntries(
          Object.entries(evaluate.outputs?.metrics as Record<string, unknown>).filter(([, v]) => typeof v === 'number'),
        ),
      },
    ]);

    // The CLI reads the same registry.
    const shown = JSON.parse((await cli(['models', 'show', 'surface-defects@champion', '--json'])).stdout) as {
      version: number;
      aliases: string[];
    };
    assert.equal(shown.version, 1);
    assert.deepEqual(shown.aliases, ['champion']);
    assert.match((await cli(['models', 'list'])).stdout, /surface-defects\s+1\s+1\s+champion=1/);
    assert.match(
      (await cli(['models', 'promote', 'surface-defects', '1', '--alias', 'staging'])).stdout,
      /surface-defects@staging → version 1/,
    );
    assert.deepEqual((await showModel(h.store, bucket, 'surface-defects')).aliases, { champion: 1, staging: 1 });
  },
);

test(
  'a gate the model cannot pass: evaluate says why, and register-model is skipped',
  { timeout: 600_000 },
  async () => {
    const runId = await runs.submit(
      quickstart({
        dataset: `s3://${bucket}/datasets/target/`,
        examplesPerClass: '6',
        epochs: '11',
        minAccuracy: '1.01',
      }),
    );
    const result = await runs.result(runId);
    const state = await runs.state(runId);
    assert.equal(
      result.status,
      'succeeded',
      JSON.stringify(state.stages.map((s) => ({ id: s.id, status: s.status, error: s.error }))),
    );
    const evaluate = byUses(state, 'evaluate');
    assert.equal(evaluate.outputs?.passed, false);
    assert.ok(
      (evaluate.outputs?.comparison as { gate: { reasons: string[] } }).gate.reasons.some((r) => /< min 1.01/.test(r)),
    );
    assert.equal(byUses(state, 'register-model').status, 'skipped');
    assert.equal((await showModel(h.store, bucket, 'surface-defects')).versions.length, 1, 'no new version');
  },
);
