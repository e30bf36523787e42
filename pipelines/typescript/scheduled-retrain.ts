/** pipelines/scheduled-retrain.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/defects/', minAccuracy: 0.8 });
const prepare = stage('prepare', 'prepare-data');
const tune = stage('tune', 'hyperparameter-sweep');
const finetune = stage('finetune', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');
const register = stage('register', 'register-model');

export default pipeline({
  metadata: {
    name: 'defect-retrain',
    description: 'Retrain the defect detector nightly and when new labelled images arrive',
    labels: { team: 'quality' },
  },
  params: p,
  defaults: {
    pool: 'cpu',
    timeout: '45m',
    retry: { maxAttempts: 5, initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '10m' },
    onFailure: 'fail',
    cache: { maxAge: '30d' },
  },
  schedule: {
    cron: '0 3 * * *',
    timezone: 'Europe/Berlin',
    jitter: '5m',
    overlap: 'skip',
    catchupWindow: '6h',
    pauseOnFailure: true,
  },
  triggers: [
    {
      newData: { path: p.ref.dataset, debounce: '10m', pollInterval: '1m', minObjects: 20, overlap: 'buffer-one' },
    },
  ],
  stages: [
    prepare.run({
      cache: false,
      with: {
        source: p.ref.dataset,
        format: 'image-folder',
        image: { size: [32, 32], channels: 1 },
        split: { train: 0.7, validation: 0.15, test: 0.15, stratify: true, seed: 7 },
      },
    }),
    tune.run({
      pool: 'train',
      timeout: '1h',
      with: {
        model: 'registry://defect-detector@champion',
        data: prepare.outputs.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        algorithm: 'tpe',
        tpe: { startupTrials: 4 },
        warmStart: { sweeps: 7, maxTrials: 200 },
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1 },
        maxTrials: 6,
        parallelism: 2,
        space: {
          learningRate: { logUniform: [1.0e-4, 3.0e-3] },
          unfreeze: { choice: [1, 2, 3] },
        },
        trial: { epochs: 3, freeze: 'all' },
      },
    }),
    finetune.run({
      pool: 'train',
      timeout: '2h',
      heartbeatTimeout: '2m',
      with: {
        model: 'registry://defect-detector@champion',
        data: prepare.outputs.dataset,
        hyperparameters: tune.outputs.best,
        epochs: 10,
        freeze: 'all',
        earlyStopping: { monitor: 'validation.loss', patience: 3 },
        checkpoint: { everyEpochs: 1 },
      },
    }),
    evaluate.run({
      with: {
        model: finetune.outputs.model,
        data: prepare.outputs.dataset,
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
      },
    }),
  ],
});
