/**
 * Runs `fineflow` in-process, as a user's shell would, with stdout and stderr captured: the CLI's
 * own `main`, real config from the environment given (the test stack's ports by default).
 */
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
