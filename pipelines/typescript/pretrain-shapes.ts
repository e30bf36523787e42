/** pipelines/pretrain-shapes.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/shapes/', epochs: 6 });
const prepare = stage('prepare', 'prepare-data');
const pretrain = stage('pretrain', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'pretrain-shapes',
    description: 'Pretrain the shapes-cnn base model (32x32 grayscale) on synthetic shapes',
    labels: { use: 'pretrain' },
  },
  params: p,
  defaults: { pool: 'cpu', timeout: '30m' },
  stages: [
    prepare.run({
      with: {
        source: p.ref.dataset,
        format: 'image-folder',
        image: { size: [32, 32], channels: 1 },
        split: { train: 0.7, validation: 0.15, test: 0.15, stratify: true, seed: 1 },
      },
    }),
    pretrain.run({
      pool: 'train',
      timeout: '1h',
      heartbeatTimeout: '2m',
      with: {
        architecture: 'small-cnn-global-pool',
        data: prepare.outputs.dataset,
        epochs: p.ref.epochs,
        batchSize: 16,
        learningRate: 0.003,
        freeze: 'none',
        earlyStopping: { monitor: 'validation.accuracy', patience: 2 },
        seed: 1,
      },
    }),
    evaluate.run({
      with: {
        model: pretrain.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'confusionMatrix'],
        gate: { metric: 'accuracy', min: 0.6 },
      },
    }),
    register.run({
      when: evaluate.outputs.passed,
      with: {
        model: pretrain.outputs.model,
        name: 'shapes-cnn',
        alias: 'latest',
        description: 'Small CNN pretrained on synthetic shapes (32x32 grayscale)',
        metrics: evaluate.outputs.metrics,
      },
    }),
  ],
});
