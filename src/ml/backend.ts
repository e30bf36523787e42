/**
 * Which TensorFlow backend runs: the native one (`@tensorflow/tfjs-node`, libtensorflow) when
 * its binding loads, otherwise the pure-JS `@tensorflow/tfjs` with a warning that names the
 * cost. Every training output records `backend`.
 */
import type * as TfModule from '@tensorflow/tfjs';

export type Tf = typeof TfModule;
export type BackendName = 'tensorflow' | 'cpu';

export interface LoadedTf {
  readonly tf: Tf;
  /** `tensorflow` = native libtensorflow; `cpu` = pure JavaScript. */
  readonly backend: BackendName;
}

let loaded: LoadedTf | undefined;

export function loadTf(options: { readonly preferNative?: boolean; readonly warn?: (message: string) => void } = {}): LoadedTf {
  if (loaded) return loaded;
  const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (options.preferNative !== false && process.env.FINEFLOW_TF_BACKEND !== 'cpu') {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tf = require('@tensorflow/tfjs-node') as Tf;
      loaded = { tf, backend: 'tensorflow' };
      return loaded;
    } catch (error) {
      warn(
        `fineflow: native TensorFlow backend unavailable (${(error as Error).message.split('\n')[0]}); ` +
          'falling back to the pure-JS backend, which trains about 100x slower. Run `npm run setup:tf` to build it.',
      );
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs') as Tf;
  loaded = { tf, backend: 'cpu' };
  return loaded;
}
