/**
 * A whole from-scratch sweep on the real stack (Temporal + MinIO started by scripts/test.sh): prepare a seeded loan
 * CSV, sweep an mlp trained from random weights (`trial: {architecture: mlp}`) over `hiddenUnits` × `hiddenLayers`
 * on a grid, fine-tune `architecture: mlp` with `hyperparameters: best`, evaluate. What it checks is the shape of
 * every network along the way, read from the saved model.json files: each trial trained the mlp its row in the
 * sweep record names, the winner's shape reached the final fine-tune (its training record and its layers), and the
 * final model is that shape. A build whose trials ignore the searched shape trains [32, 16] in every trial, and
 * the per-trial layer check fails.
 *
 * Run with: bash scripts/test.sh integration test/e2e/sweep-from-scratch.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SweepResultsDocument } from '../../src/core/sweep/sweep-results';
import { loanPrepareYaml } from '../fixtures/runtime/loan-sweep';
import { generateLoans, pushLoanCsv } from './helpers/example-data';
import { assertStages, assertSucceeded, startExampleRuntime, type ExampleRuntime } from './helpers/example-runtime';

let rt: ExampleRuntime;

before(async () => {
  rt = await startExampleRuntime();
});

after(async () => {
  await rt?.close();
});

const PIPELINE = `${loanPrepareYaml({ name: 'sweep-from-scratch', imputeMissing: true })}  sweep:
    uses: hyperparameter-sweep
    pool: train
    with:
      data: \${{ stages.prepare.outputs.dataset }}
      objective: {metric: validation.loss, goal: minimize}
      algorithm: grid
      maxTrials: 4
      parallelism: 2
      trial: {architecture: mlp, epochs: 2, batchSize: 32, learningRate: 0.01, classWeights: balanced, seed: 3}
      space:
        hiddenUnits: {choice: [5, 40]}
        hiddenLayers: {choice: [1, 3]}
  train:
    uses: fine-tune
    pool: train
    with:
      architecture: mlp
      data: \${{ stages.prepare.outputs.dataset }}
      hyperparameters: \${{ stages.sweep.outputs.best }}
      epochs: 2
  evaluate:
    uses: evaluate
    with:
      model: \${{ stages.train.outputs.model }}
      data: \${{ stages.prepare.outputs.dataset }}
      metrics: [accuracy, f1]
`;

/** The units of each Dense layer of a saved tfjs model, in order (a Sequential topology, maybe in model_config). */
async function denseUnits(modelJson: string): Promise<number[]> {
  interface Topology {
    readonly config?: { readonly layers?: { class_name: string; config: { units?: number } }[] };
    readonly model_config?: Topology;
  }
  const { modelTopology } = await rt.harness.store.getJson<{ modelTopology: Topology }>(modelJson);
  const layers = (modelTopology.model_config ?? modelTopology).config?.layers ?? [];
  return layers.filter((layer) => layer.class_name === 'Dense').map((layer) => layer.config.units ?? 0);
}

/** Hidden layers of an mlp of this shape, then the two-class softmax head. */
function mlpUnits(hiddenLayers: number, hiddenUnits: number): number[] {
  return [...new Array<number>(hiddenLayers).fill(hiddenUnits), 2];
}

test(
  'a from-scratch mlp sweep over hiddenUnits × hiddenLayers: each trial trains its shape, the best shape is fine-tuned',
  { timeout: 180_000 },
  async (t) => {
    const dataset = `s3://${rt.bucket}/datasets/loans-scratch/`;
    await pushLoanCsv(rt.harness.store, `${dataset}loans.csv`, generateLoans(300, 42));
    const started = Date.now();
    const run = await rt.run(rt.plan({ yaml: PIPELINE, name: 'sweep-from-scratch.yaml' }, { dataset }));
    assertSucceeded(run);
    assertStages(run, { prepare: 'succeeded', sweep: 'succeeded', train: 'succeeded', evaluate: 'succeeded' });
    t.diagnostic(`the pipeline ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // The sweep record: the grid's four shapes, every trial completed.
    const sweep = run.stage('sweep').outputs ?? {};
    const record = await rt.harness.store.getJson<SweepResultsDocument>(String(sweep.results));
    const shapes = record.rows.map((row) => [row.params.hiddenLayers, row.params.hiddenUnits]);
    assert.deepEqual(
      [...shapes].sort((a, b) => String(a).localeCompare(String(b))),
      [
        [1, 40],
        [1, 5],
        [3, 40],
        [3, 5],
      ],
    );
    assert.deepEqual(
      record.rows.map((row) => row.status),
      ['completed', 'completed', 'completed', 'completed'],
      JSON.stringify(record.rows.map((row) => ({ trialId: row.trialId, error: row.error }))),
    );

    // Every trial trained, from random weights, the network its row names.
    const bestModel = String(sweep.bestModel);
    assert.match(bestModel, /\/trials\/trial-\d{4}\/model\/model\.json$/);
    for (const row of record.rows) {
      const trialModel = bestModel.replace(
        /trial-\d{4}\/model\/model\.json$/,
        `trial-${String(row.trialId).padStart(4, '0')}/model/model.json`,
      );
      const { hiddenLayers, hiddenUnits } = row.params as { hiddenLayers: number; hiddenUnits: number };
      assert.deepEqual(
        await denseUnits(trialModel),
        mlpUnits(hiddenLayers, hiddenUnits),
        `trial ${row.trialId} (${JSON.stringify(row.params)}) trained the mlp it sampled`,
      );
    }

    // The winner's shape reached the fine-tune, which trained exactly that network.
    const best = sweep.best as { hiddenLayers: number; hiddenUnits: number };
    const winner = record.rows.find((row) => row.trialId === record.bestTrialId);
    assert.deepEqual(best, winner?.params);
    const finalModel = String(run.stage('train').outputs?.model);
    const training = await rt.harness.store.getJson<{ mode: string; hyperparameters: Record<string, unknown> }>(
      finalModel.replace(/model\.json$/, 'training.json'),
    );
    assert.equal(training.mode, 'from-scratch');
    assert.equal(training.hyperparameters.hiddenLayers, best.hiddenLayers);
    assert.equal(training.hyperparameters.hiddenUnits, best.hiddenUnits);
    assert.deepEqual(await denseUnits(finalModel), mlpUnits(best.hiddenLayers, best.hiddenUnits));

    // And the evaluate stage scored that model on the test split.
    const metrics = run.stage('evaluate').outputs?.metrics as { accuracy: number; count: number };
    assert.equal(metrics.count, 45);
    assert.ok(metrics.accuracy >= 0 && metrics.accuracy <= 1, JSON.stringify(metrics));
    t.diagnostic(
      `best trial ${record.bestTrialId}: ${best.hiddenLayers}×${best.hiddenUnits}; final model ` +
        `${JSON.stringify(await denseUnits(finalModel))}, test accuracy ${metrics.accuracy.toFixed(3)} on ${metrics.count}`,
    );
  },
);
