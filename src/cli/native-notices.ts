/**
 * The commands that load native TensorFlow (`predict`, `serve`, `models export`, `setup`) run as a child of the
 * `fineflow` process, which passes the child's stderr on without libtensorflow's start-up notices
 * (src/ml/tf-notices.ts): they are written by native code straight to file descriptor 2 as the binding loads, so only
 * a reader of that stream can drop them. Every other line passes, errors and warnings included; stdin and stdout are
 * the child's own.
 *
 * Signals: the child runs in a process group of its own, so Ctrl-C reaches only this process, which passes SIGINT,
 * SIGTERM and SIGHUP on exactly once each (a second SIGINT would cut `serve`'s graceful close short; before, SIGINT
 * sent to this process alone, by a supervisor or `kill -INT`, was ignored and reached nobody). The child holds an IPC
 * channel to this process and ends itself (SIGTERM, so `serve` closes gracefully) when the channel drops: this
 * process killed with SIGKILL no longer leaves an orphaned `serve` holding its port.
 *
 * Job control: Ctrl-Z stops the terminal's foreground group, which holds this process only, so SIGTSTP here stops
 * the child and then this process (both with SIGSTOP, a signal neither can handle or lose); `fg` or
 * `bg` sends SIGCONT here, which continues the child. Before, Ctrl-Z stopped this process and `serve` kept serving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { createTfNoticeFilter } from '../ml/tf-notices';

/** Set in the child's environment: it is the child, and loads the backend itself. */
export const NATIVE_CHILD_VARIABLE = 'FINEFLOW_CLI_NATIVE_CHILD';

/** Whether `fineflow ARGV…` loads native TensorFlow (and the backend is not the pure-JS one by choice). */
export function loadsNativeTf(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (env[NATIVE_CHILD_VARIABLE] === '1') return false;
  const [name, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) return false;
  // `setup` loads the native binding to check it, whatever backend the environment asks the other commands for.
  if (name === 'setup') return true;
  if (env.FINEFLOW_TF_BACKEND?.trim() === 'cpu') return false;
  if (name === 'predict' || name === 'serve') return true;
  return name === 'models' && rest.find((arg) => !arg.startsWith('-')) === 'export';
}

/** Copies `source` to `target` line by line, dropping libtensorflow's notices; a last line without `\n` is kept. */
function passLines(source: NodeJS.ReadableStream, target: NodeJS.WritableStream): Promise<void> {
  const isTfNotice = createTfNoticeFilter();
  let pending = '';
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    const kept = lines.filter((line) => !isTfNotice(line));
    if (kept.length > 0) target.write(`${kept.join('\n')}\n`);
  });
  return new Promise((resolve) =>
    source.once('end', () => {
      if (pending !== '' && !isTfNotice(pending)) target.write(pending);
      resolve();
    }),
  );
}

/**
 * Runs this same command line (`node [execArgv] SCRIPT ARGV…`) as a child with its stderr filtered, and resolves with
 * the exit code to use: the child's, or 128 + the signal's number when a signal ended it.
 */
export async function runDroppingTfNotices(argv: readonly string[]): Promise<number> {
  const script = process.argv[1];
  if (script === undefined) throw new Error('fineflow: no script path in process.argv to run the command with');
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
    env: { ...process.env, [NATIVE_CHILD_VARIABLE]: '1' },
    // Its own process group (detached): a terminal's Ctrl-C reaches this process only, which forwards it once. None
    // of these commands reads stdin; a background group reading the terminal would be stopped (SIGTTIN).
    detached: true,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const stderr = child.stderr;
  if (stderr === null) throw new Error('fineflow: the command child has no stderr pipe');
  const forward = (signal: NodeJS.Signals) => () => void child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const endJobControl = forwardJobControl(child);
  try {
    const passed = passLines(stderr, process.stderr);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    await passed;
    if (code !== null) return code;
    return 128 + (signal ? constants.signals[signal] : 0);
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    endJobControl();
  }
}

/** Stops the child with this process on SIGTSTP, continues it on SIGCONT (module docblock); returns the undo. */
function forwardJobControl(child: ChildProcess): () => void {
  const stop = (): void => {
    child.kill('SIGSTOP');
    // Then this process, as the shell expects of Ctrl-Z. SIGSTOP, not SIGTSTP's default action: the kernel discards a
    // SIGTSTP sent to a process in an orphaned process group (started by a supervisor or a script that has exited),
    // which left the child stopped and this process running.
    process.kill(process.pid, 'SIGSTOP');
  };
  const resume = (): void => {
    child.kill('SIGCONT');
  };
  process.on('SIGTSTP', stop);
  process.on('SIGCONT', resume);
  return () => {
    process.off('SIGTSTP', stop);
    process.off('SIGCONT', resume);
  };
}

/**
 * In the child ({@link NATIVE_CHILD_VARIABLE} set): end this process with SIGTERM when the parent's IPC channel drops
 * (the parent was killed), so nothing outlives the `fineflow` process a user or supervisor started. The channel does
 * not keep the child alive.
 */
export function endWithParent(): void {
  const channel = process.channel;
  if (process.env[NATIVE_CHILD_VARIABLE] !== '1' || channel === undefined) return;
  channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
