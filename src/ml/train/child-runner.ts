/**
 * Run training in a child process, so the parent (a Temporal worker) keeps heartbeating,
 * polling and answering cancellation while the child keeps the CPU busy. Progress streams back
 * over IPC after every epoch; aborting the signal kills the child at once (the last checkpoint
 * is what a retry resumes from).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { CancelledError, InternalError, errorOfType, type FineflowError } from '../../errors';
import type { OutboundConfig } from '../../config';
import { outboundPolicy } from '../../security/outbound';
import type { TrainingProgress, TrainingRequest, TrainingResult } from './types';

/**
 * How the child opens the object store: `require(modulePath)[exportName](options)` must return
 * an ObjectStore. Absent = the MinIO store from the environment's Fineflow config.
 */
export interface StoreFactoryReference {
  readonly modulePath: string;
  readonly exportName: string;
  readonly options?: unknown;
}

export interface ChildRunOptions {
  readonly onProgress?: (progress: TrainingProgress) => void;
  /** Lines the child writes to stdout/stderr (tfjs warnings, backend notices). */
  readonly onLog?: (line: string) => void;
  readonly signal?: AbortSignal;
  readonly store?: StoreFactoryReference;
  /** Extra environment for the child (it inherits the parent's). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Messages between parent and child. */
export type ParentMessage = {
  readonly type: 'start';
  readonly request: TrainingRequest;
  readonly store?: StoreFactoryReference;
  /** The parent's outbound policy (src/security/outbound.ts): the child loads base models under the same rules. */
  readonly outbound?: OutboundConfig;
};
export type ChildMessage =
  | { readonly type: 'progress'; readonly progress: TrainingProgress }
  | { readonly type: 'result'; readonly result: TrainingResult }
  | { readonly type: 'error'; readonly error: { readonly type?: string; readonly message: string; readonly details?: Record<string, unknown> } };

export const TRAINING_WORKER_PATH = path.join(__dirname, 'training-worker.ts');

function errorFrom(error: { readonly type?: string; readonly message: string; readonly details?: Record<string, unknown> }): FineflowError {
  const details = error.details ?? {};
  return errorOfType(error.type, error.message, details) ?? new InternalError(`training failed: ${error.message}`, details);
}

function forwardLines(stream: NodeJS.ReadableStream | null, onLog: ((line: string) => void) | undefined): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onLog?.(line);
  });
  stream.on('end', () => {
    if (pending.trim() !== '') onLog?.(pending);
  });
}

/** Fork the training worker, run `request`, and return its result. */
export function runTrainingInChildProcess(request: TrainingRequest, options: ChildRunOptions = {}): Promise<TrainingResult> {
  return new Promise<TrainingResult>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new CancelledError('training was cancelled before it started', {}));
      return;
    }
    let settled = false;
    const child: ChildProcess = fork(TRAINING_WORKER_PATH, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...options.env },
      serialization: 'advanced',
    });
    forwardLines(child.stdout, options.onLog);
    forwardLines(child.stderr, options.onLog);
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = (): void => {
      child.kill('SIGKILL');
      settle(() => reject(new CancelledError('training was cancelled; the child process was killed', { pid: child.pid ?? null })));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') options.onProgress?.(message.progress);
      else if (message.type === 'result') settle(() => resolve(message.result));
      else if (message.type === 'error') settle(() => reject(errorFrom(message.error)));
    });
    child.on('error', (error) => settle(() => reject(new InternalError(`training process failed: ${error.message}`, {}, { cause: error }))));
    child.on('exit', (code, signal) => {
      settle(() => reject(new InternalError(`training process exited (${signal ? `signal ${signal}` : `code ${code}`}) before returning a result`, { code, signal })));
    });
    const start: ParentMessage = { type: 'start', request, ...(options.store ? { store: options.store } : {}), outbound: outboundPolicy().config };
    child.send(start);
  });
}
