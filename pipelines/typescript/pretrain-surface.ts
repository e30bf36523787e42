/** pipelines/pretrain-surface.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/surface-brushed/', epochs: 15 });
const prepare = stage('prepare', 'prepare-data');
const pretrain = stage('pretrain', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'pretrain-surface',
    description: "Pretrain the surface-cnn base model on line A's brushed-metal defect images",
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
        architecture: 'small-cnn-global-pool',
        data: prepare.outputs.dataset,
        epochs: p.ref.epochs,
        batchSize: 32,
        learningRate: 0.003,
        freeze: 'none',
        earlyStopping: { monitor: 'validation.accuracy', patience: 4 },
        checkpoint: { everyEpochs: 1 },
        seed: 1,
      },
    }),
    evaluate.run({
      with: {
        model: pretrain.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'confusionMatrix'],
        gate: { metric: 'accuracy', min: 0.8 },
      },
    }),
    register.run({
      when: evaluate.outputs.passed,
      with: {
        model: pretrain.outputs.model,
        name: 'surface-cnn',
        description: 'Small CNN (global max pooling) pretrained on brushed-metal surface defects, 28x28 grayscale',
        metrics: evaluate.outputs.metrics,
      },
    }),
  ],
});
