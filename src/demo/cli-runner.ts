/**
 * Runs `fineflow …` as a child process the way a user would type it, passing its output through
 * to the terminal while keeping a copy, so the demo shows real CLI output and can still read
 * what it printed (the run id of `submit`).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runFineflow(
  repoDir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { readonly echo?: boolean } = {},
): Promise<CliRun> {
  const echo = options.echo ?? true;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoDir, 'bin/fineflow.js'), ...args], {
      cwd: repoDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (echo) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (echo) process.stderr.write(chunk);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
