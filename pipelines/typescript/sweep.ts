/** pipelines/sweep.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ dataset: 's3://datasets/shapes/', maxTrials: 24, parallelism: 4 });
const prepare = stage('prepare', 'prepare-data');
const sweep = stage('sweep', 'hyperparameter-sweep');
const finetune = stage('finetune', 'fine-tune');
const evaluate = stage('evaluate', 'evaluate');

export default pipeline({
  metadata: {
    name: 'shapes-sweep',
    description: 'TPE + ASHA sweep of fine-tuning settings, then a full run with the best',
  },
  params: p,
  defaults: { timeout: '1h' },
  stages: [
    prepare.run({
      with: {
        source: p.ref.dataset,
        format: 'image-folder',
        image: { size: [28, 28], channels: 1 },
        limitPerClass: 50,
      },
    }),
    sweep.run({
      pool: 'train',
      timeout: '3h',
      with: {
        model: 'registry://digits-cnn@latest',
        data: prepare.outputs.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        algorithm: 'tpe',
        tpe: { startupTrials: 8, candidates: 24 },
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, maxEpochs: 9 },
        maxTrials: p.ref.maxTrials,
        maxFailedTrials: 3,
        parallelism: p.ref.parallelism,
        timeBudget: '2h',
        seed: 3,
        space: {
          learningRate: { logUniform: [1.0e-4, 3.0e-2] },
          batchSize: { choice: [16, 32, 64] },
          unfreeze: { int: [0, 4] },
          dropout: { uniform: [0.0, 0.5] },
          optimizer: { choice: ['adam', 'rmsprop'] },
          freeze: 'all',
        },
        trial: { epochs: 9 },
      },
    }),
    finetune.run({
      pool: 'train',
      heartbeatTimeout: '2m',
      with: {
        model: sweep.outputs.bestModel,
        data: prepare.outputs.dataset,
        hyperparameters: sweep.outputs.best,
        epochs: 15,
      },
    }),
    evaluate.run({
      with: { model: finetune.outputs.model, data: prepare.outputs.dataset, fromScratch: true },
    }),
  ],
});
