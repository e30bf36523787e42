/**
 * Backend selection (src/ml/backend.ts) and the native backend's training numerics: a small
 * seeded CNN with conv2d, batchNormalization and dense layers must produce the same gradients,
 * losses and trained weights on libtensorflow as on the pure-JS backend. The comparison is
 * skipped, with the reason, when the native binding is not built (infra/tfjs-native/setup.sh).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf, currentBackend, type BackendName, type Tf } from '../../../src/ml/backend';
import { nativeLoadFailure, runSnippetInFreshNode, type SnippetRun } from '../../helpers/tf-process';

/** Runs a snippet in a fresh node (so the module-level load state starts clean) and returns its output. */
function runIsolated(snippet: string, options: { readonly blockNative: boolean }): SnippetRun {
  // Makes `require('@tensorflow/tfjs-node')` throw, as it does on a machine without the binding.
  const blocker =
    "import Module from 'node:module'; const load = Module._load; Module._load = function (request, ...rest) {" +
    " if (request === '@tensorflow/tfjs-node') throw new Error('binding blocked by the test'); return load.call(this, request, ...rest); };";
  return runSnippetInFreshNode(snippet, {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    imports: options.blockNative ? [`data:text/javascript,${encodeURIComponent(blocker)}`] : [],
  });
}

void describe('loadTf', () => {
  void it('cpu preference runs the pure-JS backend', () => {
    const loaded = loadTf({ preference: 'cpu', warn: () => assert.fail('cpu preference must not warn') });
    assert.equal(loaded.backend, 'cpu');
    assert.equal(currentBackend(loaded.tf), 'cpu');
    assert.equal(loaded.nativeUnavailableReason, undefined);
  });

  void it('auto falls back to pure JS with one warning naming the speed cost when the binding does not load', () => {
    const child = runIsolated(
      `const { loadTf } = require('./src/ml/backend'); const warnings = [];
       const first = loadTf({ preference: 'auto', warn: (m) => warnings.push(m) });
       const second = loadTf({ preference: 'auto', warn: (m) => warnings.push(m) });
       console.log(JSON.stringify({ backends: [first.backend, second.backend], active: first.tf.getBackend(), reason: first.nativeUnavailableReason, warnings }));`,
      { blockNative: true },
    );
    assert.equal(child.status, 0, child.stderr);
    const result = JSON.parse(child.stdout) as {
      backends: string[];
      active: string;
      reason: string;
      warnings: string[];
    };
    assert.deepEqual(result.backends, ['cpu', 'cpu']);
    assert.equal(result.active, 'cpu');
    assert.equal(result.reason, 'binding blocked by the test');
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? '', /pure-JS backend, which trains about \d+x slower on convolutional models/);
    assert.match(result.warnings[0] ?? '', /npm run setup:tf/);
  });

  void it('native preference fails with DependencyUnavailableError when the binding does not load', () => {
    const child = runIsolated(
      `const { loadTf } = require('./src/ml/backend');
       try { loadTf({ preference: 'native' }); console.log(JSON.stringify({ threw: false })); }
       catch (e) { console.log(JSON.stringify({ threw: true, type: e.type, retryable: e.retryable, message: e.message })); }`,
      { blockNative: true },
    );
    assert.equal(child.status, 0, child.stderr);
    const result = JSON.parse(child.stdout) as { threw: boolean; type: string; retryable: boolean; message: string };
    assert.equal(result.threw, true);
    assert.equal(result.type, 'FineflowDependencyUnavailable');
    assert.match(result.message, /FINEFLOW_TF_BACKEND=native.*setup:tf/);
  });

  void it('auto picks the native backend when the binding loads', (t) => {
    const failure = nativeLoadFailure();
    if (failure !== undefined) {
      t.skip(`native binding not built (${failure}); run npm run setup:tf`);
      return;
    }
    const loaded = loadTf({ preference: 'auto', warn: () => assert.fail('must not warn when native loads') });
    assert.equal(loaded.backend, 'tensorflow');
    assert.equal(currentBackend(loaded.tf), 'tensorflow');
  });
});

/** Deterministic float32 values in [-scale, scale): the same on every backend and machine. */
function seededValues(count: number, seed: number, scale: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = (state / 2 ** 32) * 2 * scale - scale;
  }
  return values;
}

interface TrainingTrace {
  readonly gradients: ReadonlyMap<string, Float32Array>;
  readonly losses: readonly number[];
  readonly weights: ReadonlyMap<string, Float32Array>;
}

const batch = 8;
const classes = 3;

/** Builds the seeded model on `backend`, records its first gradients, then trains a few SGD steps. */
async function trainSeededCnn(tf: Tf, backend: BackendName): Promise<TrainingTrace> {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  const model = tf.sequential({
    layers: [
      // No conv bias: batchNorm's mean subtraction cancels it, so its gradient is exactly zero.
      tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, useBias: false, name: 'conv' }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: classes, activation: 'softmax', name: 'dense' }),
    ],
  });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(seededValues(w.size, 100 + i, 0.3), w.shape)));
  const xs = tf.tensor4d(seededValues(batch * 10 * 10 * 2, 7, 1), [batch, 10, 10, 2]);
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % classes),
      'int32',
    ),
    classes,
  );

  const { grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(labels, model.apply(xs, { training: true }) as TfModuleTensor) as TfScalar,
  );
  // Keyed by the layer's own weight name: variable names get a uniquifying suffix per model.
  const gradients = new Map(
    model.trainableWeights.map((w) => [
      w.originalName,
      (grads[w.name]?.dataSync() as Float32Array | undefined) ?? new Float32Array(),
    ]),
  );

  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) losses.push((await model.trainOnBatch(xs, labels)) as number);
  const weights = new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
  tf.dispose([xs, labels, ...Object.values(grads)]);
  model.dispose();
  return { gradients, losses, weights };
}
type TfModuleTensor = ReturnType<Tf['tensor']>;
type TfScalar = ReturnType<Tf['scalar']>;

function assertClose(
  actual: Float32Array | readonly number[],
  expected: Float32Array | readonly number[],
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    assert.ok(Math.abs(a - e) <= 1e-4 + 1e-3 * Math.abs(e), `${what}[${i}]: native ${a} vs pure-JS ${e}`);
  }
}

void describe('native backend training matches the pure-JS backend', () => {
  void it('conv2d, batchNorm and dense gradients, losses and trained weights agree', async (t) => {
    const failure = nativeLoadFailure();
    if (failure !== undefined) {
      t.skip(`native binding not built (${failure}); run npm run setup:tf to compare native with pure JS`);
      return;
    }
    const { tf } = loadTf({ preference: 'native' });
    const native = await trainSeededCnn(tf, 'tensorflow');
    const pureJs = await trainSeededCnn(tf, 'cpu');
    await tf.setBackend('tensorflow');

    for (const layer of ['conv', 'bn', 'dense']) {
      const names = [...native.gradients.keys()].filter((name) => name.startsWith(`${layer}/`));
      assert.ok(names.length >= 1, `${layer} has trainable weights with gradients`);
      for (const name of names) {
        const gradient = native.gradients.get(name) ?? new Float32Array();
        assert.ok(
          gradient.some((v) => Math.abs(v) > 1e-6),
          `${name} gradient is not all zero`,
        );
        assertClose(gradient, pureJs.gradients.get(name) ?? new Float32Array(), `gradient ${name}`);
      }
    }
    assertClose(native.losses, pureJs.losses, 'loss per step');
    assert.ok(
      (native.losses.at(-1) ?? Infinity) < (native.losses[0] ?? -Infinity),
      `loss decreases: ${native.losses.join(', ')}`,
    );
    assert.ok(native.weights.has('bn/moving_mean'), 'batchNorm moving statistics are tracked');
    for (const [name, values] of native.weights)
      assertClose(values, pureJs.weights.get(name) ?? new Float32Array(), `weight ${name}`);
  });
});
