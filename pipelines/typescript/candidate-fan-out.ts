/** pipelines/candidate-fan-out.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { expr, params, pipeline, run, stage } from '../../src/index';

const p = params({
  dataset: 's3://datasets/churn/2026-q3.csv',
  candidates: ['registry://churn-mlp@champion', 'registry://churn-mlp@latest'],
  epochs: 20,
  webhook: 'https://hooks.example.com/services/churn',
});
const prepare = stage('prepare', 'prepare-data');
const rank = stage('rank', 'select-model');
const tune = stage('tune', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const notify = stage('notify', 'notify');

export default pipeline({
  metadata: {
    name: 'churn-candidates',
    description: 'Fine-tune every candidate base model on new data, keep the best, and tell the team how it went',
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
        normalize: true,
      },
    }),
    rank.run({ with: { candidates: p.ref.candidates, data: prepare.outputs.dataset } }),
    tune.run({
      forEach: rank.outputs.ranking,
      parallelism: 2,
      minSuccessRatio: 0.5,
      with: {
        model: expr('item.model'),
        data: prepare.outputs.dataset,
        epochs: p.ref.epochs,
        batchSize: 64,
        learningRate: 0.003,
        freeze: 1,
        classWeights: 'balanced',
        earlyStopping: { monitor: 'validation.loss', patience: 4 },
      },
    }),
    evaluate.run({
      with: {
        model: expr("stages.tune.outputs.model[argmax(pluck(stages.tune.outputs.metrics, 'validation.accuracy'))]"),
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'rocAuc'],
      },
    }),
  ],
  finally: [
    notify.run({
      with: {
        url: p.ref.webhook,
        message: `churn-candidates ${run.status}: test accuracy \${{ stages.evaluate.outputs?.metrics?.accuracy }}, failed stages ${run.failedStages}`,
        data: expr('stages.evaluate.outputs?.metrics'),
      },
    }),
  ],
});
