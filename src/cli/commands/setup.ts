/**
 * `fineflow setup`: provisions the native TensorFlow backend for the installed package (or the
 * clone) by running infra/tfjs-native/setup.sh, which ships with the package, then checks in
 * this process that the binding and the graph addon load. Training works without them, on the
 * pure-JS backend, one to three orders of magnitude slower.
 */
import { EXIT, UsageError, type CliCommand } from '../command';
import { packageFile } from '../../package-paths';
import { runBashScript } from '../run-script';
import type * as BackendModule from '../../ml/backend';
import type * as TfGraphModule from '../../ml/graph/tf-graph';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../ml/backend') as typeof BackendModule;
  const m1 = require('../../ml/graph/tf-graph') as typeof TfGraphModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { loadTf: m0.loadTf, loadGraphAddon: m1.loadGraphAddon };
}

/** What the training code will find: loaded in this process, exactly as a worker loads them. */
function probeNative(): { native: boolean; graphAddon: boolean; reason?: string } {
  const { loadTf, loadGraphAddon } = load();
  const loaded = loadTf({ preference: 'auto', warn: () => undefined });
  if (loaded.backend !== 'tensorflow') {
    return { native: false, graphAddon: false, reason: loaded.nativeUnavailableReason ?? 'native backend not loaded' };
  }
  const addon = loadGraphAddon();
  return { native: true, graphAddon: addon.addon !== undefined, ...(addon.error ? { reason: addon.error } : {}) };
}

export const command: CliCommand = {
  name: 'setup',
  summary: 'build or restore the native TensorFlow backend (cached in ~/.cache/fineflow)',
  usage: 'setup [--json]',
  description: `Runs the native setup that ships with the package (infra/tfjs-native/setup.sh): restores a cached
binding, or builds it offline from the TensorFlow wheel on PyPI with node-gyp, then compiles the
graph addon. Environment: FINEFLOW_CACHE_DIR, FINEFLOW_TF_WHEEL, FINEFLOW_TF_WHEEL_VERSION,
FINEFLOW_TFJS_NATIVE_ROUTE (see infra/tfjs-native/README.md). libtensorflow's start-up notices (absl,
oneDNN) are left out of stderr, as for predict and serve; its warnings and errors are not.

Exit codes: 0 the native backend loads, 1 it does not (training falls back to pure JS).`,
  examples: [
    { command: 'fineflow setup', explanation: 'restore or build the native backend' },
    { command: 'fineflow setup --json | jq .native', explanation: 'whether the native backend loads, for a script' },
  ],
  json: true,
  options: [],
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError(`setup takes no arguments, got '${args.positionals[0]}'`);
    const json = args.flags.json === true;
    await runBashScript(packageFile('infra', 'tfjs-native', 'setup.sh'), [], io, json ? io.stderr : io.stdout);
    const result = probeNative();
    if (json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else if (result.native)
      io.stdout.write(
        `native TensorFlow backend: ready; graph addon: ` +
          `${result.graphAddon ? 'ready' : `missing (${result.reason})`}\n`,
      );
    else io.stdout.write(`native TensorFlow backend: unavailable (${result.reason}); training runs on pure JS\n`);
    return result.native ? EXIT.ok : EXIT.failure;
  },
};
