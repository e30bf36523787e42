/** pipelines/pretrain-churn.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/churn/2026-q2.csv', epochs: 15 });
const prepare = stage('prepare', 'prepare-data');
const pretrain = stage('pretrain', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'pretrain-churn',
    description: "Pretrain the churn-mlp base model on last quarter's churn export",
    labels: { use: 'pretrain' },
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
    pretrain.run({
      pool: 'train',
      with: {
        architecture: 'mlp',
        data: prepare.outputs.dataset,
        epochs: p.ref.epochs,
        batchSize: 32,
        learningRate: 0.01,
        freeze: 'none',
        earlyStopping: { monitor: 'validation.loss', patience: 3 },
        seed: 11,
      },
    }),
    evaluate.run({
      with: {
        model: pretrain.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'rocAuc'],
        gate: { metric: 'rocAuc', min: 0.7 },
      },
    }),
    register.run({
      when: evaluate.outputs.passed,
      with: {
        model: pretrain.outputs.model,
        name: 'churn-mlp',
        alias: 'latest',
        description: 'MLP pretrained on the 2026 Q2 churn export (tenure, spend, tickets, plan, region)',
        metrics: evaluate.outputs.metrics,
      },
    }),
  ],
});
