/**
 * Which TensorFlow backend runs: the native one (`@tensorflow/tfjs-node`, libtensorflow) when
 * its binding loads, otherwise the pure-JS `@tensorflow/tfjs` with a warning that names the
 * cost. The preference comes from `FineflowConfig.tfBackend` (FINEFLOW_TF_BACKEND), passed in.
 * Every training output records `backend` (see {@link currentBackend}).
 *
 * The native binding is provisioned by `infra/tfjs-native/setup.sh` (run by the bootstrap and by
 * `npm run setup:tf`), which builds it offline from the TensorFlow wheel on PyPI.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { TfBackendPreference } from '../config';
import { DependencyUnavailableError, InternalError } from '../core/errors';

export type Tf = typeof TfModule;
/** `tensorflow` = native libtensorflow; `cpu` = pure JavaScript. */
export type BackendName = 'tensorflow' | 'cpu';

export interface LoadedTf {
  readonly tf: Tf;
  /** The backend that runs this process's tensors from now on. */
  readonly backend: BackendName;
  /** Why native is not running, when `backend` is `cpu` (absent when it was not asked for). */
  readonly nativeUnavailableReason?: string;
}

export interface LoadTfOptions {
  /** `auto`: native when it loads, else pure JS with a warning; `native`: fail without it; `cpu`: pure JS. */
  readonly preference: TfBackendPreference;
  /** Where the fallback warning goes; default stderr. */
  readonly warn?: (message: string) => void;
}

/**
 * Measured by bench/backend-bench.ts on a 2-core machine: the pure-JS backend trains the
 * reference CNN (28×28) about 2500× slower than libtensorflow, and the MLP about 35× slower.
 * Quoted in the fallback warning.
 */
export const PURE_JS_SLOWDOWN = 'about 2000x slower on convolutional models and 30x on small MLPs';

let nativeFailure: string | undefined;
let warned = false;

/**
 * libtensorflow reads TF_CPP_MIN_LOG_LEVEL when it loads: 1 drops its INFO start-up notices (the CPU-instruction
 * lines of cpu_feature_guard.cc), which `fineflow predict`, `serve` and every other process that loads it printed
 * on stderr before their own output; warnings and errors stay. An operator's own setting wins. (Two lines written
 * before TensorFlow initialises its logging, absl's "All log messages before absl::InitializeLog()" and port.cc's
 * oneDNN notice, obey no setting short of TF_ENABLE_ONEDNN_OPTS=0, which changes the arithmetic; they stay.)
 */
export const DEFAULT_TF_CPP_MIN_LOG_LEVEL = '1';

function requireNative(): Tf | undefined {
  if (nativeFailure !== undefined) return undefined;
  try {
    // Set before the native binding loads: it reads the variable then.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= DEFAULT_TF_CPP_MIN_LOG_LEVEL;
    // tfjs-node registers the `tensorflow` backend on the shared tfjs engine and makes it the default.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@tensorflow/tfjs-node') as Tf;
  } catch (error) {
    nativeFailure = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
    return undefined;
  }
}

/** The part of tfjs-node's kernel backend used to run a TensorFlow op tfjs has no kernel for. */
interface NativeOpRunner {
  readonly binding: { readonly TF_ATTR_TYPE: number; readonly TF_FLOAT: number };
  executeSingleOutput(
    op: string,
    attrs: readonly { name: string; type: number; value: number }[],
    inputs: readonly TensorInfo[],
  ): TensorInfo;
}

const NATIVE_RELU_GRAD_KERNEL = 'FineflowNativeReluGrad';
let nativeGradientsInstalled = false;

/**
 * tfjs differentiates relu as `dy * step(x)`, and tfjs-node runs `step` as six TensorFlow ops
 * (isNaN, greater, two full-size fills, two selects): in the benchmark CNN that was a third of
 * each training step. On the native backend the gradient becomes TensorFlow's single `ReluGrad`
 * op, as Keras runs it; other backends keep tfjs's own gradient. (ReluGrad gives 0, not NaN,
 * where x is NaN; the loss is NaN then anyway.)
 */
function installNativeGradients(tf: Tf): void {
  if (nativeGradientsInstalled) return;
  nativeGradientsInstalled = true;
  tf.registerKernel({
    kernelName: NATIVE_RELU_GRAD_KERNEL,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend }) => {
      const native = backend as unknown as NativeOpRunner;
      const float = [{ name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT }];
      const { dy, x } = inputs;
      if (!dy || !x) throw new InternalError('the ReluGrad kernel was called without its dy and x tensors', {});
      return native.executeSingleOutput('ReluGrad', float, [dy, x]);
    },
  });
  const tfjsReluGradient = tf.getGradient('Relu');
  tf.registerGradient({
    ...tfjsReluGradient,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (tf.getBackend() !== 'tensorflow' || x === undefined || x.dtype !== 'float32' || Array.isArray(dy)) {
        return tfjsReluGradient.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(NATIVE_RELU_GRAD_KERNEL, { dy, x }) as ReturnType<Tf['tensor']> };
    },
  });
}

function activate(tf: Tf, backend: BackendName): void {
  // setBackend is async only for backends with async init; cpu and tensorflow switch synchronously.
  void tf.setBackend(backend);
  if (tf.getBackend() !== backend) {
    throw new DependencyUnavailableError(
      `TensorFlow backend ${backend} did not activate (active: ${tf.getBackend()})`,
      { backend },
    );
  }
}

/**
 * Loads tfjs and activates the backend the preference allows. Safe to call repeatedly: the
 * module loads once, and each call re-activates the requested backend on the shared engine.
 * Throws {@link DependencyUnavailableError} when `native` is required and the binding does not load.
 */
export function loadTf(options: LoadTfOptions): LoadedTf {
  if (options.preference !== 'cpu') {
    const native = requireNative();
    if (native) {
      installNativeGradients(native);
      activate(native, 'tensorflow');
      return { tf: native, backend: 'tensorflow' };
    }
    const reason = nativeFailure ?? 'unknown error';
    if (options.preference === 'native') {
      throw new DependencyUnavailableError(
        `FINEFLOW_TF_BACKEND=native but the native TensorFlow binding does not load (${reason}); run \`fineflow ` +
          `setup\` (\`npm run setup:tf\` in a clone)`,
        { reason },
      );
    }
    if (!warned) {
      warned = true;
      (options.warn ?? ((message: string) => process.stderr.write(`${message}\n`)))(
        `fineflow: native TensorFlow backend unavailable (${reason}); falling back to the pure-JS backend, which trains ` +
          `${PURE_JS_SLOWDOWN}. Run \`fineflow setup\` (\`npm run setup:tf\` in a clone) to build it, or set FINEFLOW_TF_BACKEND=cpu to silence this.`,
      );
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs') as Tf;
  activate(tf, 'cpu');
  return {
    tf,
    backend: 'cpu',
    ...(options.preference !== 'cpu' && nativeFailure ? { nativeUnavailableReason: nativeFailure } : {}),
  };
}

/** The backend running `tf`'s tensors right now: what a training output records. */
export function currentBackend(tf: Tf): BackendName {
  const name = tf.getBackend();
  if (name !== 'tensorflow' && name !== 'cpu') {
    throw new DependencyUnavailableError(`unexpected TensorFlow backend ${name}; Fineflow runs on tensorflow or cpu`, {
      backend: name,
    });
  }
  return name;
}
