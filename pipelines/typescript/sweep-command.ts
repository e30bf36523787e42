/** pipelines/sweep-command.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({
  dataset: 's3://datasets/churn/2026-q3.csv',
  code: 's3://datasets/code/sweep-command/',
  maxTrials: 12,
  parallelism: 2,
  targetAccuracy: 0.97,
});
const prepare = stage('prepare', 'prepare-data');
const sweep = stage('sweep', 'hyperparameter-sweep');

export default pipeline({
  metadata: {
    name: 'churn-sgd-sweep',
    description: 'Random search with ASHA over a scikit-learn program run as command trials',
    labels: { team: 'growth' },
  },
  params: p,
  defaults: { pool: 'cpu', timeout: '20m' },
  stages: [
    prepare.run({
      with: {
        source: p.ref.dataset,
        format: 'csv',
        labelColumn: 'churned',
        featureColumns: ['tenureMonths', 'monthlySpend', 'supportTickets', 'plan', 'region'],
        split: { train: 0.7, validation: 0.15, test: 0.15, stratify: true, seed: 11 },
      },
    }),
    sweep.run({
      timeout: '10m',
      with: {
        objective: { metric: 'validation_accuracy', goal: 'maximize', target: p.ref.targetAccuracy },
        algorithm: 'random',
        maxTrials: p.ref.maxTrials,
        parallelism: p.ref.parallelism,
        seed: 7,
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, maxEpochs: 9 },
        space: {
          'params.alpha': { logUniform: [1.0e-5, 1.0e-1] },
          'params.eta0': { logUniform: [1.0e-4, 1.0] },
          'params.loss': { choice: ['log_loss', 'hinge', 'modified_huber'] },
        },
        trialStage: {
          uses: 'command',
          with: {
            run: ['python', 'code/sgd_trial.py', '--data', 'inputs/data', '--steps', '9'],
            inputs: {
              data: { uri: prepare.outputs.dataset, as: 'dataset' },
              code: { uri: p.ref.code, as: 'folder', path: 'code' },
            },
            environment: { digest: 'scikit-learn==1.9.1' },
          },
        },
      },
    }),
  ],
});
