/** pipelines/tabular.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { expr, params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/churn/2026-q3.csv', baseModel: 'registry://churn-mlp@latest', minF1: 0.7 });
const prepare = stage('prepare', 'prepare-data');
const finetune = stage('finetune', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'churn-tabular',
    description: 'Fine-tune a tabular MLP on shifted customer data, with per-region metrics',
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
        clean: { dropDuplicates: true, dropInvalid: true },
        normalize: true,
      },
    }),
    finetune.run({
      with: {
        model: p.ref.baseModel,
        data: prepare.outputs.dataset,
        epochs: 30,
        batchSize: 128,
        learningRate: 0.003,
        optimizer: 'adam',
        warmupEpochs: 2,
        decay: { type: 'cosine', minLearningRate: 1.0e-5 },
        freeze: 1,
        classWeights: 'balanced',
        dropout: 0.2,
        l2: 0.0001,
        earlyStopping: { monitor: 'validation.loss', patience: 4 },
      },
    }),
    evaluate.run({
      with: {
        model: finetune.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'rocAuc', 'calibrationError'],
        slices: ['region'],
        baseline: p.ref.baseModel,
        gate: { metric: 'f1', min: p.ref.minF1 },
      },
    }),
    register.run({
      when: expr<boolean>('stages.evaluate.outputs.passed && stages.evaluate.outputs.metrics.f1 >= params.minF1'),
      with: {
        model: finetune.outputs.model,
        name: 'churn-mlp',
        alias: ['latest', 'q3'],
        metrics: evaluate.outputs.metrics,
      },
    }),
  ],
});
