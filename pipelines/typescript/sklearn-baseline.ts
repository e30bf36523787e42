/** pipelines/sklearn-baseline.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { expr, params, pipeline, stage } from '../../src/index';

const p = params({
  dataset: 's3://datasets/churn/2026-q3.csv',
  baseModel: 'registry://churn-mlp@latest',
  code: 's3://datasets/code/sklearn-baseline/sklearn_baseline.py',
  pythonEnv: 'scikit-learn==1.9.1',
  baselineModel: 'logistic-regression',
});
const prepare = stage('prepare', 'prepare-data');
const finetune = stage('finetune', 'fine-tune');
const baseline = stage('baseline', 'command');
const evaluate = stage('evaluate', 'evaluate');

export default pipeline({
  metadata: {
    name: 'churn-sklearn-baseline',
    description: 'Fine-tune the churn MLP and compare it with a scikit-learn baseline on the same split',
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
    finetune.run({
      with: {
        model: p.ref.baseModel,
        data: prepare.outputs.dataset,
        epochs: 20,
        batchSize: 64,
        learningRate: 0.003,
        freeze: 1,
        classWeights: 'balanced',
        earlyStopping: { monitor: 'validation.loss', patience: 4 },
      },
    }),
    baseline.run({
      timeout: '10m',
      retry: { maxAttempts: 2, initialInterval: '5s' },
      with: {
        run: ['python', 'sklearn_baseline.py', '--data', 'inputs/data', '--model', p.ref.baselineModel],
        inputs: {
          data: { uri: prepare.outputs.dataset, as: 'dataset' },
          script: { uri: p.ref.code, path: 'sklearn_baseline.py' },
        },
        outputs: { predictions: 'out/predictions.json', model: 'out/model.pkl' },
        environment: { digest: p.ref.pythonEnv },
      },
    }),
    evaluate.run({
      with: {
        model: finetune.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'rocAuc'],
        predictions: { sklearn: expr<string>('stages.baseline.outputs.artifacts.predictions') },
      },
    }),
  ],
});
