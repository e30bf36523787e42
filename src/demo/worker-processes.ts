/**
 * The demo's worker pools: one `fineflow worker --pool P` process per pool, started in the
 * background with its output in a log file, and stopped (SIGTERM, then a graceful drain) when
 * the demo ends. Their pids are recorded so a demo that was interrupted can stop the workers
 * it left behind before starting new ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DependencyUnavailableError } from '../core/errors';

export interface WorkerProcess {
  readonly pool: string;
  readonly pid: number;
  readonly logFile: string;
  readonly child: ChildProcess;
}

export interface StartWorkersOptions {
  readonly repoDir: string;
  readonly pools: readonly string[];
  readonly logDir: string;
  /** File recording the pids, e.g. .fineflow/dev/demo-workers.json. */
  readonly pidFile: string;
  readonly env: NodeJS.ProcessEnv;
  /** Stage modules every worker loads (`--stage-module`). */
  readonly stageModules?: readonly string[];
  /** How long to wait for each worker's ready line. Default 120 s (the control worker bundles the workflows). */
  readonly readyTimeoutMs?: number;
  readonly onLine?: (line: string) => void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return !isAlive(pid);
}

/** Stop worker processes an earlier, interrupted demo recorded in `pidFile`. */
export async function stopRecordedWorkers(pidFile: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(pidFile)) return;
  let recorded: { pool: string; pid: number }[] = [];
  try {
    recorded = JSON.parse(readFileSync(pidFile, 'utf8')) as { pool: string; pid: number }[];
  } catch {
    recorded = [];
  }
  for (const { pool, pid } of recorded) {
    if (!Number.isInteger(pid) || !isAlive(pid)) continue;
    // Only our own workers: the command line must be a fineflow worker of that pool.
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (!cmdline.includes('worker') || !cmdline.includes(`--pool ${pool}`)) continue;
    log(`stopping worker ${pool} (pid ${pid}) left by an earlier demo`);
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, 15_000))) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}

/**
 * Workers run as the stack's least-privilege worker user when infra/stack-env.sh exported it
 * (FINEFLOW_WORKER_S3_*), not as the CLI user the demo itself uses.
 */
function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { FINEFLOW_WORKER_S3_ACCESS_KEY: accessKey, FINEFLOW_WORKER_S3_SECRET_KEY: secretKey } = env;
  return accessKey && secretKey
    ? { ...env, FINEFLOW_S3_ACCESS_KEY: accessKey, FINEFLOW_S3_SECRET_KEY: secretKey }
    : env;
}

/** Start one worker per pool and resolve once every one of them polls its task queue. */
export async function startWorkers(options: StartWorkersOptions): Promise<WorkerProcess[]> {
  mkdirSync(options.logDir, { recursive: true });
  const workers: WorkerProcess[] = [];
  const ready: Promise<void>[] = [];
  for (const pool of options.pools) {
    const logFile = path.join(options.logDir, `worker-${pool}.log`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        path.join(options.repoDir, 'bin/fineflow.js'),
        'worker',
        '--pool',
        pool,
        '--grace',
        '10s',
        '--json',
        ...(options.stageModules ?? []).flatMap((module) => ['--stage-module', module]),
      ],
      {
        cwd: options.repoDir,
        env: workerEnv(options.env),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    if (child.pid === undefined) throw new DependencyUnavailableError(`could not start the ${pool} worker`, { pool });
    child.stderr?.pipe(out, { end: false });
    ready.push(
      new Promise<void>((resolve, reject) => {
        let buffered = '';
        const timer = setTimeout(
          () =>
            reject(
              new DependencyUnavailableError(`the ${pool} worker did not become ready; see ${logFile}`, {
                pool,
                logFile,
              }),
            ),
          options.readyTimeoutMs ?? 120_000,
        );
        child.stdout?.on('data', (chunk: Buffer) => {
          out.write(chunk);
          buffered += chunk.toString('utf8');
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line.includes('"event":"ready"')) {
              clearTimeout(timer);
              options.onLine?.(
                `worker ${pool} ready (pid ${child.pid}, log ${path.relative(options.repoDir, logFile)})`,
              );
              resolve();
            }
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(
            new DependencyUnavailableError(`the ${pool} worker exited with code ${code}; see ${logFile}`, {
              pool,
              logFile,
            }),
          );
        });
      }),
    );
    workers.push({ pool, pid: child.pid, logFile, child });
  }
  writeFileSync(options.pidFile, JSON.stringify(workers.map((w) => ({ pool: w.pool, pid: w.pid }))));
  try {
    await Promise.all(ready);
  } catch (error) {
    await stopWorkers(workers, options.pidFile);
    throw error;
  }
  // After ready, an exit is reported by stopWorkers; keep the promise rejections above handled.
  for (const worker of workers) worker.child.removeAllListeners('exit');
  return workers;
}

/** SIGTERM every worker (they drain: no new tasks, running stages get their grace), then wait. */
export async function stopWorkers(workers: readonly WorkerProcess[], pidFile: string): Promise<void> {
  for (const worker of workers) if (isAlive(worker.pid)) worker.child.kill('SIGTERM');
  for (const worker of workers) {
    if (!(await waitForExit(worker.pid, 20_000))) worker.child.kill('SIGKILL');
  }
  rmSync(pidFile, { force: true });
}
