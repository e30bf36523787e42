/** pipelines/loan-default.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/loans/', minF1: 0.6 });
const prepare = stage('prepare', 'prepare-data');
const sweep = stage('sweep', 'hyperparameter-sweep');
const train = stage('train', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: { name: 'loan-default', description: 'Predict loan default from an applications CSV' },
  params: p,
  defaults: { pool: 'cpu', timeout: '20m', onFailure: 'pause' },
  schedule: { cron: '0 4 * * 1', overlap: 'skip' },
  triggers: [{ newData: { path: p.ref.dataset, debounce: '1m', pollInterval: '30s' } }],
  stages: [
    prepare.run({
      with: {
        source: p.ref.dataset,
        format: 'csv',
        labelColumn: 'default',
        split: { train: 0.7, validation: 0.15, test: 0.15, stratify: true, seed: 1 },
        clean: { missing: 'impute' },
        quality: { imbalance: 'warn', maxImbalance: 4 },
      },
    }),
    sweep.run({
      with: {
        data: prepare.outputs.dataset,
        objective: { metric: 'validation.loss', goal: 'minimize' },
        algorithm: 'random',
        maxTrials: 8,
        parallelism: 2,
        trial: { architecture: 'mlp', epochs: 10, classWeights: 'balanced' },
        space: {
          learningRate: { logUniform: [1.0e-3, 3.0e-2] },
          batchSize: { choice: [16, 32] },
          hiddenUnits: { choice: [8, 32, 128] },
          hiddenLayers: { int: [1, 3] },
        },
      },
    }),
    train.run({
      with: {
        architecture: 'mlp',
        data: prepare.outputs.dataset,
        hyperparameters: sweep.outputs.best,
        epochs: 30,
        classWeights: 'balanced',
        earlyStopping: { monitor: 'validation.loss', patience: 4 },
      },
    }),
    evaluate.run({
      with: {
        model: train.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'rocAuc'],
        slices: ['employment'],
        baseline: 'registry://loan-default@champion',
        gate: { metric: 'f1', min: p.ref.minF1, beatBaseline: true },
      },
    }),
    register.run({
      when: evaluate.outputs.passed,
      with: { model: train.outputs.model, name: 'loan-default', alias: 'champion', metrics: evaluate.outputs.metrics },
    }),
  ],
});
