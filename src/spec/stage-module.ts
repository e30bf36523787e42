/**
 * Locating and explaining `--stage-module` values. Kept apart from stage-types.ts, which loads every stage
 * type's schema: the CLI's command definitions need only this, and must load nothing heavy
 * (test/unit/cli/lazy-commands.test.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Where `require` finds a `--stage-module` value, for every command and the worker alike: a path (`./x`, absolute,
 * `lib/x` with a slash, or a bare name that is a file or folder under `cwd`, like `stages.js`) against `cwd`;
 * anything else is a package name (`team-stages`, `@team/stages`), resolved from `cwd`'s node_modules, where a
 * project installs it, not from Fineflow's own install. Throws the resolver's MODULE_NOT_FOUND error
 * ({@link moduleLoadReason} explains it) when the package is not there.
 */
export function resolveStageModule(value: string, cwd: string): string {
  const local = path.resolve(cwd, value);
  const isPath =
    value.startsWith('.') ||
    path.isAbsolute(value) ||
    (!value.startsWith('@') && value.includes('/')) ||
    existsSync(local);
  return isPath ? local : require.resolve(value, { paths: [cwd] });
}

/**
 * Why a module would not load, for the user: Node's first line (its "Require stack" lists Fineflow's own files),
 * and for a missing bare name, where a package name is looked up.
 */
export function moduleLoadReason(modulePath: string, error: unknown): string {
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const missing = (error as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND';
  return missing && !path.isAbsolute(modulePath)
    ? `${first} (a package name is looked up from the current directory's node_modules; name a file as ./stages.js)`
    : first;
}
