/**
 * The web UI of the local stack: `fineflow dev up` starts `fineflow ui` in the background on
 * 127.0.0.1 (never another address: the dev stack has no token), `dev status` shows its URL and
 * whether it answers, `dev down` stops it. The UI process gets the stack's CLI user (its secret
 * key read by `infra/stack.sh secret-key cli`, passed in the environment, never printed) and a
 * link to the stack's Temporal UI. State: `ui.json` (pid, port, url) and `logs/ui.log` in the stack dir.
 */
import { spawn, execFile } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { DependencyUnavailableError, InvalidInputError } from '../core/errors';
import { packageFile } from '../package-paths';

const run = promisify(execFile);
const FINEFLOW_BIN = packageFile('bin', 'fineflow.js');
const STACK_SCRIPT = packageFile('infra', 'stack.sh');
/** The UI bundles its frontend and connects to Temporal before it listens; slow machines need the margin. */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
const CHECK_EVERY_MS = 200;

export interface DevUiRecord {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
}

export interface DevUiStatus {
  readonly url: string;
  readonly running: boolean;
  readonly pid?: number;
  /**
   * Not running, and another program listens on its port (a `fineflow ui` started by hand, another checkout's UI):
   * `dev up` would refuse to start one there.
   */
  readonly portHeld?: boolean;
}

function recordFile(stackDir: string): string {
  return path.join(stackDir, 'ui.json');
}

function readRecord(stackDir: string): DevUiRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(recordFile(stackDir), 'utf8')) as Partial<DevUiRecord>;
    if (typeof parsed.pid === 'number' && typeof parsed.port === 'number' && typeof parsed.url === 'string')
      return { pid: parsed.pid, port: parsed.port, url: parsed.url };
  } catch {
    // No record, or a damaged one: treated as not running.
  }
  return undefined;
}

/** True when `pid` is alive and is a `fineflow ui` (a pid reused by another process is left alone). */
function isOurUi(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.endsWith(path.join('bin', 'fineflow.js'))) && cmdline.includes('ui');
  } catch {
    return false;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether another program listens on 127.0.0.1:`port` (binding it fails with EADDRINUSE). */
function portHeld(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

function portHeldError(port: number, variable: string): InvalidInputError {
  return new InvalidInputError(
    `port ${port} (${variable}) is held by another program, so the web UI cannot listen there: stop that program, ` +
      `or set ${variable} to a free port and run \`fineflow dev up\` again (the stack itself is up; ` +
      '`fineflow dev up --no-ui` starts it without the UI)',
    { variable, port },
  );
}

export async function devUiStatus(stackDir: string, port: number): Promise<DevUiStatus> {
  const record = readRecord(stackDir);
  const url = record?.url ?? `http://127.0.0.1:${port}`;
  if (!record || !isOurUi(record.pid))
    return { url, running: false, ...((await portHeld(port)) ? { portHeld: true } : {}) };
  return { url, running: await answers(record.url), pid: record.pid };
}

/**
 * Start the UI unless it already runs; resolves once it answers /healthz. `env` is the stack's
 * environment (TEMPORAL_ADDRESS, FINEFLOW_S3_ENDPOINT, FINEFLOW_S3_ACCESS_KEY, …). A port another
 * program holds is refused naming `portVariable` (default FINEFLOW_UI_PORT): whatever answers there
 * is not this stack's UI, even when it answers /healthz (another checkout's UI does).
 */
export async function startDevUi(options: {
  readonly stackDir: string;
  readonly port: number;
  readonly portVariable?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly temporalUiUrl: string;
  readonly cwd: string;
}): Promise<DevUiStatus & { readonly started: boolean }> {
  const current = await devUiStatus(options.stackDir, options.port);
  if (current.running) return { ...current, started: false };
  if (current.pid !== undefined) await stopDevUi(options.stackDir);
  const portVariable = options.portVariable ?? 'FINEFLOW_UI_PORT';
  if (await portHeld(options.port)) throw portHeldError(options.port, portVariable);
  const url = `http://127.0.0.1:${options.port}`;
  // Links both ways: the UI to the stack's Temporal UI, runs it starts back to itself.
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    FINEFLOW_TEMPORAL_UI_URL: options.temporalUiUrl,
    FINEFLOW_UI_URL: url,
  };
  if (!env.FINEFLOW_S3_SECRET_KEY) {
    // The stack's CLI user; its key goes to the child's environment only.
    const { stdout } = await run('bash', [STACK_SCRIPT, 'secret-key', 'cli'], { env, cwd: options.cwd });
    env.FINEFLOW_S3_SECRET_KEY = stdout.trim();
  }
  const logDir = path.join(options.stackDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'ui.log');
  const log = openSync(logFile, 'a');
  let exited: number | string | undefined;
  try {
    const child = spawn(process.execPath, [FINEFLOW_BIN, 'ui', '--host', '127.0.0.1', '--port', String(options.port)], {
      cwd: options.cwd,
      env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.once('exit', (code, signal) => (exited = code ?? signal ?? 'unknown'));
    if (child.pid === undefined) throw new DependencyUnavailableError('fineflow ui could not be started');
    writeFileSync(recordFile(options.stackDir), `${JSON.stringify({ pid: child.pid, port: options.port, url })}\n`);
    const deadline = Date.now() + START_TIMEOUT_MS;
    // An answer counts only while our child lives: a program that took the port after the check above answers too.
    while (!(await answers(url)) || exited !== undefined) {
      if (exited !== undefined && (await portHeld(options.port))) {
        rmSync(recordFile(options.stackDir), { force: true });
        throw portHeldError(options.port, portVariable);
      }
      if (exited !== undefined || Date.now() > deadline) {
        if (exited === undefined) child.kill('SIGTERM');
        rmSync(recordFile(options.stackDir), { force: true });
        throw new DependencyUnavailableError(
          `fineflow ui did not start (${exited === undefined ? 'no answer in 120 s' : `exited: ${exited}`}); ` +
            `see ${logFile}`,
        );
      }
      await pause(CHECK_EVERY_MS);
    }
    child.unref();
    return { url, running: true, pid: child.pid, started: true };
  } finally {
    closeSync(log);
  }
}

/** Stop the UI this stack dir started (SIGTERM, then SIGKILL after 15 s). True when one was stopped. */
export async function stopDevUi(stackDir: string): Promise<boolean> {
  const record = readRecord(stackDir);
  rmSync(recordFile(stackDir), { force: true });
  if (!record || !isOurUi(record.pid)) return false;
  process.kill(record.pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isOurUi(record.pid)) {
    if (Date.now() > deadline) {
      process.kill(record.pid, 'SIGKILL');
      break;
    }
    await pause(CHECK_EVERY_MS);
  }
  return true;
}
