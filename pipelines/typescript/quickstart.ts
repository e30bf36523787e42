/** pipelines/quickstart.yaml (the demo) in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/surface-cast/', examplesPerClass: 20, epochs: 20, minAccuracy: 0.6 });
const select = stage('select', 'select-model');
const prepare = stage('prepare', 'prepare-data');
const finetune = stage('finetune', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'quickstart',
    description:
      'Fine-tune a surface-defect CNN from line A on a few labelled images of line B, against training from scratch',
    labels: { team: 'ml-platform', use: 'demo' },
  },
  params: p,
  defaults: {
    pool: 'cpu',
    timeout: '30m',
    retry: { maxAttempts: 3, initialInterval: '5s', backoffCoefficient: 2 },
    onFailure: 'fail',
  },
  stages: [
    // select is listed first and ranks on prepare's dataset: handles exist before stages are configured.
    select.run({
      with: {
        candidates: ['registry://surface-cnn@latest'],
        data: prepare.outputs.dataset,
        rankBy: 'linear-probe',
        sampleSize: 200,
      },
    }),
    prepare.run({
      with: {
        source: p.ref.dataset,
        format: 'image-folder',
        image: { size: [28, 28], channels: 1 },
        limitPerClass: p.ref.examplesPerClass,
        split: { train: 0.6, validation: 0.2, test: 0.2, stratify: true, seed: 7 },
        clean: { dropDuplicates: true, dropInvalid: true },
      },
    }),
    finetune.run({
      pool: 'train',
      timeout: '20m',
      heartbeatTimeout: '2m',
      with: {
        model: select.outputs.model,
        data: prepare.outputs.dataset,
        epochs: p.ref.epochs,
        batchSize: 16,
        learningRate: 0.05,
        freeze: 'all',
        head: 'replace',
        twoPhase: { headEpochs: 10, unfreeze: 5, learningRateFactor: 0.1 },
        earlyStopping: { monitor: 'validation.accuracy', patience: 3, restoreBest: true },
        checkpoint: { everyEpochs: 1 },
        seed: 7,
      },
    }),
    evaluate.run({
      with: {
        model: finetune.outputs.model,
        data: prepare.outputs.dataset,
        metrics: ['accuracy', 'f1', 'confusionMatrix'],
        fromScratch: { epochs: 30, learningRate: 0.003, batchSize: 16, seed: 7 },
        gate: { metric: 'accuracy', min: p.ref.minAccuracy },
      },
    }),
    register.run({
      when: evaluate.outputs.passed,
      with: {
        model: finetune.outputs.model,
        name: 'surface-defects',
        alias: ['champion'],
        metrics: evaluate.outputs.metrics,
        description: 'surface-cnn fine-tuned on 20 labelled line-B images per class',
      },
    }),
  ],
});
