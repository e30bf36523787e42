/**
 * Runs one of the shell scripts that ship with the package (the stack script, the native setup)
 * for a CLI command: the script's stdout goes to `out` (stderr in --json mode, so stdout stays
 * JSON), its stderr to the command's stderr; resolves with its exit code.
 */
import { spawn } from 'node:child_process';
import { EXIT, type CliIo } from './command';

export function runBashScript(
  script: string,
  args: readonly string[],
  io: CliIo,
  out: NodeJS.WritableStream,
  env: NodeJS.ProcessEnv = { ...io.env } as NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [script, ...args], { env, cwd: io.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
    child.once('error', reject);
    child.once('close', (code) => resolvePromise(code ?? EXIT.failure));
  });
}
