/**
 * What Temporal knows of a sweep trial's activity that the sweep cannot see: the worker holding it stopped
 * heartbeating, or its attempt ended (heartbeat timeout, a crash) and the retry waits for a worker. The sweep hears
 * of a trial only when its activity starts (`sweepTrialStarted`) and when it ends, so without this a trial whose
 * worker died reads "running" until its last retry ends. Read from DescribeWorkflowExecution's pending activities of
 * the sweep's workflow (attempt, last failure, heartbeat times), client side: nothing in the sweep polls, its history
 * is untouched. `fineflow status`, `--watch` and the UI's trial table all read it through
 * src/client/sweep-trials-lookup.ts.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { optionalTsToDate, optionalTsToMs } from '@temporalio/common/lib/time';
import { formatHumanDuration } from '../core/spec/durations';
import { attemptEnd, type AttemptTimeoutType } from '../core/run/unfinished-attempt';
import { SWEEP_ACTIVITIES } from '../core/sweep/sweep-types';
import { staleAfterMs } from './live-stages';
import type { SweepTrialTable, TrialTableRow } from './sweep-trial-table';
import { decodeHistoryPayload } from './temporal-connection';

type RawPendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED (no worker holds the attempt). */
const ACTIVITY_SCHEDULED = 1;

/** temporal.api.enums.v1.TimeoutType values, as the run's errors name them. */
const TIMEOUT_TYPES: Readonly<Record<number, AttemptTimeoutType>> = {
  1: 'START_TO_CLOSE',
  2: 'SCHEDULE_TO_START',
  3: 'SCHEDULE_TO_CLOSE',
  4: 'HEARTBEAT',
};

/** The SDK's heartbeat throttle on a worker that sets none (src/worker/run-worker.ts `progressIntervalMs`). */
const WORKER_HEARTBEAT_THROTTLE_MS = 10_000;

/** A failure message is log text from the trial's own code: cut, never shown whole. */
const MAX_FAILURE_CHARS = 200;

/** How the attempt before this one ended, as Temporal recorded it. */
export interface PreviousAttemptFailure {
  /** Set when Temporal timed the attempt out (HEARTBEAT: its worker stopped heartbeating). */
  readonly timeout?: AttemptTimeoutType | 'unknown';
  readonly message: string;
}

/** One trial's pending activity: the attempt Temporal runs or will run next. */
export interface PendingTrialAttempt {
  readonly trialId: number;
  /** Temporal's attempt number of the activity (1 = first). */
  readonly attempt: number;
  /** 0 or absent: unlimited. */
  readonly maximumAttempts?: number;
  /** A worker holds this attempt (false: it waits in the queue or for its retry's backoff). */
  readonly started: boolean;
  readonly lastFailure?: PreviousAttemptFailure;
  readonly lastHeartbeatAtMs?: number;
  readonly lastStartedAtMs?: number;
  /** When a retry waiting out its backoff may start. */
  readonly nextAttemptAtMs?: number;
  readonly heartbeatTimeoutMs?: number;
  readonly worker?: string;
}

/** A trial stage's heartbeat names its stage `<sweepStage>.trial-0007` (activities/sweep-trial-stage.ts). */
const TRIAL_STAGE_ID = /\.trial-(\d{1,9})$/;

/**
 * The trial a pending sweep activity runs, from its heartbeat details (untrusted shape): a segment's carry its
 * `trialId`, a trial stage's its stage id. Undefined for other activities or unreadable details.
 */
export function trialOfHeartbeat(activityType: string | undefined, details: unknown): number | undefined {
  if (details === null || typeof details !== 'object' || Array.isArray(details)) return undefined;
  const fields = details as Record<string, unknown>;
  if (activityType === SWEEP_ACTIVITIES.trialSegment) {
    const { trialId } = fields;
    return typeof trialId === 'number' && Number.isSafeInteger(trialId) && trialId >= 0 ? trialId : undefined;
  }
  if (activityType === SWEEP_ACTIVITIES.trialStage && typeof fields.stageId === 'string') {
    const match = TRIAL_STAGE_ID.exec(fields.stageId);
    return match ? Number(match[1]) : undefined;
  }
  return undefined;
}

/** A protobuf Duration (same shape as a Timestamp, Long seconds) in ms; undefined when unset or zero. */
function durationMs(duration: Parameters<typeof optionalTsToMs>[0]): number | undefined {
  const ms = optionalTsToMs(duration);
  return ms !== undefined && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

function failureOf(failure: RawPendingActivity['lastFailure']): PreviousAttemptFailure | undefined {
  if (!failure) return undefined;
  const message = (failure.message ?? '').slice(0, MAX_FAILURE_CHARS);
  if (!failure.timeoutFailureInfo) return { message };
  return { timeout: TIMEOUT_TYPES[failure.timeoutFailureInfo.timeoutType ?? 0] ?? 'unknown', message };
}

/** A pending activity of the sweep as a trial's attempt (pure); `details` are its decoded heartbeat details. */
export function pendingTrialAttempt(pending: RawPendingActivity, details: unknown): PendingTrialAttempt | undefined {
  const trialId = trialOfHeartbeat(pending.activityType?.name ?? undefined, details);
  if (trialId === undefined) return undefined;
  const at = (timestamp: Parameters<typeof optionalTsToDate>[0]): number | undefined =>
    optionalTsToDate(timestamp)?.getTime();
  const lastFailure = failureOf(pending.lastFailure);
  const lastHeartbeatAtMs = at(pending.lastHeartbeatTime);
  const lastStartedAtMs = at(pending.lastStartedTime);
  const nextAttemptAtMs = at(pending.nextAttemptScheduleTime);
  const heartbeatTimeoutMs = durationMs(pending.activityOptions?.heartbeatTimeout);
  return {
    trialId,
    attempt: Math.max(1, pending.attempt ?? 1),
    ...(pending.maximumAttempts ? { maximumAttempts: pending.maximumAttempts } : {}),
    started: pending.state !== ACTIVITY_SCHEDULED,
    ...(lastFailure ? { lastFailure } : {}),
    ...(lastHeartbeatAtMs !== undefined ? { lastHeartbeatAtMs } : {}),
    ...(lastStartedAtMs !== undefined ? { lastStartedAtMs } : {}),
    ...(nextAttemptAtMs !== undefined ? { nextAttemptAtMs } : {}),
    ...(heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs } : {}),
    ...(pending.lastWorkerIdentity ? { worker: pending.lastWorkerIdentity } : {}),
  };
}

/** The pending trial attempts of a sweep workflow, by trial id (the newest attempt of a trial wins). */
export async function readPendingTrialAttempts(
  client: Client,
  description: WorkflowExecutionDescription,
): Promise<Map<number, PendingTrialAttempt>> {
  const found = new Map<number, PendingTrialAttempt>();
  for (const pending of description.raw.pendingActivities ?? []) {
    const payload = pending.heartbeatDetails?.payloads?.[0];
    const details = payload ? await decodeHistoryPayload(client, payload).catch(() => undefined) : undefined;
    const attempt = pendingTrialAttempt(pending, details);
    if (!attempt) continue;
    const previous = found.get(attempt.trialId);
    if (!previous || previous.attempt < attempt.attempt) found.set(attempt.trialId, attempt);
  }
  return found;
}

/**
 * How the previous attempt ended: `worker lost: Temporal heard no heartbeat from attempt 1 for 4 s (heartbeat
 * timeout)`, `attempt 1 failed: …`. A timeout is said by the one rule a stage's log uses
 * (src/core/run/unfinished-attempt.ts `attemptEnd`), about `attempt N` and the segment.
 */
export function previousAttemptEnd(
  attempt: number,
  failure: PreviousAttemptFailure | undefined,
  heartbeatTimeoutMs: number | undefined,
): string {
  const previous = `attempt ${attempt - 1}`;
  if (failure?.timeout === undefined)
    return failure?.message ? `${previous} failed: ${failure.message}` : `${previous} failed`;
  // Only the heartbeat timeout's limit is known here (the pending activity's options).
  const limitMs = failure.timeout === 'HEARTBEAT' ? heartbeatTimeoutMs : undefined;
  const { cause } = attemptEnd(failure.timeout, limitMs, { subject: previous, timeoutOf: 'segment' });
  return failure.timeout === 'HEARTBEAT' ? `worker lost: ${cause}` : cause;
}

function howPreviousEnded(attempt: PendingTrialAttempt): string {
  return previousAttemptEnd(attempt.attempt, attempt.lastFailure, attempt.heartbeatTimeoutMs);
}

function fromWorker(worker: string | undefined): string {
  return worker !== undefined ? ` from worker ${worker}` : '';
}

/** `attempt 2 of 3`: the retry Temporal runs or will run. */
function retryName(attempt: PendingTrialAttempt): string {
  return `attempt ${attempt.attempt}${attempt.maximumAttempts ? ` of ${attempt.maximumAttempts}` : ''}`;
}

/** What a running trial's row reads once Temporal's view of its activity is known; undefined: as the sweep says. */
export interface TrialAttemptReading {
  readonly state: TrialTableRow['state'];
  readonly note: string;
}

/**
 * A live trial's state from its pending activity (pure):
 * - its attempt ended and the next waits (backoff, or no free worker of the pool): `retrying`, saying how the last
 *   attempt ended (`worker lost: … heartbeat timeout`) and what the retry waits for;
 * - a worker holds it but its heartbeat is overdue: `unresponsive`, the worker may be lost, Temporal retries it once
 *   the heartbeat timeout passes;
 * - a retry a worker holds and heartbeats: `running`, saying it is a retry and why.
 * A first attempt that runs, or waits for its first worker, reads as the sweep says (undefined).
 */
export function trialAttemptReading(
  attempt: PendingTrialAttempt,
  pool: string,
  nowMs: number,
): TrialAttemptReading | undefined {
  const retried = attempt.attempt > 1;
  if (!attempt.started) {
    if (!retried) return undefined;
    const waitsFor =
      attempt.nextAttemptAtMs !== undefined && attempt.nextAttemptAtMs > nowMs
        ? `starts in ${formatHumanDuration(attempt.nextAttemptAtMs - nowMs)}`
        : `waits for a worker of pool ${pool}`;
    return {
      state: 'retrying',
      note: `${howPreviousEnded(attempt)}; ${retryName(attempt)} ${waitsFor}`,
    };
  }
  const everyMs = Math.min(WORKER_HEARTBEAT_THROTTLE_MS, 0.8 * (attempt.heartbeatTimeoutMs ?? Infinity));
  // A beat of an earlier attempt does not show this one alive: from this attempt's start on.
  const lastSign = Math.max(attempt.lastHeartbeatAtMs ?? 0, attempt.lastStartedAtMs ?? 0);
  if (lastSign > 0 && nowMs - lastSign > staleAfterMs(everyMs)) {
    const timeout =
      attempt.heartbeatTimeoutMs !== undefined ? ` (${formatHumanDuration(attempt.heartbeatTimeoutMs)})` : '';
    return {
      state: 'unresponsive',
      note:
        `no heartbeat for ${formatHumanDuration(nowMs - lastSign)}${fromWorker(attempt.worker)}: ` +
        `its worker may be lost; Temporal retries the attempt once its heartbeat timeout${timeout} passes`,
    };
  }
  if (!retried) return undefined;
  return {
    state: 'running',
    note: `${retryName(attempt)} after ${howPreviousEnded(attempt)}`,
  };
}

/** The table with each live trial read as its pending activity says (pure); an ended sweep's table is left as is. */
export function withTrialAttempts(
  table: SweepTrialTable,
  attempts: ReadonlyMap<number, PendingTrialAttempt>,
  pool: string,
  nowMs: number,
): SweepTrialTable {
  if (table.source !== 'live' || table.outcome !== undefined || attempts.size === 0) return table;
  return {
    ...table,
    rows: table.rows.map((row) => {
      const attempt = attempts.get(row.trialId);
      if (!attempt || (row.state !== 'running' && row.state !== 'waiting')) return row;
      const reading = trialAttemptReading(attempt, pool, nowMs);
      return reading ? { ...row, state: reading.state, note: reading.note } : row;
    }),
  };
}
