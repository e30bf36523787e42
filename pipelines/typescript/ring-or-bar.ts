/** pipelines/ring-or-bar.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/ringbar/', minAccuracy: 0.8 });
const prepare = stage('prepare', 'prepare-data');
const sweep = stage('sweep', 'hyperparameter-sweep');
const train = stage('train', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: { name: 'ring-or-bar', description: 'Tell rings from bars in camera crops' },
  params: p,
  defaults: { pool: 'cpu', timeout: '20m' },
  stages: [
    prepare.run({
      with: {
        source: p.ref.dataset,
        format: 'image-folder',
        image: { size: [32, 32], channels: 1 },
        split: { train: 0.7, validation: 0.15, test: 0.15, seed: 3 },
        quality: { unsupportedFiles: 'warn' },
      },
    }),
    sweep.run({
      with: {
        data: prepare.outputs.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        algorithm: 'random',
        maxTrials: 6,
        trial: { architecture: 'small-cnn', epochs: 6, augmentation: { flipHorizontal: true } },
        space: {
          learningRate: { logUniform: [1.0e-3, 1.0e-2] },
          batchSize: { choice: [8, 16] },
        },
      },
    }),
    train.run({
      with: {
        architecture: 'small-cnn',
        data: prepare.outputs.dataset,
        hyperparameters: sweep.outputs.best,
        augmentation: { flipHorizontal: true },
        epochs: 12,
        earlyStopping: { monitor: 'validation.accuracy', patience: 4 },
      },
    }),
    evaluate.run({
      with: {
        model: train.outputs.model,
        data: prepare.outputs.dataset,
        gate: { metric: 'accuracy', min: p.ref.minAccuracy, beat: ['majority'] },
      },
    }),
    register.run({
      when: evaluate.outputs.passed,
      with: { model: train.outputs.model, name: 'ring-or-bar', alias: 'champion' },
    }),
  ],
});
