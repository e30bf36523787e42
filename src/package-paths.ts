/**
 * Where Fineflow's own files are, for both ways it runs:
 * - from a clone, TypeScript through tsx (`bin/fineflow.js` loads src/cli/main.ts): the package
 *   root is the repository, the workflow bundle and the web app are built when first needed;
 * - installed from the npm package, compiled JavaScript under dist/ (`npm run build`): the workflow
 *   bundle and the web app were built by `npm run build` and are read from dist/.
 * State (the local stack's data, logs, keys) never goes into an installed package's directory,
 * which may be read-only or shared: it lives in the user's home (see `defaultStackDir`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** True when this process runs the TypeScript sources (a clone), false when it runs dist/. */
export const RUNNING_FROM_SOURCE = __filename.endsWith('.ts');

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'fineflow'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json of fineflow above ${start}`);
  }
}

/** The directory holding Fineflow's package.json (the clone, or node_modules/fineflow). */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** A file shipped with the package (infra scripts, the graph addon's source), by its path in the repository. */
export function packageFile(...segments: string[]): string {
  return path.join(PACKAGE_ROOT, ...segments);
}

/** The prebuilt workflow bundle `npm run build` writes (used only when running dist/). */
export const PREBUILT_WORKFLOW_BUNDLE = packageFile('dist', 'workflow-bundle.js');

/** The prebuilt web app `npm run build` writes (used only when running dist/). */
export const PREBUILT_UI_DIR = packageFile('dist', 'ui');

/** Fineflow's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The local stack's state directory when FINEFLOW_STACK_DIR is not set: `.fineflow/dev` in the
 * clone (as infra/stack.sh has always used), `$XDG_STATE_HOME/fineflow/dev` (default
 * `~/.local/state/fineflow/dev`) for an installed package.
 */
export function defaultStackDir(env: Readonly<Record<string, string | undefined>>): string {
  if (RUNNING_FROM_SOURCE) return packageFile('.fineflow', 'dev');
  const stateHome = env.XDG_STATE_HOME?.trim() || path.join(env.HOME?.trim() || homedir(), '.local', 'state');
  return path.join(stateHome, 'fineflow', 'dev');
}

/** FINEFLOW_STACK_DIR when set (relative to `cwd`), else `defaultStackDir`. */
export function stackDir(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const configured = env.FINEFLOW_STACK_DIR?.trim();
  return configured ? path.resolve(cwd, configured) : defaultStackDir(env);
}
