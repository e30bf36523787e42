/**
 * Runs `fineflow` in-process, as a user's shell would, with stdout and stderr captured: the CLI's
 * own `main`, real config from the environment given (the test stack's ports by default).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Variables added to (and overriding) process.env. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const env = { ...process.env, ...options.env };
  const code = await main([...argv], { stdout, stderr, env, cwd: options.cwd ?? process.cwd() });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

export interface ServeProcess {
  /** Base URL the server printed, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** SIGTERM, then wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `fineflow serve ARGS…` as its own process (a server blocks until a signal, so not in-process):
 * resolves once it prints that the model is ready, rejects with its stderr if it exits first.
 */
export function startServeProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<ServeProcess> {
  const bin = path.join(__dirname, '../../bin/fineflow.js');
  const child = spawn(process.execPath, [bin, 'serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise<ServeProcess>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const url = / ready at (http:\/\/\S+)\/predict/.exec(stdout)?.[1];
      if (url)
        resolve({
          url,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
    });
    void exited.then((code) => reject(new Error(`fineflow serve exited with ${code} before it was ready: ${stderr}`)));
  });
}
