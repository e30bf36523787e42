/**
 * Run one program for a `command` stage: its own process group (so cancelling ends whatever it
 * started, too), no shell, an environment built from scratch, stdout and stderr split into
 * bounded lines. Cancellation sends SIGTERM to the group and SIGKILL after the grace period; once
 * the program has exited, anything it left running in its group is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { InvalidInputError } from '../core/errors';
import type { ProcessEnding } from './exit-status';
import { LineSplitter } from './line-protocol';

export interface ProcessRequest {
  readonly executable: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** Time between SIGTERM and SIGKILL when the signal aborts. */
  readonly killGraceMs: number;
  readonly onStdoutLine: (line: string, truncated: boolean) => void;
  readonly onStderrLine: (line: string, truncated: boolean) => void;
  /** Called with the spawned child (tests look at its pid). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

export interface ProcessOutcome extends ProcessEnding {
  /** The runner sent SIGTERM/SIGKILL because the signal aborted. */
  readonly stoppedByRunner: boolean;
  readonly durationMs: number;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

export function runProcess(request: ProcessRequest): Promise<ProcessOutcome> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(request.executable, [...request.args], {
        cwd: request.cwd,
        env: { ...request.env },
        detached: true, // a new process group, led by the child
        stdio: ['ignore', 'pipe', 'pipe'],
        shell: false,
      });
    } catch (error) {
      reject(notRunnable(request.executable, error));
      return;
    }
    request.onSpawn?.(child);
    const out = new LineSplitter(request.onStdoutLine);
    const err = new LineSplitter(request.onStderrLine);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => out.push(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => err.push(chunk));
    let stoppedByRunner = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (stoppedByRunner) return;
      stoppedByRunner = true;
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), request.killGraceMs);
      killTimer.unref();
    };
    if (request.signal.aborted) stop();
    else request.signal.addEventListener('abort', stop, { once: true });
    let ending: ProcessEnding | undefined;
    child.once('error', (error) => {
      request.signal.removeEventListener('abort', stop);
      if (killTimer) clearTimeout(killTimer);
      reject(notRunnable(request.executable, error));
    });
    // Whatever the program left behind in its group would keep stdout open: end it, then wait for 'close'.
    child.once('exit', (code, signal) => {
      ending = { code, signal };
      signalGroup(child, 'SIGKILL');
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      request.signal.removeEventListener('abort', stop);
      if (killTimer) clearTimeout(killTimer);
      out.end();
      err.end();
      const final = ending ?? { code, signal };
      resolve({ ...final, stoppedByRunner, durationMs: Date.now() - started });
    });
  });
}

function notRunnable(executable: string, error: unknown): InvalidInputError {
  const reason = error instanceof Error ? error.message : String(error);
  return new InvalidInputError(`cannot start ${executable}: ${reason}`, { code: 'command-not-runnable' });
}
