/** pipelines/defect-detection.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({
  dataset: 's3://datasets/defects/',
  minAccuracy: 0.8,
  maxTrials: { type: 'integer', default: 12, description: 'trials of the hyperparameter sweep' },
});
const select = stage('select', 'select-model');
const prepare = stage('prepare', 'prepare-data');
const sweep = stage('sweep', 'hyperparameter-sweep');
const finetune = stage('finetune', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'defect-detector',
    description: 'Fine-tune a CNN to flag surface defects',
    labels: { team: 'quality', line: 'press-3' },
  },
  params: p,
  defaults: {
    pool: 'cpu',
    timeout: '30m',
    retry: { maxAttempts: 3, initialInterval: '5s', backoffCoefficient: 2 },
    onFailure: 'pause',
  },
  stages: [
    select.run({
      with: {
        candidates: ['registry://digits-cnn@latest', 'registry://shapes-cnn@latest'],
        data: prepare.outputs.dataset,
        rankBy: 'linear-probe',
        sampleSize: 256,
      },
    }),
    prepare.run({
      with: {
        source: p.ref.dataset,
        format: 'image-folder',
        image: { size: [32, 32], channels: 1 },
        split: { train: 0.7, validation: 0.15, test: 0.15, stratify: true, seed: 7 },
        clean: { dropDuplicates: true, dropInvalid: true },
      },
    }),
    sweep.run({
      pool: 'train',
      timeout: '2h',
      with: {
        model: select.outputs.model,
        data: prepare.outputs.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        algorithm: 'tpe',
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, maxEpochs: 9 },
        maxTrials: p.ref.maxTrials,
        parallelism: 2,
        space: {
          learningRate: { logUniform: [1.0e-4, 1.0e-2] },
          unfreeze: { choice: [0, 2, 4] },
          batchSize: { choice: [16, 32] },
        },
        trial: { epochs: 9, augmentation: { flipHorizontal: true, rotate: 15 } },
      },
    }),
    finetune.run({
      pool: 'train',
      timeout: '2h',
      heartbeatTimeout: '2m',
      cache: { maxAge: '7d' },
      with: {
        model: select.outputs.model,
        data: prepare.outputs.dataset,
        hyperparameters: sweep.outputs.best,
        epochs: 20,
        classWeights: 'balanced',
        augmentation: { flipHorizontal: true, flipVertical: true, rotate: 15, brightness: 0.1 },
        earlyStopping: { monitor: 'validation.loss', patience: 3, restoreBest: true },
        checkpoint: { everyEpochs: 1 },
      },
    }),
    evaluate.run({
      with: {
        model: finetune.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'precision', 'recall', 'f1', 'confusionMatrix', 'rocAuc', 'calibrationError'],
        baseline: 'registry://defect-detector@champion',
        gate: { metric: 'accuracy', min: p.ref.minAccuracy, beatBaseline: true },
      },
    }),
    register.run({
      when: evaluate.outputs.passed,
      with: {
        model: finetune.outputs.model,
        name: 'defect-detector',
        alias: 'champion',
        metrics: evaluate.outputs.metrics,
        tags: { line: 'press-3' },
      },
    }),
  ],
});
