/**
 * What a sweep's log and trial table say when Temporal timed out a trial's segment: the wording of a stage
 * attempt that ended without finishing (src/core/run/unfinished-attempt.ts: which timeout, for how long, what it
 * likely means), plus what to do, since a trial that ran out of attempts is not retried. The workflow reads the
 * failure chain (`trialTimeoutOf`) and the stage's limits; the activity of a retried segment says why the attempt
 * before it ended (activities/previous-attempt.ts). Pure: workflow-safe.
 */
import { ActivityFailure, TimeoutFailure } from '@temporalio/common';
import { unfinishedAttemptWhy, type AttemptTimeoutType } from '../run/unfinished-attempt';

const TIMEOUT_TYPES: readonly AttemptTimeoutType[] = [
  'HEARTBEAT',
  'START_TO_CLOSE',
  'SCHEDULE_TO_CLOSE',
  'SCHEDULE_TO_START',
];

/** The timeout that ended a trial's activity for good, and whether its retries were spent by it. */
export interface TrialTimeout {
  readonly type: AttemptTimeoutType | 'unknown';
  /** Temporal gave up because the attempts ran out (not, say, a schedule-to-close limit). */
  readonly attemptsSpent: boolean;
}

/** The timeout in a segment's (or trialStage trial's) failure chain, when Temporal timed it out. */
export function trialTimeoutOf(error: unknown): TrialTimeout | undefined {
  let current: unknown = error;
  let attemptsSpent = false;
  while (current instanceof Error) {
    if (current instanceof ActivityFailure) attemptsSpent = String(current.retryState) === 'MAXIMUM_ATTEMPTS_REACHED';
    if (current instanceof TimeoutFailure) {
      const named = String(current.timeoutType);
      const type = TIMEOUT_TYPES.find((known) => known === named) ?? 'unknown';
      return { type, attemptsSpent };
    }
    current = current.cause;
  }
  return undefined;
}

/** What to do about a trial that a timeout ended, by the timeout. */
function advice(type: TrialTimeout['type'], pool: string): string {
  switch (type) {
    case 'HEARTBEAT':
      return (
        `look in that worker's own output for why it stopped (an out-of-memory kill is common with several ` +
        `trials per worker), check that a worker of pool ${pool} runs (\`fineflow dev status\`), or raise the sweep ` +
        "stage's `heartbeatTimeout:` if its workers are too busy to heartbeat"
      );
    case 'START_TO_CLOSE':
      return (
        "the sweep stage's `timeout:` bounds each trial segment: raise it, or give trials fewer epochs " +
        '(`trial.epochs`) or less data'
      );
    case 'SCHEDULE_TO_START':
      return `start a worker of pool ${pool}, or lower the sweep's \`parallelism\``;
    default:
      return "retry the sweep stage (`fineflow retry`) once the cause is fixed; the trial's checkpoints are kept";
  }
}

/**
 * `attempt 2 ended without finishing: Temporal heard no heartbeat from it for 60 s (heartbeat timeout): its worker was
 * killed, stopped or lost Temporal; no attempt left (retry.maxAttempts 2): look in …`, for `trial N failed: …`.
 */
export function trialTimeoutMessage(
  timeout: TrialTimeout,
  stage: {
    readonly maxAttempts: number;
    readonly heartbeatTimeoutMs: number;
    readonly segmentTimeoutMs: number;
    readonly pool: string;
  },
): string {
  const limitMs =
    timeout.type === 'HEARTBEAT'
      ? stage.heartbeatTimeoutMs
      : timeout.type === 'START_TO_CLOSE'
        ? stage.segmentTimeoutMs
        : undefined;
  const which = timeout.attemptsSpent ? `attempt ${stage.maxAttempts}` : 'its last attempt';
  const left = timeout.attemptsSpent ? `; no attempt left (retry.maxAttempts ${stage.maxAttempts})` : '';
  return (
    `${which} ended without finishing: ${unfinishedAttemptWhy(timeout.type, limitMs)}${left}: ` +
    advice(timeout.type, stage.pool)
  );
}
