/**
 * fine-tune through MockActivityEnvironment with the in-memory store. Training runs in-process
 * here (the child process cannot see an in-memory store); the e2e tests run the child process
 * against MinIO. Covers: outputs and the training record, heartbeat progress with the checkpoint
 * URI, cancellation, resuming from the checkpoint named in the previous attempt's heartbeat
 * details, the translation of the stage's settings, and inputs that can never succeed.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createFineTuneStage,
  readTrainingRecord,
  trainingPlan,
  effectiveSettings,
  baseWeightLayers,
} from '../../../activities/fine-tune';
import { loadTf } from '../../../src/ml/backend';
import { loadModel } from '../../../src/ml/models/load-model';
import type { TrainingRunner } from '../../../src/ml/train/child-runner';
import type { TrainingRequest } from '../../../src/ml/train/types';
import { inProcessTrainingRunner } from '../../../src/ml/train/fine-tune';
import type { StageProgress } from '../../../src/core/run/run-types';
import { writePreprocessingBeside } from '../../../src/ml/data/preprocessing-file';
import { PREPROCESSING_FORMAT } from '../../../src/ml/data/preprocessing';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { CLASSES, preparedBars, recordingTrainingRunner, registeredBase } from './fixtures';

let store: MemoryObjectStore;
let dataset: string;
let base: string;

/** Trains in this process on the given store (the child a worker forks cannot see an in-memory store). */
const inProcess = (target: MemoryObjectStore) => inProcessTrainingRunner(target, { tfBackend: 'cpu' });

before(async () => {
  store = memoryStore();
  dataset = await preparedBars(store, `s3://${BUCKET}/runs/prep/prepare/dataset`);
  base = await registeredBase(store);
});

const baseInputs = () => ({
  data: dataset,
  epochs: 4,
  batchSize: 8,
  learningRate: 0.01,
  freeze: 'none',
  checkpoint: { everyEpochs: 1 },
  seed: 3,
});

test('fine-tunes a registry base: outputs, history, backend, checkpoint, training record and progress heartbeats', async () => {
  const stage = createFineTuneStage({ runTraining: inProcess(store) });
  const context = stageContext('finetune', { runId: 'ft-1' });
  const { result, heartbeats } = await runStage('fine-tune', stage, store, context, { ...baseInputs(), model: base });
  const outputs = result.outputs as Record<string, unknown>;
  assert.equal(outputs.model, `s3://${BUCKET}/runs/ft-1/finetune/model/model.json`);
  assert.equal(outputs.backend, 'cpu');
  assert.equal((outputs.history as unknown[]).length, 4);
  assert.match(String(outputs.checkpoint), /^s3:\/\/fineflow\/runs\/ft-1\/finetune\/checkpoints\/epoch-0004$/);
  const metrics = outputs.metrics as Record<string, Record<string, number> | number>;
  assert.equal(metrics.epochsTrained, 4);
  assert.equal(metrics.resumedFromEpoch, 0);
  assert.ok(typeof (metrics.validation as Record<string, number>).accuracy === 'number');
  // Progress: one heartbeat per epoch with epoch/loss/metrics and the newest checkpoint.
  const epochBeats = heartbeats.filter(
    (h) => typeof h.detail?.epoch === 'number' && (h.detail.epoch as number) > 0 && h.message?.startsWith('epoch'),
  );
  assert.deepEqual([...new Set(epochBeats.map((h) => h.detail?.epoch))], [1, 2, 3, 4]);
  assert.match(String(epochBeats[1]?.detail?.checkpoint), /checkpoints\/epoch-0002$/);
  // The phase in the words of the charts (`trainingPhaseLabel`): "phase fine-tune", never a bare "fine-tune".
  assert.match(epochBeats[0]?.message ?? '', /^epoch 1\/4 \(phase (head|fine-tune)\) loss=/);
  assert.equal(epochBeats[0]?.detail?.baseModel, 'registry://tiny-base@1', 'the base is pinned to a version');
  // The training record beside the model carries the lineage register-model needs.
  const record = await readTrainingRecord(store, String(outputs.model));
  assert.equal(record?.baseModel, base);
  assert.equal(record?.baseModelResolved, 'registry://tiny-base@1');
  assert.equal(record?.dataset, dataset);
  assert.deepEqual(record?.classes, [...CLASSES]);
  assert.equal(record?.hyperparameters.learningRate, 0.01);
  // Artifacts: the model files with sha256, never checkpoints or logs.
  const uris = (result.artifacts ?? []).map((a) => a.uri);
  assert.ok(uris.some((u) => u.endsWith('/model/weights.bin')));
  assert.ok(!uris.some((u) => u.includes('/checkpoints/') || u.includes('/logs/')));
  assert.ok(!uris.some((u) => u.endsWith('/base-model-pin.json')), 'the pin record is working state, not an output');
  assert.ok(!uris.some((u) => u.endsWith('/@attempt.json')), 'the attempt claim is the fence, not an output');
});

test('a cancelled attempt stops at once; the retry resumes from the checkpoint in its heartbeat details and trains only the rest', async () => {
  const stage = createFineTuneStage({ runTraining: inProcess(store) });
  const context = stageContext('finetune', { runId: 'ft-resume' });
  const inputs = { ...baseInputs(), epochs: 5, model: base };
  let last: StageProgress | undefined;
  const failure = await stageFailure(
    runStage('fine-tune', stage, store, context, inputs, {
      onEnvironment: (env) => {
        env.on('heartbeat', (details: StageProgress) => {
          last = details;
          if (details.detail?.epoch === 2 && typeof details.detail.checkpoint === 'string') env.cancel();
        });
      },
    }),
  );
  assert.match(failure.message, /cancel/i);
  assert.match(String(last?.detail?.checkpoint), /epoch-0002$/);
  assert.ok(
    !(await store.stat(`s3://${BUCKET}/runs/ft-resume/finetune/model/model.json`)),
    'the cancelled attempt saved no model',
  );

  const { result } = await runStage('fine-tune', stage, store, { ...context, attempt: 1 }, inputs, {
    info: { attempt: 2, heartbeatDetails: last },
  });
  const metrics = result.outputs.metrics as Record<string, number>;
  assert.equal(metrics.resumedFromEpoch, 2);
  assert.equal(metrics.epochsTrained, 3, 'only the epochs after the checkpoint were trained');
  assert.equal((result.outputs.history as unknown[]).length, 5, 'the history still covers every epoch');
});

test('an epoch checkpointed but not reported before the attempt died is logged by the retry, from the checkpoint', async () => {
  // The training child writes an epoch's checkpoint, then reports the epoch: a kill between the two left that epoch
  // in no attempt's log while the retry resumed after it (e2e fine-tune-resume saw epochs 1…6, then 8…16).
  const runId = 'ft-unreported';
  const context = stageContext('finetune', { runId });
  const inputs = { ...baseInputs(), epochs: 5, model: base };
  const dies: TrainingRunner = (request, options) =>
    inProcess(store)(request, {
      ...options,
      onProgress: (progress) => {
        if (progress.epoch === 3) throw new Error('training process was killed (SIGKILL)');
        options.onProgress?.(progress);
      },
    });
  await stageFailure(runStage('fine-tune', createFineTuneStage({ runTraining: dies }), store, context, inputs));
  const { result } = await runStage(
    'fine-tune',
    createFineTuneStage({ runTraining: inProcess(store) }),
    store,
    context,
    inputs,
    { info: { attempt: 2 } },
  );
  assert.equal((result.outputs.metrics as Record<string, number>).resumedFromEpoch, 3);
  const logs = await listStageLogs(store, BUCKET, runId, 'finetune');
  const epochsOf = async (attempt: number): Promise<string[]> => {
    const log = logs.find((each) => each.attempt === attempt);
    assert.ok(log, `attempt ${attempt} wrote a log`);
    return (await stageLogText(store, log)).split('\n').filter((line) => / epoch \d+\/5 /.test(line));
  };
  const [first, second] = [await epochsOf(1), await epochsOf(2)];
  assert.deepEqual(
    first.map((line) => / epoch (\d+)\//.exec(line)?.[1]),
    ['1', '2'],
  );
  assert.deepEqual(
    second.map((line) => / epoch (\d+)\//.exec(line)?.[1]),
    ['3', '4', '5'],
  );
  assert.match(
    second[0] ?? '',
    /epoch 3\/5 \(.*\) loss=.* val_acc=.* \(trained by attempt 1, which checkpointed it and was stopped before reporting it; from the checkpoint\)$/,
  );
  const history = result.outputs.history as { validationAccuracy: number }[];
  assert.match(second[0] ?? '', new RegExp(`val_acc=${String(history[2]?.validationAccuracy).slice(0, 4)}`));

  // A retry whose predecessor reported every epoch it checkpointed adds nothing.
  const again = 'ft-all-reported';
  const ctx = stageContext('finetune', { runId: again });
  const stops: TrainingRunner = (request, options) =>
    inProcess(store)(request, {
      ...options,
      onProgress: (progress) => {
        options.onProgress?.(progress);
        if (progress.epoch === 3) throw new Error('training process was killed (SIGKILL)');
      },
    });
  await stageFailure(runStage('fine-tune', createFineTuneStage({ runTraining: stops }), store, ctx, inputs));
  await runStage('fine-tune', createFineTuneStage({ runTraining: inProcess(store) }), store, ctx, inputs, {
    info: { attempt: 2 },
  });
  const secondOfAgain = (await listStageLogs(store, BUCKET, again, 'finetune')).find((each) => each.attempt === 2);
  assert.ok(secondOfAgain);
  assert.doesNotMatch(await stageLogText(store, secondOfAgain), /from the checkpoint\)/);
});

test('a checkpoint written for other settings is not resumed (a retry with --set epochs=… starts over)', async () => {
  const stage = createFineTuneStage({ runTraining: inProcess(store) });
  // `fineflow retry` after the two attempts above: a new activity execution whose run-wide attempts start at 3.
  const context = stageContext('finetune', { runId: 'ft-resume', attempt: 3 });
  const { result } = await runStage('fine-tune', stage, store, context, {
    ...baseInputs(),
    epochs: 2,
    learningRate: 0.02,
    model: base,
  });
  assert.equal((result.outputs.metrics as Record<string, number>).resumedFromEpoch, 0);
});

test('trains an architecture from scratch (pretraining) without a base model', async () => {
  const stage = createFineTuneStage({ runTraining: inProcess(store) });
  const { result } = await runStage('fine-tune', stage, store, stageContext('pretrain', { runId: 'ft-scratch' }), {
    data: dataset,
    architecture: 'small-cnn',
    epochs: 2,
    batchSize: 8,
    freeze: 'none',
  });
  assert.equal((result.outputs.history as unknown[]).length, 2);
  const record = await readTrainingRecord(store, String(result.outputs.model));
  assert.equal(record?.mode, 'from-scratch');
  assert.equal(record?.architecture, 'small-cnn');
});

test('inputs that can never succeed fail non-retryably, naming the field', async () => {
  const stage = createFineTuneStage({ runTraining: inProcess(store) });
  const cases: [Record<string, unknown>, string][] = [
    [{ ...baseInputs(), model: base, epochs: 0 }, 'epochs'],
    [{ ...baseInputs(), model: base, optimizer: 'adagrad' }, 'optimizer'],
    [{ ...baseInputs(), model: base, earlyStopping: { monitor: 'validation.f1' } }, 'earlyStopping.monitor'],
    [{ ...baseInputs(), model: base, twoPhase: { headEpochs: 4 } }, 'twoPhase.headEpochs'],
    [{ ...baseInputs(), model: base, classWeights: { nope: 2 } }, 'classWeights'],
    [{ ...baseInputs(), model: base, hyperparameters: { learningRate: -1 } }, 'hyperparameters.learningRate'],
    [{ ...baseInputs(), model: 'registry://no-such-model@latest' }, 'model'],
  ];
  for (const [inputs, field] of cases) {
    const failure = await stageFailure(
      runStage('fine-tune', stage, store, stageContext('finetune', { runId: 'ft-bad' }), inputs as never),
    );
    // A base model that is not in the registry is NotFound; the rest are invalid inputs. Both are final.
    assert.equal(
      failure.type,
      field === 'model' ? 'FineflowNotFound' : 'FineflowInvalidInput',
      `${field}: ${failure.message}`,
    );
    assert.equal(failure.nonRetryable, true);
    if (field !== 'model') assert.equal(failure.details.field, field, failure.message);
  }
});

test('trainingPlan translates the stage settings into the training loop hyperparameters', () => {
  const context = {
    classes: ['a', 'b', 'c'],
    featureShape: [28, 28, 1],
    baseLayers: ['conv1', 'bn1', 'conv2', 'bn2', 'features'],
    fromScratch: false,
  };
  const settings = effectiveSettings({
    model: 'registry://m@latest',
    data: 's3://bkt/d/manifest.json',
    epochs: 8,
    learningRate: 0.001,
    optimizer: 'momentum',
    twoPhase: { headEpochs: 3, unfreeze: 2, learningRateFactor: 0.1 },
    earlyStopping: { monitor: 'validation.accuracy', patience: 3, restoreBest: true },
    augmentation: { rotate: 10, translate: 0.1 },
    classWeights: { b: 2 },
    decay: { type: 'step', rate: 0.5, everyEpochs: 2 },
  });
  const plan = trainingPlan(settings, context);
  const h = plan.hyperparameters;
  assert.equal(h.optimizer, 'sgd');
  assert.equal(h.momentum, 0.9);
  assert.equal(h.headEpochs, 3);
  assert.equal(h.unfreezeLayers, 2);
  assert.ok(Math.abs((h.fineTuneLearningRate ?? 0) - 0.0001) < 1e-12);
  assert.deepEqual(h.earlyStopping, {
    monitor: 'validation.accuracy',
    patience: 3,
    minDelta: 0,
    restoreBestWeights: true,
  });
  assert.deepEqual(h.augmentation, { shift: 3, rotate: 10 });
  assert.deepEqual(h.classWeights, [1, 2, 1]);
  assert.deepEqual(h.decay, { kind: 'step', everyEpochs: 2, factor: 0.5 });
  // freeze: a count from the bottom leaves the rest of the base trainable; names are kept frozen.
  assert.equal(
    trainingPlan(effectiveSettings({ model: 'registry://m@1', data: 's3://bkt/d', freeze: 2 }), context).hyperparameters
      .unfreezeLayers,
    3,
  );
  const byName = trainingPlan(
    effectiveSettings({ model: 'registry://m@1', data: 's3://bkt/d', freeze: ['conv1'] }),
    context,
  ).hyperparameters;
  assert.deepEqual(byName.freezeLayers, ['conv1']);
  assert.equal(
    trainingPlan(effectiveSettings({ model: 'registry://m@1', data: 's3://bkt/d' }), context).hyperparameters
      .unfreezeLayers,
    0,
    'default: only the new head trains',
  );
  // A sweep's `best` overrides the stage's own settings.
  assert.equal(
    trainingPlan(
      effectiveSettings({
        model: 'registry://m@1',
        data: 's3://bkt/d',
        learningRate: 0.1,
        hyperparameters: { learningRate: 0.003 },
      }),
      context,
    ).hyperparameters.learningRate,
    0.003,
  );
});

test('baseWeightLayers lists the weight layers of a saved model below its head', async () => {
  const json = await store.getJson(`s3://${BUCKET}/models/tiny-base/1/model.json`);
  assert.deepEqual(baseWeightLayers(json), ['conv1', 'bn1', 'features']);
});

test('the augmentation, decay floor and head settings reach the training loop (nothing is left as an ignored note)', () => {
  const context = {
    classes: ['a', 'b'],
    featureShape: [20, 20, 1],
    baseLayers: ['conv1', 'features'],
    fromScratch: false,
  };
  const h = trainingPlan(
    effectiveSettings({
      model: 'registry://m@1',
      data: 's3://bkt/d',
      augmentation: {
        flipVertical: true,
        rotate: 15,
        zoom: 0.1,
        brightness: 0.2,
        translate: 0.1,
        flipHorizontal: false,
      },
      decay: { type: 'cosine', minLearningRate: 0.0001 },
      headUnits: [16, 8],
    }),
    context,
  ).hyperparameters;
  assert.deepEqual(h.augmentation, { shift: 2, flipVertical: true, rotate: 15, zoom: 0.1, brightness: 0.2 });
  assert.deepEqual(h.decay, { kind: 'cosine', minLearningRate: 0.0001 });
  assert.deepEqual(h.headUnits, [16, 8]);
  const plain = trainingPlan(
    effectiveSettings({ model: 'registry://m@1', data: 's3://bkt/d', decay: { type: 'exponential' } }),
    context,
  ).hyperparameters;
  assert.deepEqual(plain.decay, { kind: 'exponential', rate: 0.5 }, 'no floor unless one is given');
  assert.equal(plain.headUnits, undefined);
  assert.equal(plain.augmentation, undefined);
});

test('baseWeightLayers leaves out the hidden layers of an old head', () => {
  const layer = (className: string, name: string) => ({ class_name: className, config: { name } });
  const json = {
    modelTopology: {
      config: {
        layers: [
          layer('Conv2D', 'conv1'),
          layer('Dense', 'features'),
          layer('Dense', 'head_hidden1'),
          layer('Dropout', 'head_dropout'),
          layer('Dense', 'head'),
        ],
      },
    },
  };
  assert.deepEqual(baseWeightLayers(json), ['conv1', 'features']);
});

test('headUnits: the fine-tuned model has the hidden head layers', async () => {
  const stage = createFineTuneStage({ runTraining: inProcess(store) });
  const { result } = await runStage('fine-tune', stage, store, stageContext('finetune', { runId: 'ft-head' }), {
    ...baseInputs(),
    epochs: 2,
    model: base,
    freeze: 'all',
    headUnits: [6],
  });
  const { tf } = loadTf({ preference: 'cpu' });
  const model = await loadModel(tf, store, String(result.outputs.model), { registryBucket: BUCKET });
  assert.deepEqual(
    model.layers.map((layer) => layer.name).filter((name) => name.startsWith('head')),
    ['head_hidden1', 'head'],
  );
  model.dispose();
});

test("the worker's training settings reach the training request: cpu trains on the pure-JS backend, eager engine", async () => {
  const { runner, requests } = recordingTrainingRunner(store);
  const ml = { tfBackend: 'cpu', trainEngine: 'eager' } as const;
  const { result } = await runStage(
    'fine-tune',
    createFineTuneStage({ runTraining: runner }),
    store,
    stageContext('finetune', { runId: 'ft-backend' }),
    { ...baseInputs(), epochs: 1, model: base },
    { ml },
  );
  assert.equal(requests[0]?.tfBackend, 'cpu');
  assert.equal(requests[0]?.engine, 'eager');
  assert.equal(result.outputs.backend, 'cpu');
  assert.equal(result.outputs.engine, 'eager');
  // An injected preference wins over the worker's.
  await runStage(
    'fine-tune',
    createFineTuneStage({ runTraining: runner, tfBackend: 'native' }),
    store,
    stageContext('finetune', { runId: 'ft-backend-2' }),
    { ...baseInputs(), epochs: 1, model: base },
    { ml },
  ).catch(() => undefined);
  assert.equal(requests[1]?.tfBackend, 'native');
});

test('an auto-engine training that fell back to eager says so in the stage log, with the reason', async () => {
  // The pure-JS backend has no graph runtime: `auto` trains eagerly and the result records why.
  const { runner } = recordingTrainingRunner(store);
  const runId = 'ft-engine-fallback';
  const { result } = await runStage(
    'fine-tune',
    createFineTuneStage({ runTraining: runner }),
    store,
    stageContext('finetune', { runId }),
    { ...baseInputs(), epochs: 1, model: base },
    { ml: { tfBackend: 'cpu', trainEngine: 'auto' } },
  );
  assert.equal(result.outputs.engine, 'eager');
  const [log] = await listStageLogs(store, BUCKET, runId, 'finetune');
  assert.ok(log, 'the stage wrote a log');
  const lines = (await stageLogText(store, log)).split('\n');
  const warning = lines.filter((line) => line.includes('warning: trained on the eager engine'));
  assert.equal(warning.length, 1, lines.join('\n'));
  assert.match(warning[0] ?? '', /not the faster graph engine: the cpu backend has no graph runtime$/);
});

test('crossValidation: k folds × repeats before the final model, an interval of the mean, finished rounds reused by a retry', async () => {
  const rounds: NonNullable<TrainingRequest['crossValidationFold']>[] = [];
  const counting: TrainingRunner = (request, options) => {
    if (request.crossValidationFold) rounds.push(request.crossValidationFold);
    return inProcess(store)(request, options);
  };
  const stage = createFineTuneStage({ runTraining: counting });
  const context = stageContext('finetune', { runId: 'ft-cv' });
  const inputs = { ...baseInputs(), epochs: 3, model: base, crossValidation: { folds: 3, repeats: 2, seed: 9 } };
  const { result } = await runStage('fine-tune', stage, store, context, inputs);
  assert.deepEqual(
    rounds.map((round) => `${round.seed}:${round.fold}`),
    ['9:0', '9:1', '9:2', '10:0', '10:1', '10:2'],
    'every fold of every repeat, a fresh fold assignment per repeat',
  );
  const cv = result.outputs.crossValidation as {
    folds: number;
    repeats: number;
    accuracy: { mean: number; std: number; low: number; high: number; confidence: number; scores: number };
    loss: { mean: number };
    rounds: { repeat: number; fold: number; accuracy: number; trainExamples: number }[];
  };
  assert.equal(cv.folds, 3);
  assert.equal(cv.repeats, 2);
  assert.equal(cv.rounds.length, 6);
  const mean = cv.rounds.reduce((sum, round) => sum + round.accuracy, 0) / 6;
  assert.ok(Math.abs(cv.accuracy.mean - mean) < 1e-12);
  assert.ok(cv.accuracy.low <= cv.accuracy.mean && cv.accuracy.mean <= cv.accuracy.high);
  assert.equal(cv.accuracy.confidence, 0.95);
  assert.ok(Number.isFinite(cv.loss.mean));
  // Each round trains on two of three folds of train + validation.
  const manifest = (await store.getJson(dataset)) as { splits: Record<string, { count: number }> };
  const pool = (manifest.splits.train?.count ?? 0) + (manifest.splits.validation?.count ?? 0);
  for (const round of cv.rounds) assert.ok(Math.abs(round.trainExamples - (pool * 2) / 3) <= 1, JSON.stringify(round));
  assert.deepEqual((await readTrainingRecord(store, String(result.outputs.model)))?.crossValidation, cv);

  // A retry of the stage reuses every finished round.
  rounds.length = 0;
  const again = await runStage('fine-tune', stage, store, { ...context, attempt: 1 }, inputs, { info: { attempt: 2 } });
  assert.deepEqual(rounds, [], 'no round trained twice');
  assert.deepEqual(again.result.outputs.crossValidation, cv);

  // Early stopping on the held-out fold would bias the estimate: refused before anything trains.
  const refused = await stageFailure(
    runStage('fine-tune', stage, store, stageContext('finetune', { runId: 'ft-cv-stop' }), {
      ...inputs,
      earlyStopping: { patience: 1 },
    }),
  );
  assert.equal(refused.nonRetryable, true);
  assert.match(refused.message, /held-out fold/);
});

test("head: auto keeps a base's head for the data's own classes (any order); not with replace or other classes", async () => {
  // A base that records its classes beside its weights, as every model a pipeline trains does.
  const pretrain = createFineTuneStage({ runTraining: inProcess(store) });
  const { result } = await runStage('fine-tune', pretrain, store, stageContext('pretrain', { runId: 'ft-head' }), {
    data: dataset,
    architecture: 'small-cnn',
    epochs: 1,
    batchSize: 8,
  });
  const baseModel = String(result.outputs.model);
  const recordClasses = (classes: readonly string[]) =>
    writePreprocessingBeside(store, baseModel, {
      format: PREPROCESSING_FORMAT,
      kind: 'image',
      classes,
      featureShape: [8, 8, 1],
      size: [8, 8],
      channels: 1,
      background: [0, 0, 0],
      normalize: false,
      mean: [0],
      std: [1],
    });
  const fineTune = async (runId: string, extra: Record<string, unknown> = {}) => {
    const { runner, requests } = recordingTrainingRunner(store);
    await runStage(
      'fine-tune',
      createFineTuneStage({ runTraining: runner }),
      store,
      stageContext('finetune', { runId }),
      {
        data: dataset,
        model: baseModel,
        epochs: 1,
        batchSize: 8,
        ...extra,
      },
    );
    const [log] = await listStageLogs(store, BUCKET, runId, 'finetune');
    return { request: requests[0], log: log ? await stageLogText(store, log) : '' };
  };
  await recordClasses([...CLASSES]);
  const kept = await fineTune('ft-head-auto');
  assert.deepEqual(kept.request?.keepHead, { classOrder: [0, 1, 2] });
  assert.match(
    kept.log,
    /head: keeping the base model's head: the data's classes are the base's \[top, middle, bottom\]/,
  );
  const replaced = await fineTune('ft-head-replace', { head: 'replace' });
  assert.equal(replaced.request?.keepHead, undefined);
  assert.match(replaced.log, /head: a new head with random weights \(head: replace\)/);
  // The same names in another order: the head's outputs are mapped to the data's order.
  await recordClasses(['bottom', 'top', 'middle']);
  assert.deepEqual((await fineTune('ft-head-order')).request?.keepHead, { classOrder: [1, 2, 0] });
  await recordClasses(['top', 'middle', 'bottom', 'left']);
  const other = await fineTune('ft-head-other');
  assert.equal(other.request?.keepHead, undefined);
  assert.match(
    other.log,
    /the data's classes \[top, middle, bottom\] are not the base's \[top, middle, bottom, left\]/,
  );
});
