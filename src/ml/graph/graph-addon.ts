/**
 * Where the graph training addon lives and what to do when it is missing. No tfjs here: the worker checks the file
 * at start-up without loading TensorFlow (training runs in a child process, src/ml/train/child-runner.ts).
 */
import { existsSync } from 'node:fs';
import { packageFile } from '../../package-paths';

/** Where the setup script (infra/tfjs-native/setup.sh) puts the built addon. */
export const ADDON_PATH = packageFile('build', 'native', 'fineflow_tf_graph.node');

/** The fix for a missing or unloadable addon, as an operator types it. */
export const GRAPH_ADDON_FIX =
  'build it with `fineflow setup` (`npm run setup:tf` in a clone) on the worker host, then restart the worker';

/** The worker's training settings that decide whether it wants the graph engine (FINEFLOW_TF_BACKEND, …_ENGINE). */
export interface TrainingEngineSettings {
  readonly tfBackend: 'auto' | 'native' | 'cpu';
  readonly trainEngine: 'auto' | 'graph' | 'eager';
}

/**
 * The worker's start-up warning when training would not get the graph engine because its addon is missing, or
 * undefined. The operator chose no graph engine with `FINEFLOW_TRAIN_ENGINE=eager` or `FINEFLOW_TF_BACKEND=cpu`.
 */
export function graphAddonStartupWarning(
  settings: TrainingEngineSettings,
  addonPath: string = ADDON_PATH,
  exists: (file: string) => boolean = existsSync,
): string | undefined {
  if (settings.trainEngine === 'eager' || settings.tfBackend === 'cpu' || exists(addonPath)) return undefined;
  const consequence =
    settings.trainEngine === 'graph'
      ? 'stages that train will fail (FINEFLOW_TRAIN_ENGINE=graph)'
      : 'training on this worker falls back to the eager engine, several times slower';
  const missing = `the graph training addon is missing (${addonPath} does not exist)`;
  return `warning: ${missing}: ${consequence}; ${GRAPH_ADDON_FIX}`;
}

/** The stage-log line of a training that fell back to the eager engine (`FINEFLOW_TRAIN_ENGINE=auto`). */
export { engineFallbackWarning } from '../../core/run/engine-fallback';
