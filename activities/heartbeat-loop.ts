/**
 * The one heartbeat-while-waiting loop of Fineflow's activities (the stage runner's attempt, a sweep trial's
 * segment, a data watcher's poll): a heartbeat on a timer, so that cancellation reaches an activity that reports
 * nothing for a while, and an activity that is only slow (set-up on a starved worker, a long listing) is not taken
 * for a lost one once its heartbeat timeout passes.
 */
import type { Context } from '@temporalio/activity';

/** Beats at least this often (a third of a 15 s heartbeat timeout, or of none at all). */
const MAX_INTERVAL_MS = 5_000;
/** And at most this often, however short the timeout (the SDK throttles heartbeats anyway). */
const MIN_INTERVAL_MS = 200;

/** How often the loop beats: three times per heartbeat timeout, within 200 ms to 5 s. */
export function heartbeatIntervalMs(heartbeatTimeoutMs: number | undefined): number {
  if (heartbeatTimeoutMs === undefined) return MAX_INTERVAL_MS;
  return Math.max(MIN_INTERVAL_MS, Math.min(MAX_INTERVAL_MS, heartbeatTimeoutMs / 3));
}

export interface HeartbeatLoop {
  /** Heartbeat now, with the current details (the timer goes on as before). */
  beat(): void;
  stop(): void;
}

export interface HeartbeatLoopOptions {
  /** What each heartbeat carries, read at every beat; default none. */
  readonly details?: () => unknown;
}

/**
 * Heartbeat on `context` at once, then every {@link heartbeatIntervalMs} of its heartbeat timeout until `stop()`: the
 * window of the heartbeat timeout starts when the activity does, whatever its set-up costs. So the details must hold
 * what a retry needs from the first beat on (a previous attempt's, until this one has its own).
 */
export function startHeartbeatLoop(context: Context, options: HeartbeatLoopOptions = {}): HeartbeatLoop {
  const { details } = options;
  const beat = (): void => context.heartbeat(details?.());
  beat();
  // Unref'd: a loop someone forgot to stop must not keep the worker's process alive.
  const timer = setInterval(beat, heartbeatIntervalMs(context.info.heartbeatTimeoutMs));
  timer.unref();
  return { beat, stop: () => clearInterval(timer) };
}

/** Run `work` with a {@link startHeartbeatLoop} going, stopped however `work` ends. */
export async function whileHeartbeating<T>(
  context: Context,
  work: () => Promise<T>,
  options: HeartbeatLoopOptions = {},
): Promise<T> {
  const loop = startHeartbeatLoop(context, options);
  try {
    return await work();
  } finally {
    loop.stop();
  }
}
