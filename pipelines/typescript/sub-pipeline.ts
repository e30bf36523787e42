/** pipelines/sub-pipeline.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { expr, params, pipeline, stage } from '../../src/index';

const p = params({
  dataset: 's3://datasets/churn/2026-q3.csv',
  candidates: ['registry://churn-mlp@champion', 'registry://churn-mlp@latest'],
  epochs: 20,
  minF1: 0.6,
});
const prepare = stage('prepare', 'prepare-data');
const rank = stage('rank', 'select-model');
const train = stage('train', 'pipeline');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'churn-retrain',
    description:
      "Pick the best base model for this quarter's churn data, fine-tune and gate it in a sub-pipeline, register it",
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
    // The child file is read relative to the pipeline's file (compilePipeline's `file`, or `pipelineFiles`).
    train.run({
      with: {
        file: 'parts/train-and-evaluate.yaml',
        params: {
          model: rank.outputs.model,
          data: prepare.outputs.dataset,
          epochs: p.ref.epochs,
          minF1: p.ref.minF1,
        },
      },
    }),
    register.run({
      // A sub-pipeline's outputs are its stages' outputs, by stage id.
      when: expr('stages.train.outputs.evaluate.passed'),
      with: {
        model: expr('stages.train.outputs.finetune.model'),
        name: 'churn-mlp',
        alias: ['latest'],
        metrics: expr('stages.train.outputs.evaluate.metrics'),
      },
    }),
  ],
});
