/**
 * Tests of how TensorFlow loads (test/unit/ml/backend, tf-notices): whether this machine's native binding loads, and
 * a fresh node to run a snippet in, since the backend choice and libtensorflow's log level are fixed when the
 * binding first loads in a process.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../..');

/** Why `@tensorflow/tfjs-node` does not load here (its first line), or undefined when it does. */
export function nativeLoadFailure(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
    return undefined;
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).split('\n')[0];
  }
}

export interface SnippetRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `snippet` (CommonJS, under tsx, from the repository root) in a fresh node with exactly `env`. */
export function runSnippetInFreshNode(
  snippet: string,
  options: { readonly env: NodeJS.ProcessEnv; readonly imports?: readonly string[] },
): SnippetRun {
  const imports = (options.imports ?? []).flatMap((specifier) => ['--import', specifier]);
  const child = spawnSync(process.execPath, ['--import', 'tsx', ...imports, '-e', snippet], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: options.env,
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}
