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

/** Why Temporal ended an attempt, in words: the timeout that passed and, when known, what that likely means. */
export interface AttemptEnd {
  /** `Temporal heard no heartbeat from it for 30 s (heartbeat timeout)`. */
  readonly cause: string;
  /** `its worker was killed, stopped or lost Temporal`. */
  readonly meaning?: string;
}

/** Who the sentence is about (`it`, `attempt 1`) and whose timeout it ran past (`stage`, `segment`). */
export interface AttemptEndWording {
  readonly subject: string;
  readonly timeoutOf: string;
}

/**
 * The one rule for why Temporal ended an attempt (which timeout, for how long, what that likely means), read by a
 * stage's log line ({@link unfinishedAttemptWhy}) and by a sweep trial's note (src/client/trial-attempts.ts).
 */
export function attemptEnd(
  timeout: AttemptTimeoutType | 'unknown',
  limitMs: number | undefined,
  { subject, timeoutOf }: AttemptEndWording = { subject: 'it', timeoutOf: 'stage' },
): AttemptEnd {
  const limit = limitMs !== undefined && limitMs > 0 ? formatHumanDuration(limitMs) : undefined;
  switch (timeout) {
    case 'HEARTBEAT':
      return {
        cause: `Temporal heard no heartbeat from ${subject}${limit ? ` for ${limit}` : ''} (heartbeat timeout)`,
        meaning: 'its worker was killed, stopped or lost Temporal',
      };
    case 'START_TO_CLOSE':
      return {
        cause: `${subject} ran past the ${timeoutOf}'s timeout${limit ? ` of ${limit}` : ''} (start-to-close timeout)`,
        meaning: `the ${timeoutOf} hung or was too slow`,
      };
    case 'SCHEDULE_TO_CLOSE':
      return { cause: `the ${timeoutOf}'s overall timeout passed (schedule-to-close timeout)` };
    case 'SCHEDULE_TO_START':
      return { cause: `no worker took ${subject} in time (schedule-to-start timeout)` };
    case 'unknown':
      return { cause: `Temporal timed ${subject} out` };
  }
}

/** Why Temporal ended the attempt: which timeout, for how long, what that likely means ({@link attemptEnd}). */
export function unfinishedAttemptWhy(timeout: AttemptTimeoutType | 'unknown', limitMs: number | undefined): string {
  const end = attemptEnd(timeout, limitMs);
  return end.meaning !== undefined ? `${end.cause}: ${end.meaning}` : end.cause;
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
