/**
 * The graph training engine (src/ml/graph): what it accepts, and that it trains exactly as the
 * eager engine does — same losses, batch-norm statistics, optimizer updates and final weights —
 * for every layer, optimizer and loss option Fineflow's models use, including fine-tuning phases
 * and checkpoints that move between the two engines. The numeric comparisons need the native
 * binding and the graph addon (built by npm run setup:tf); without them they skip, saying why.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { loadConfig } from '../../../src/config';
import { loadTf } from '../../../src/ml/backend';
import { writeDataset } from '../../../src/ml/data/write-dataset';
import { generateDefects } from '../../../src/ml/generators/defects';
import type { LabelledSet } from '../../../src/ml/generators/image-set';
import { graphEngineSupport, graphEngineUnsupportedReason } from '../../../src/ml/graph/train-graph';
import { createGraph, sessionConfig } from '../../../src/ml/graph/tf-graph';
import { graphEngineMissing, skipWithoutGraph as skipGraph } from './helpers/graph-engine';
import { buildModel, type ModelArchitecture } from '../../../src/ml/models/architectures';
import { loadModel } from '../../../src/ml/models/load-model';
import { mulberry32, randomNormal } from '../../../src/ml/random';
import { readCheckpoint, findCheckpoint } from '../../../src/ml/train/checkpoint';
import type { EngineKind } from '../../../src/ml/train/engine';
import { trainModel } from '../../../src/ml/train/fine-tune';
import { createEngine, memorySource, runTrainingLoop, type LoopResult } from '../../../src/ml/train/loop';
import type { Hyperparameters } from '../../../src/ml/train/types';
import { trainDefectBase } from './helpers/defect-base';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const { tf } = loadTf({ preference: 'auto' });

const skipWithoutGraph = (t: TestContext): boolean => skipGraph(t, 'to compare the graph engine with the eager one');

/** Three classes, each a different pattern plus Gaussian noise. */
function patterns(count: number, shape: readonly number[], seed: number): LabelledSet {
  const random = mulberry32(seed);
  const length = shape.reduce((a, b) => a * b, 1);
  const features = new Float32Array(count * length);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i += 1) {
    const label = i % 3;
    labels[i] = label;
    for (let j = 0; j < length; j += 1)
      features[i * length + j] = 0.5 * randomNormal(random) + (j % 3 === label ? 1 : 0);
  }
  return { featureShape: [...shape], classes: ['a', 'b', 'c'], features, labels };
}

interface Trained {
  readonly result: LoopResult;
  readonly weights: Map<string, Float32Array>;
}

async function train(
  engine: EngineKind,
  architecture: ModelArchitecture,
  hyperparameters: Hyperparameters,
): Promise<Trained> {
  const shape = [...architecture.inputShape];
  const model = buildModel(tf, architecture, {
    numClasses: 3,
    seed: 3,
    ...(hyperparameters.dropout ? { dropout: hyperparameters.dropout } : {}),
  });
  const layers = model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
  const result = await runTrainingLoop({
    tf,
    model,
    phases: [
      {
        name: 'scratch',
        epochs: hyperparameters.epochs,
        learningRate: hyperparameters.learningRate,
        trainableLayers: layers.filter((layer) => layer.weights.length > 0).map((layer) => layer.name),
      },
    ],
    hyperparameters,
    train: memorySource(patterns(60, shape, 1)),
    validation: memorySource(patterns(30, shape, 2)),
    numClasses: 3,
    requestKey: 'parity',
    engine,
  });
  const weights = new Map(
    model.weights.map((weight) => [weight.originalName, Float32Array.from(weight.read().dataSync())]),
  );
  model.dispose();
  return { result, weights };
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * (1 + Math.abs(expected)),
    `${what}: graph ${actual} vs eager ${expected}`,
  );
}

function assertSameTraining(
  graph: Trained,
  eager: Trained,
  tolerance: { readonly loss: number; readonly weight: number },
): void {
  assert.equal(graph.result.engine, 'graph');
  assert.equal(eager.result.engine, 'eager');
  assert.equal(graph.result.history.length, eager.result.history.length);
  graph.result.history.forEach((epoch, index) => {
    const reference = eager.result.history[index];
    assert.ok(reference);
    assertClose(epoch.trainLoss, reference.trainLoss, tolerance.loss, `epoch ${epoch.epoch} train loss`);
    assertClose(
      epoch.validationLoss ?? NaN,
      reference.validationLoss ?? NaN,
      tolerance.loss,
      `epoch ${epoch.epoch} validation loss`,
    );
    assert.equal(epoch.trainAccuracy, reference.trainAccuracy, `epoch ${epoch.epoch} train accuracy`);
  });
  assert.deepEqual([...graph.weights.keys()].sort(), [...eager.weights.keys()].sort());
  for (const [name, values] of graph.weights) {
    const reference = eager.weights.get(name) ?? new Float32Array();
    values.forEach((value, i) => assertClose(value, reference[i] ?? NaN, tolerance.weight, `${name}[${i}]`));
  }
}

describe('graph engine: what it compiles', () => {
  it('encodes the session thread settings as a ConfigProto', () => {
    assert.deepEqual(Array.from(sessionConfig(2, 1)), [0x10, 2, 0x28, 1]);
    assert.deepEqual(Array.from(sessionConfig(300, 0)), [0x10, 0xac, 0x02]);
    assert.equal(sessionConfig(0, 0).length, 0);
  });

  it("accepts Fineflow's architectures and names what it cannot compile", () => {
    const layersOf = (model: ReturnType<typeof buildModel>) =>
      model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
    for (const architecture of [
      { kind: 'mlp', inputShape: [6] },
      { kind: 'cnn', inputShape: [28, 28, 1] },
      { kind: 'cnn', inputShape: [28, 28, 1], pooling: 'max' },
      { kind: 'cnn', inputShape: [28, 28, 1], pooling: 'average' },
    ] as const) {
      assert.equal(
        graphEngineUnsupportedReason(layersOf(buildModel(tf, architecture, { numClasses: 3, dropout: 0.3 }))),
        undefined,
        architecture.kind,
      );
    }
    const recurrent = tf.sequential({
      layers: [
        tf.layers.simpleRNN({ units: 4, inputShape: [3, 2] }),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    assert.match(
      graphEngineUnsupportedReason(recurrent.layers) ?? '',
      /is a SimpleRNN, which the graph engine does not compile/,
    );
    const sigmoidOutput = tf.sequential({
      layers: [tf.layers.dense({ units: 1, activation: 'sigmoid', inputShape: [3] })],
    });
    assert.match(graphEngineUnsupportedReason(sigmoidOutput.layers) ?? '', /output layer .* is not a softmax/);
    const innerSoftmax = tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, activation: 'softmax', inputShape: [3] }),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    assert.match(graphEngineUnsupportedReason(innerSoftmax.layers) ?? '', /applies softmax below the output/);
    assert.deepEqual(graphEngineSupport('cpu', recurrent.layers), {
      supported: false,
      reason: 'the cpu backend has no graph runtime',
    });
  });

  it('reads FINEFLOW_TRAIN_ENGINE into the config and rejects unknown values', () => {
    assert.equal(loadConfig({}).trainEngine, 'auto');
    assert.equal(loadConfig({ FINEFLOW_TRAIN_ENGINE: 'eager' }).trainEngine, 'eager');
    assert.equal(loadConfig({ FINEFLOW_TRAIN_ENGINE: ' graph ' }).trainEngine, 'graph');
    assert.throws(
      () => loadConfig({ FINEFLOW_TRAIN_ENGINE: 'xla' }),
      /FINEFLOW_TRAIN_ENGINE=xla must be auto, graph or eager/,
    );
  });

  it('auto falls back to eager with the reason; an explicit graph preference fails instead', () => {
    const recurrent = tf.sequential({
      layers: [
        tf.layers.simpleRNN({ units: 4, inputShape: [3, 2] }),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    const options = {
      tf,
      layers: recurrent.layers,
      inputShape: [3, 2],
      numClasses: 2,
      hyperparameters: { epochs: 1, batchSize: 2, learningRate: 0.1 },
      learningRate: 0.1,
    };
    const auto = createEngine('auto', options);
    assert.equal(auto.engine.kind, 'eager');
    assert.match(auto.fallbackReason ?? '', graphEngineMissing() === undefined ? /SimpleRNN/ : /./);
    auto.engine.dispose();
    assert.throws(
      () => createEngine('graph', options),
      /the graph training engine was required \(FINEFLOW_TRAIN_ENGINE=graph\), but/,
    );
  });

  it('a graph that fails to build falls back to eager under auto, and fails under graph', (t) => {
    if (skipWithoutGraph(t)) return;
    const model = buildModel(tf, { kind: 'mlp', inputShape: [4] }, { numClasses: 2 });
    const options = {
      tf,
      layers: model.layers,
      inputShape: [4],
      numClasses: 2,
      hyperparameters: { epochs: 1, batchSize: 2, learningRate: 0.1 },
      learningRate: 0.1,
    };
    const broken = (): never => {
      throw new Error('No gradient defined for op: FusedBatchNormV3');
    };
    const auto = createEngine('auto', options, broken);
    assert.equal(auto.engine.kind, 'eager');
    assert.equal(
      auto.fallbackReason,
      'building the training graph failed: No gradient defined for op: FusedBatchNormV3',
    );
    auto.engine.dispose();
    assert.throws(
      () => createEngine('graph', options, broken),
      /required \(FINEFLOW_TRAIN_ENGINE=graph\), but building the training graph failed: No gradient/,
    );
    model.dispose();
  });
});

describe('graph engine trains exactly as the eager engine', () => {
  const tight = { loss: 1e-4, weight: 1e-3 };
  const mlp: ModelArchitecture = { kind: 'mlp', inputShape: [12] };
  const cnn: ModelArchitecture = { kind: 'cnn', inputShape: [10, 10, 1], filters: [4, 6], featureUnits: 8 };
  const sgdMomentum: Hyperparameters = {
    epochs: 3,
    batchSize: 16,
    learningRate: 0.05,
    optimizer: 'sgd',
    momentum: 0.8,
  };
  const cases: readonly (readonly [string, ModelArchitecture, Hyperparameters])[] = [
    ['MLP, Adam', mlp, { epochs: 3, batchSize: 16, learningRate: 0.01 }],
    ['MLP, SGD with momentum, L2 and class weights', mlp, { ...sgdMomentum, l2: 0.01, classWeights: [1, 2, 0.5] }],
    // tfjs's momentum optimizer reads its rate from a scalar only setLearningRate updates: the eager engine
    // once assigned the field, so warm-up and decay did nothing for SGD there.
    [
      'MLP, SGD with momentum, a warm-up and a decaying rate',
      mlp,
      { ...sgdMomentum, decay: { kind: 'cosine' }, warmupEpochs: 1 },
    ],
    [
      'MLP, RMSProp with a decaying rate',
      mlp,
      {
        epochs: 3,
        batchSize: 16,
        learningRate: 0.01,
        optimizer: 'rmsprop',
        decay: { kind: 'cosine' },
        warmupEpochs: 1,
      },
    ],
    ['CNN with batch norm, flatten', cnn, { epochs: 3, batchSize: 12, learningRate: 0.01 }],
    [
      'CNN with batch norm, global average pooling',
      { ...cnn, pooling: 'average' },
      { epochs: 3, batchSize: 12, learningRate: 0.01, classWeights: 'balanced' },
    ],
  ];
  for (const [name, architecture, hyperparameters] of cases) {
    it(name, async (t) => {
      if (skipWithoutGraph(t)) return;
      assertSameTraining(
        await train('graph', architecture, hyperparameters),
        await train('eager', architecture, hyperparameters),
        tight,
      );
    });
  }

  it('CNN with global max pooling (ties may route a gradient differently: looser tolerance)', async (t) => {
    if (skipWithoutGraph(t)) return;
    const architecture: ModelArchitecture = {
      kind: 'cnn',
      inputShape: [10, 10, 1],
      filters: [4, 6],
      featureUnits: 8,
      pooling: 'max',
    };
    const hyperparameters = { epochs: 2, batchSize: 12, learningRate: 0.01 };
    assertSameTraining(
      await train('graph', architecture, hyperparameters),
      await train('eager', architecture, hyperparameters),
      { loss: 1e-3, weight: 1e-2 },
    );
  });

  it('dropout is active while training and off in evaluation', async (t) => {
    if (skipWithoutGraph(t)) return;
    const trained = await train(
      'graph',
      { kind: 'mlp', inputShape: [12] },
      { epochs: 4, batchSize: 16, learningRate: 0.02, dropout: 0.5 },
    );
    const history = trained.result.history;
    assert.ok(
      (history.at(-1)?.validationLoss ?? Infinity) < (history[0]?.validationLoss ?? 0),
      'validation loss falls',
    );
    // With half the head's inputs dropped, the training loss (measured with dropout) is above
    // the validation loss (measured without) on this easy task.
    assert.ok(
      (history.at(-1)?.trainLoss ?? 0) > (history.at(-1)?.validationLoss ?? Infinity),
      `train ${history.at(-1)?.trainLoss} > validation ${history.at(-1)?.validationLoss}`,
    );
  });

  it('fine-tuning: head phase, then unfrozen layers with a frozen batch norm between them', async (t) => {
    if (skipWithoutGraph(t)) return;
    const store = createMemoryObjectStore();
    await trainDefectBase(store, 'eager');
    const target = await writeDataset(store, 's3://b/target', {
      train: generateDefects({ perClass: 5, seed: 2, surface: 'cast' }),
      validation: generateDefects({ perClass: 3, seed: 3, surface: 'cast' }),
    });
    // Phase 2 trains conv2 and features with bn2 frozen between them, so conv2's gradient flows
    // through batch norm in inference form; augmentation keeps the whole network in the step.
    const hyperparameters: Hyperparameters = {
      epochs: 3,
      batchSize: 6,
      learningRate: 0.02,
      headEpochs: 1,
      unfreezeLayers: 3,
      freezeLayers: ['bn2'],
      l2: 1e-3,
      seed: 5,
      augmentation: { shift: 1 },
    };
    const run = async (engine: EngineKind) => {
      const result = await trainModel(store, {
        mode: 'fine-tune',
        baseModelUri: 's3://b/base',
        datasetUri: target.manifestUri,
        outputUri: `s3://b/${engine}`,
        registryBucket: 'b',
        hyperparameters,
        engine,
      });
      const model = await loadModel(tf, store, `s3://b/${engine}`, { registryBucket: 'b' });
      const weights = new Map(
        model.weights.map((weight) => [weight.originalName, Float32Array.from(weight.read().dataSync())]),
      );
      model.dispose();
      return { result, weights };
    };
    const graph = await run('graph');
    const eager = await run('eager');
    assert.equal(graph.result.engine, 'graph');
    assert.deepEqual(
      graph.result.epochs.map((epoch) => epoch.phase),
      ['head', 'fine-tune', 'fine-tune'],
    );
    graph.result.epochs.forEach((epoch, index) =>
      assertClose(
        epoch.validationLoss ?? NaN,
        eager.result.epochs[index]?.validationLoss ?? NaN,
        1e-4,
        `epoch ${epoch.epoch} validation loss`,
      ),
    );
    for (const [name, values] of graph.weights) {
      const reference = eager.weights.get(name) ?? new Float32Array();
      values.forEach((value, i) => assertClose(value, reference[i] ?? NaN, 1e-3, `${name}[${i}]`));
    }
    const base = await loadModel(tf, store, 's3://b/base', { registryBucket: 'b' });
    const unchanged = (name: string) =>
      Array.from(
        base.weights
          .find((weight) => weight.originalName === name)
          ?.read()
          .dataSync() ?? [],
      );
    assert.deepEqual(
      Array.from(graph.weights.get('bn2/moving_mean') ?? []),
      unchanged('bn2/moving_mean'),
      'the frozen bn2 keeps its statistics',
    );
    assert.notDeepEqual(
      Array.from(graph.weights.get('conv2/kernel') ?? []),
      unchanged('conv2/kernel'),
      'conv2 trained',
    );
    base.dispose();
  });

  it('a checkpoint written by one engine resumes in the other', async (t) => {
    if (skipWithoutGraph(t)) return;
    const store = createMemoryObjectStore();
    const dataset = await writeDataset(store, 's3://b/data', {
      train: patterns(48, [12], 4),
      validation: patterns(24, [12], 5),
    });
    const hyperparameters: Hyperparameters = { epochs: 4, batchSize: 8, learningRate: 0.01, seed: 7 };
    const request = {
      mode: 'from-scratch',
      architecture: { kind: 'mlp', inputShape: [12] },
      datasetUri: dataset.manifestUri,
      registryBucket: 'b',
      hyperparameters,
    } as const;
    const straight = await trainModel(store, { ...request, outputUri: 's3://b/straight', engine: 'graph' });

    // Stop after epoch 2 on one engine, resume for epochs 3-4 on the other: both directions.
    for (const [first, second] of [
      ['graph', 'eager'],
      ['eager', 'graph'],
    ] as const) {
      const checkpointUri = `s3://b/ckpt-${first}`;
      const controller = new AbortController();
      await assert.rejects(
        trainModel(
          store,
          { ...request, outputUri: `s3://b/first-${first}`, engine: first, checkpoint: { uri: checkpointUri } },
          { signal: controller.signal, onEpoch: ({ epoch }) => (epoch === 2 ? controller.abort() : undefined) },
        ),
        /cancelled/,
      );
      const directory = await findCheckpoint(store, checkpointUri);
      assert.ok(directory);
      const checkpoint = await readCheckpoint(store, directory);
      assert.equal(checkpoint.state.epochsDone, 2);
      assert.equal(checkpoint.optimizer[0]?.name, 'iter');
      assert.equal(
        checkpoint.optimizer.length,
        1 + 2 * checkpoint.weights.length,
        `${first}: iter + m and v per trainable weight`,
      );
      const resumed = await trainModel(store, {
        ...request,
        outputUri: `s3://b/resumed-${second}`,
        engine: second,
        resumeFrom: checkpointUri,
      });
      assert.equal(resumed.resumedFromEpoch, 2);
      assert.equal(resumed.engine, second);
      resumed.epochs.forEach((epoch, index) =>
        assertClose(
          epoch.validationLoss ?? NaN,
          straight.epochs[index]?.validationLoss ?? NaN,
          1e-4,
          `${first} → ${second}: epoch ${epoch.epoch} validation loss`,
        ),
      );
    }
  });
});

describe('eager engine', () => {
  it('draws its dropout masks from the seed: the same seed gives the same weights, on any backend', async () => {
    const hyperparameters: Hyperparameters = { epochs: 2, batchSize: 16, learningRate: 0.02, dropout: 0.5, seed: 5 };
    const first = await train('eager', { kind: 'mlp', inputShape: [12] }, hyperparameters);
    const second = await train('eager', { kind: 'mlp', inputShape: [12] }, hyperparameters);
    assert.deepEqual([...second.weights.keys()], [...first.weights.keys()]);
    for (const [name, values] of first.weights) assert.deepEqual(second.weights.get(name), values, name);
    assert.deepEqual(
      second.result.history.map((epoch) => epoch.trainLoss),
      first.result.history.map((epoch) => epoch.trainLoss),
    );
  });
});

describe('dropout across a resume', () => {
  /** The weights of the model saved under `uri`, by name. */
  async function savedWeights(store: ReturnType<typeof createMemoryObjectStore>, uri: string) {
    const model = await loadModel(tf, store, uri, { registryBucket: 'b' });
    const weights = new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync())]));
    model.dispose();
    return weights;
  }

  // Dropout 0.5 on a 4-epoch MLP: a resume that restarted the mask stream (the step count) ends elsewhere.
  for (const engine of ['eager', 'graph'] as const)
    it(`${engine}: 2 epochs, then a resume for 2 more, give the weights of 4 epochs straight`, async (t) => {
      if (engine === 'graph' && skipWithoutGraph(t)) return;
      const store = createMemoryObjectStore();
      const dataset = await writeDataset(store, 's3://b/data', {
        train: patterns(48, [12], 4),
        validation: patterns(24, [12], 5),
      });
      const request = {
        mode: 'from-scratch',
        architecture: { kind: 'mlp', inputShape: [12], hidden: [16] },
        datasetUri: dataset.manifestUri,
        registryBucket: 'b',
        hyperparameters: { epochs: 4, batchSize: 8, learningRate: 0.01, seed: 7, dropout: 0.5 },
        engine,
      } as const;
      const straight = await trainModel(store, { ...request, outputUri: 's3://b/straight' });
      assert.equal(straight.engine, engine);
      const controller = new AbortController();
      await assert.rejects(
        trainModel(
          store,
          { ...request, outputUri: 's3://b/resumed', checkpoint: { uri: 's3://b/ckpt' } },
          { signal: controller.signal, onEpoch: ({ epoch }) => (epoch === 2 ? controller.abort() : undefined) },
        ),
        /cancelled/,
      );
      const resumed = await trainModel(store, { ...request, outputUri: 's3://b/resumed', resumeFrom: 's3://b/ckpt' });
      assert.equal(resumed.resumedFromEpoch, 2);
      assert.deepEqual(
        resumed.epochs.map((epoch) => epoch.trainLoss),
        straight.epochs.map((epoch) => epoch.trainLoss),
        'the train loss (measured under dropout) of every epoch',
      );
      const expected = await savedWeights(store, 's3://b/straight');
      const actual = await savedWeights(store, 's3://b/resumed');
      assert.deepEqual([...actual.keys()], [...expected.keys()]);
      for (const [name, values] of expected) assert.deepEqual(actual.get(name), values, name);
    });
});

describe('dropout across a resume in the second phase', () => {
  // Head for 2 epochs, then the unfrozen layers for 2: stopped after epoch 3 (in phase 2) and resumed, the run ends
  // with the weights of one that went straight through, so the phase's masks come from the checkpoint's state.
  for (const engine of ['eager', 'graph'] as const)
    it(`${engine}: a two-phase fine-tune resumed in phase 2 gives the weights of an uninterrupted one`, async (t) => {
      if (engine === 'graph' && skipWithoutGraph(t)) return;
      const store = createMemoryObjectStore();
      const dataset = await writeDataset(store, 's3://b/data', {
        train: patterns(48, [12], 4),
        validation: patterns(24, [12], 5),
      });
      await trainModel(store, {
        mode: 'from-scratch',
        architecture: { kind: 'mlp', inputShape: [12], hidden: [16] },
        datasetUri: dataset.manifestUri,
        outputUri: 's3://b/base',
        registryBucket: 'b',
        hyperparameters: { epochs: 1, batchSize: 8, learningRate: 0.01, seed: 1 },
        engine,
      });
      const request = {
        mode: 'fine-tune',
        baseModelUri: 's3://b/base',
        datasetUri: dataset.manifestUri,
        registryBucket: 'b',
        hyperparameters: {
          epochs: 4,
          headEpochs: 2,
          unfreezeLayers: 1,
          batchSize: 8,
          learningRate: 0.01,
          seed: 7,
          dropout: 0.5,
        },
        engine,
      } as const;
      const straight = await trainModel(store, { ...request, outputUri: 's3://b/straight' });
      const controller = new AbortController();
      await assert.rejects(
        trainModel(
          store,
          { ...request, outputUri: 's3://b/resumed', checkpoint: { uri: 's3://b/ckpt' } },
          { signal: controller.signal, onEpoch: ({ epoch }) => (epoch === 3 ? controller.abort() : undefined) },
        ),
        /cancelled/,
      );
      const resumed = await trainModel(store, { ...request, outputUri: 's3://b/resumed', resumeFrom: 's3://b/ckpt' });
      assert.equal(resumed.resumedFromEpoch, 3);
      assert.deepEqual(
        resumed.epochs.map((epoch) => epoch.trainLoss),
        straight.epochs.map((epoch) => epoch.trainLoss),
      );
      const weightsOf = async (uri: string) => {
        const model = await loadModel(tf, store, uri, { registryBucket: 'b' });
        const weights = new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync())]));
        model.dispose();
        return weights;
      };
      const expected = await weightsOf('s3://b/straight');
      const actual = await weightsOf('s3://b/resumed');
      for (const [name, values] of expected) assert.deepEqual(actual.get(name), values, name);
    });
});

describe('dropout across training phases', () => {
  /** The loss of one step at learning rate 0 (weights unchanged) of a fresh engine for `phaseIndex`, at `step`. */
  function lossAt(engine: EngineKind, phaseIndex: number, step: number): number {
    const model = buildModel(
      tf,
      { kind: 'mlp', inputShape: [12], hidden: [32] },
      { numClasses: 3, dropout: 0.5, seed: 3 },
    );
    const set = patterns(16, [12], 9);
    const { engine: stepper } = createEngine(engine, {
      tf,
      layers: model.layers,
      inputShape: [12],
      numClasses: 3,
      hyperparameters: { epochs: 2, batchSize: 16, learningRate: 0, seed: 7, dropout: 0.5 },
      learningRate: 0,
      phaseIndex,
    });
    try {
      return stepper.trainBatch(set.features, set.labels, 0, step).loss;
    } finally {
      stepper.dispose();
      model.dispose();
    }
  }

  // A two-phase fine-tune (head, then unfrozen layers) counts steps from 0 in each phase: the masks must still
  // differ between the phases, or phase 2 repeats phase 1's at every step.
  for (const engine of ['eager', 'graph'] as const)
    it(`${engine}: the same step of another phase draws other masks; the same phase the same ones`, (t) => {
      if (engine === 'graph' && skipWithoutGraph(t)) return;
      const first = lossAt(engine, 0, 5);
      assert.equal(lossAt(engine, 0, 5), first, 'phase 0, step 5 again');
      assert.notEqual(lossAt(engine, 0, 6), first, 'another step');
      const second = lossAt(engine, 1, 5);
      assert.notEqual(second, first, 'phase 1, step 5');
      assert.equal(lossAt(engine, 1, 5), second, 'phase 1, step 5 again');
      assert.notEqual(lossAt(engine, 2, 5), second, 'phase 2, step 5');
    });
});

describe('graph addon errors', () => {
  it('reports a bad operation with TensorFlow’s message and keeps working', (t) => {
    if (skipWithoutGraph(t)) return;
    const graph = createGraph();
    const x = graph.placeholder('float32', [2, 3], 'x');
    assert.throws(
      () => graph.op1('MatMul', [x, x], { T: { type: 'float32' } }),
      /adding MatMul operation MatMul: .*Dimensions must be equal/,
    );
    assert.throws(() => graph.op1('NoSuchOp', [x]), /NoSuchOp/);
    assert.throws(
      () => graph.op1('Relu', [{ op: 'missing', index: 0 }], { T: { type: 'float32' } }),
      /the graph has no operation missing/,
    );
    const doubled = graph.op1('AddV2', [x, x], { T: { type: 'float32' } });
    const session = graph.session();
    assert.throws(
      () => session.run([[x, { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) }]], [doubled]),
      /tensor data has 20 bytes, its dtype and shape need 24/,
    );
    const [result] = session.run(
      [[x, { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }]],
      [doubled],
    );
    assert.deepEqual(Array.from(result?.data as Float32Array), [2, 4, 6, 8, 10, 12]);
    assert.deepEqual(result?.shape, [2, 3]);
    session.close();
    assert.throws(() => session.run([], [doubled]), /the session is closed/);
  });
});
