/**
 * The line a stage log gets when an attempt ended without its stage runner reporting how: Temporal timed
 * it out because its worker was killed (SIGKILL, host lost), stopped heartbeating or ran past the stage's
 * timeout. Said by the next attempt's runner (which learns it from Temporal), and by `fineflow logs` and the UI's
 * stage log when the run gave up on the stage after such an attempt ({@link givenUpAttempt}), so a log that stops at
 * an epoch says whether the worker crashed or the stage hung. Pure: workflow-safe, and bundled into the web app.
 */
import { formatHumanDuration } from '../spec/durations';

/** Temporal's activity timeout types (`TimeoutType` in @temporalio/common), as strings. */
export type AttemptTimeoutType = 'HEARTBEAT' | 'START_TO_CLOSE' | 'SCHEDULE_TO_CLOSE' | 'SCHEDULE_TO_START';

const TIMEOUT_TYPES: ReadonlySet<string> = new Set<AttemptTimeoutType>([
  'HEARTBEAT',
  'START_TO_CLOSE',
  'SCHEDULE_TO_CLOSE',
  'SCHEDULE_TO_START',
]);

/** The timeout type of a stage error recorded by the run (`Timeout:HEARTBEAT`, src/core/run/failures.ts). */
export function timeoutTypeOfStageError(errorType: string | undefined): AttemptTimeoutType | 'unknown' | undefined {
  if (errorType === undefined || !/^Timeout(:|$)/.test(errorType)) return undefined;
  const type = errorType.slice('Timeout:'.length);
  return TIMEOUT_TYPES.has(type) ? (type as AttemptTimeoutType) : 'unknown';
}

/** Why Temporal ended the attempt: which timeout, for how long, what that likely means. */
export function unfinishedAttemptWhy(timeout: AttemptTimeoutType | 'unknown', limitMs: number | undefined): string {
  const limit = limitMs !== undefined && limitMs > 0 ? formatHumanDuration(limitMs) : undefined;
  switch (timeout) {
    case 'HEARTBEAT':
      return (
        `Temporal heard no heartbeat from it${limit ? ` for ${limit}` : ''} (heartbeat timeout): ` +
        'its worker was killed, stopped or lost Temporal'
      );
    case 'START_TO_CLOSE':
      return (
        `it ran past the stage's timeout${limit ? ` of ${limit}` : ''} (start-to-close timeout): ` +
        'the stage hung or was too slow'
      );
    case 'SCHEDULE_TO_CLOSE':
      return `the stage's overall timeout passed (schedule-to-close timeout)`;
    case 'SCHEDULE_TO_START':
      return 'no worker took it in time (schedule-to-start timeout)';
    case 'unknown':
      return 'Temporal timed it out';
  }
}

/**
 * `attempt 2 ended without finishing: Temporal heard no heartbeat from it for 30 s (heartbeat timeout): …`.
 * `limitMs` is the timeout that passed, when known.
 */
export function unfinishedAttemptLine(
  attempt: number,
  timeout: AttemptTimeoutType | 'unknown',
  limitMs?: number,
): string {
  return `attempt ${attempt} ended without finishing: ${unfinishedAttemptWhy(timeout, limitMs)}`;
}

/** What {@link givenUpAttempt} reads of a stage's state. */
export interface GivenUpStage {
  readonly status: string;
  readonly attempts: number;
  readonly error?: { readonly type: string };
}

/**
 * The stage's last attempt and the line to end its log with, when the run failed (or paused) the stage because
 * Temporal timed that attempt out: its runner never wrote how it ended (a killed worker's log stops at its last
 * progress line). An earlier attempt that timed out is said by the next attempt's own log. Else undefined.
 */
export function givenUpAttempt(stage: GivenUpStage): { readonly attempt: number; readonly line: string } | undefined {
  if ((stage.status !== 'failed' && stage.status !== 'waiting') || stage.attempts < 1) return undefined;
  const timeout = timeoutTypeOfStageError(stage.error?.type);
  if (timeout === undefined) return undefined;
  return { attempt: stage.attempts, line: unfinishedAttemptLine(stage.attempts, timeout) };
}
