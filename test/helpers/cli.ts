/**
 * Runs `fineflow` in-process, as a user's shell would, with stdout and stderr captured: the CLI's
 * own `main`, real config from the environment given (the test stack's ports by default).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/command';
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

/** The CLI's io with stdout and stderr captured: pass `io` to `main` or `reportError`, then read `output()`. */
export function captureIo(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string = process.cwd(),
): { readonly io: CliIo; output(): { stdout: string; stderr: string } } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return {
    io: { stdout, stderr, env, cwd },
    output: () => ({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
  };
}

/** `fineflow ARGV…` in-process with `options.env` over process.env (`exactEnv`: only `options.env`). */
export async function runCli(
  argv: readonly string[],
  options: CliOptions & { readonly exactEnv?: boolean } = {},
): Promise<CliResult> {
  const env = options.exactEnv ? { ...options.env } : { ...process.env, ...options.env };
  const captured = captureIo(env, options.cwd ?? process.cwd());
  const code = await main([...argv], captured.io);
  return { code, ...captured.output() };
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

export interface CliProcess {
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves once its stdout matches `pattern`; rejects, with what it printed, if it exits first. */
  stdoutMatches(pattern: RegExp): Promise<void>;
  /** SIGTERM (a watch's Ctrl-C), then its exit. */
  stop(): Promise<number | null>;
}

/** `fineflow ARGV…` as its own process (a watch that runs until it is stopped), its output collected. */
export function startCliProcess(argv: readonly string[], env: Readonly<Record<string, string>> = {}): CliProcess {
  const child = spawn(process.execPath, [path.join(__dirname, '../../bin/fineflow.js'), ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const text = { stdout: '', stderr: '' };
  child.stderr.on('data', (chunk: Buffer) => (text.stderr += chunk.toString('utf8')));
  child.stdout.on('data', (chunk: Buffer) => (text.stdout += chunk.toString('utf8')));
  return {
    output: () => ({ ...text }),
    stdoutMatches: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(text.stdout)) resolve();
        };
        child.stdout.on('data', check);
        check();
        void exited.then((code) =>
          reject(
            new Error(
              `fineflow ${argv[0]} exited (${code}) before printing ${pattern}:\n${text.stdout}\n${text.stderr}`,
            ),
          ),
        );
      }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
