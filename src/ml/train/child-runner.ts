/**
 * Run training in a child process, so the parent (a Temporal worker) keeps heartbeating,
 * polling and answering cancellation while the child keeps the CPU busy. Progress streams back
 * over IPC after every epoch; aborting the signal kills the child at once (the last checkpoint
 * is what a retry resumes from).
 *
 * Bounds: the child is its own process group (so a cancel kills whatever it started too) and
 * runs under a memory cap: V8's heap flag plus RLIMIT_DATA through `prlimit`. RLIMIT_AS is not
 * usable: V8 reserves many GB of address space for WebAssembly guard regions (tsx's parser fails to
 * start under 8 GB), while RLIMIT_DATA counts only writable private memory, which is where native
 * TensorFlow's tensors live. Running out of memory is a ResourceLimitError (non-retryable: the
 * same request would run out again) that says what to reduce.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CancelledError, InternalError, ResourceLimitError, errorOfType, type FineflowError } from '../../core/errors';
import type { OutboundConfig } from '../../config';
import { outboundPolicy } from '../../security/outbound';
import { RUNNING_FROM_SOURCE } from '../../package-paths';
import { createTfNoticeFilter } from '../tf-notices';
import type { TrainingProgress, TrainingRequest, TrainingResult } from './types';
import type { OutputsClaim } from '../../../activities/attempt-fence';

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
  /** Memory cap of the child in MiB (heap + native tensors); default {@link DEFAULT_TRAIN_MEMORY_MB}. */
  readonly memoryLimitMb?: number;
  /** Called with the forked child (tests await its `exit` event). */
  readonly onSpawn?: (child: ChildProcess) => void;
  /**
   * The stage attempt's claim on its outputs (activities/attempt-fence.ts): the child checks it before each of its
   * writes and removals, and ends with a CancelledError once a newer attempt holds the outputs.
   */
  readonly fence?: OutputsClaim;
}

/** Runs a training request to completion: {@link runTrainingInChildProcess} in production, in-process in tests. */
export type TrainingRunner = (request: TrainingRequest, options: ChildRunOptions) => Promise<TrainingResult>;

/** Default memory cap of a training child: FINEFLOW_TRAIN_MEMORY_MB overrides it on the worker. */
export const DEFAULT_TRAIN_MEMORY_MB = 4096;

/** Where `prlimit` (util-linux) is; without it only the V8 heap is capped. */
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((candidate) => existsSync(candidate));

/** What a child that ran out of memory leaves behind: V8, ArrayBuffer, C++ and TensorFlow allocator messages. */
const OUT_OF_MEMORY = new RegExp(
  [
    'heap out of memory',
    'Array buffer allocation failed',
    'std::bad_alloc',
    'Cannot allocate memory',
    'OOM when allocating',
    'out of memory',
    'Reached heap limit',
  ].join('|'),
  'i',
);

function outOfMemory(limitMb: number, evidence: string): ResourceLimitError {
  return new ResourceLimitError(
    `training ran out of memory (limit ${limitMb} MiB: ${evidence}); reduce batchSize, the image size (prepare-data ` +
      `image.size) or headUnits, or raise FINEFLOW_TRAIN_MEMORY_MB on the worker`,
    { code: 'out-of-memory', limitMb },
  );
}

/**
 * tsx's loader as a file URL, resolved from this file: a bare `--import tsx` is resolved from the child's working
 * directory, so a worker started from a team's own folder (`/path/to/fineflow/bin/fineflow.js worker`) failed every
 * training stage with ERR_MODULE_NOT_FOUND.
 */
const TSX_LOADER = RUNNING_FROM_SOURCE ? pathToFileURL(require.resolve('tsx')).href : '';

/** How to start the child under the cap: fork's execPath/execArgv, `prlimit --data=… -- node …` when available. */
function cappedLaunch(limitMb: number): { execPath: string; execArgv: string[] } {
  // The heap gets most of the cap; tensors and buffers live outside it but inside RLIMIT_DATA.
  // From a clone the child is TypeScript (tsx); an installed package forks its compiled dist/ file.
  const nodeArgs = [
    `--max-old-space-size=${Math.max(128, Math.floor(limitMb * 0.75))}`,
    ...(RUNNING_FROM_SOURCE ? ['--import', TSX_LOADER] : []),
  ];
  if (!PRLIMIT) return { execPath: process.execPath, execArgv: nodeArgs };
  return { execPath: PRLIMIT, execArgv: [`--data=${limitMb * 1024 * 1024}`, '--', process.execPath, ...nodeArgs] };
}

/** Kill the child's whole process group (it is its leader); quiet when it is gone already. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Messages between parent and child. */
export type ParentMessage = {
  readonly type: 'start';
  readonly request: TrainingRequest;
  readonly store?: StoreFactoryReference;
  /** The parent's outbound policy (src/security/outbound.ts): the child loads base models under the same rules. */
  readonly outbound?: OutboundConfig;
  /** The attempt's claim its writes are fenced with ({@link ChildRunOptions.fence}). */
  readonly fence?: OutputsClaim;
};
export type ChildMessage =
  | { readonly type: 'progress'; readonly progress: TrainingProgress }
  | { readonly type: 'result'; readonly result: TrainingResult }
  | {
      readonly type: 'error';
      readonly error: { readonly type?: string; readonly message: string; readonly details?: Record<string, unknown> };
    };

export const TRAINING_WORKER_PATH = path.join(__dirname, `training-worker${path.extname(__filename)}`);

function errorFrom(error: {
  readonly type?: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}): FineflowError {
  const details = error.details ?? {};
  return (
    errorOfType(error.type, error.message, details) ?? new InternalError(`training failed: ${error.message}`, details)
  );
}

/**
 * Each non-blank line of `stream` to `onLog` (the stage log), but for libtensorflow's start-up notices (../tf-notices).
 */
export function forwardLines(
  stream: NodeJS.ReadableStream | null,
  onLog: ((line: string) => void) | undefined,
  onChunk?: (chunk: string) => void,
): void {
  if (!stream) return;
  let pending = '';
  const isTfNotice = createTfNoticeFilter();
  const forward = (line: string): void => {
    if (line.trim() === '') return;
    if (!isTfNotice(line)) onLog?.(line);
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    onChunk?.(chunk);
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) forward(line);
  });
  stream.on('end', () => forward(pending));
}

/** What ended a child that exited without a result: memory, a SIGKILL, or anything else. */
function exitError(
  limitMb: number,
  stderrTail: string,
  code: number | null,
  signal: NodeJS.Signals | null,
): FineflowError {
  const oom = OUT_OF_MEMORY.exec(stderrTail);
  if (oom) return outOfMemory(limitMb, oom[0]);
  // A bare SIGKILL (no allocation failure in stderr: the cap makes allocations fail first) is
  // an operator, a node drain or the kernel's OOM killer: retryable, the retry resumes from
  // the newest checkpoint (issue 13: kill -9 of training redoes at most one epoch).
  if (signal === 'SIGKILL')
    return new InternalError(
      `training process was killed (SIGKILL: by an operator, or the kernel's out-of-memory killer if the machine ` +
        `ran out of memory below the ${limitMb} MiB cap); the retry resumes from the newest checkpoint`,
      { code, signal },
    );
  return new InternalError(
    `training process exited (${signal ? `signal ${signal}` : `code ${code}`}) before returning a result`,
    { code, signal },
  );
}

/** One forked training child and the promise it settles: the first outcome wins, later ones are ignored. */
class TrainingChild {
  private readonly limitMb: number;
  private readonly child: ChildProcess;
  private settled = false;
  /** The end of the child's stderr, where allocation failures show. */
  private stderrTail = '';

  constructor(
    request: TrainingRequest,
    private readonly options: ChildRunOptions,
    private readonly resolve: (result: TrainingResult) => void,
    private readonly reject: (error: FineflowError) => void,
  ) {
    this.limitMb = options.memoryLimitMb ?? DEFAULT_TRAIN_MEMORY_MB;
    this.child = fork(TRAINING_WORKER_PATH, [], {
      ...cappedLaunch(this.limitMb),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...options.env },
      serialization: 'advanced',
      // Its own process group, so cancelling kills everything it started.
      detached: true,
    });
    options.onSpawn?.(this.child);
    forwardLines(this.child.stdout, options.onLog);
    forwardLines(this.child.stderr, options.onLog, (chunk) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4096);
    });
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.child.on('message', (message: ChildMessage) => this.onMessage(message));
    this.child.on('error', (error) =>
      this.fail(new InternalError(`training process failed: ${error.message}`, {}, { cause: error })),
    );
    this.child.on('exit', (code, signal) => {
      killGroup(this.child); // anything the child started dies with it
      this.fail(exitError(this.limitMb, this.stderrTail, code, signal));
    });
    const start: ParentMessage = {
      type: 'start',
      request,
      ...(options.store ? { store: options.store } : {}),
      ...(options.fence ? { fence: options.fence } : {}),
      outbound: outboundPolicy().config,
    };
    this.child.send(start);
  }

  private settle(outcome: () => void): void {
    if (this.settled) return;
    this.settled = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    outcome();
  }

  private fail(error: FineflowError): void {
    this.settle(() => this.reject(error));
  }

  private readonly onAbort = (): void => {
    killGroup(this.child);
    this.fail(
      new CancelledError('training was cancelled; the child process was killed', { pid: this.child.pid ?? null }),
    );
  };

  private onMessage(message: ChildMessage): void {
    if (message.type === 'progress') this.options.onProgress?.(message.progress);
    else if (message.type === 'result') this.settle(() => this.resolve(message.result));
    else if (message.type === 'error') {
      const oom = OUT_OF_MEMORY.exec(message.error.message);
      this.fail(oom ? outOfMemory(this.limitMb, oom[0]) : errorFrom(message.error));
    }
  }
}

/** Fork the training worker, run `request`, and return its result. */
export function runTrainingInChildProcess(
  request: TrainingRequest,
  options: ChildRunOptions = {},
): Promise<TrainingResult> {
  return new Promise<TrainingResult>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new CancelledError('training was cancelled before it started', {}));
      return;
    }
    new TrainingChild(request, options, resolve, reject);
  });
}
