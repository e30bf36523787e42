/**
 * What Temporal knows of how the previous attempt of this activity ended, for the first line of the
 * next attempt's log. An attempt whose worker was killed (SIGKILL, host lost) leaves a log that stops
 * at its last progress line; Temporal retries it once a timeout passes and keeps that timeout as the
 * pending activity's `lastFailure` (DescribeWorkflowExecution). An attempt that ended on its worker
 * wrote its own "ended after" line, so only a timeout is said here. Best effort, bounded: the stage
 * never waits on it longer than `DESCRIBE_TIMEOUT_MS`, and a failed describe says nothing.
 */
import type { Context } from '@temporalio/activity';
import { decodeTimeoutType } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { unfinishedAttemptLine } from '../src/core/run/unfinished-attempt';

const DESCRIBE_TIMEOUT_MS = 3_000;

/** The timeout that passed, by its type. */
export interface AttemptLimits {
  readonly heartbeatTimeoutMs?: number;
  readonly startToCloseTimeoutMs?: number;
  readonly scheduleToCloseTimeoutMs?: number;
}

/** The line for the previous attempt (pure), or undefined when it did not time out. */
export function previousAttemptLine(
  lastFailure: temporal.api.failure.v1.IFailure | null | undefined,
  previousAttempt: number,
  limits: AttemptLimits,
): string | undefined {
  const info = lastFailure?.timeoutFailureInfo;
  if (!info) return undefined;
  const type = decodeTimeoutType(info.timeoutType) ?? 'unknown';
  const limitMs =
    type === 'HEARTBEAT'
      ? limits.heartbeatTimeoutMs
      : type === 'START_TO_CLOSE'
        ? limits.startToCloseTimeoutMs
        : type === 'SCHEDULE_TO_CLOSE'
          ? limits.scheduleToCloseTimeoutMs
          : undefined;
  return unfinishedAttemptLine(previousAttempt, type, limitMs);
}

/**
 * On a retry (Temporal attempt > 1): the line saying why the previous attempt (`attempt - 1` within the
 * run) ended, when Temporal timed it out.
 */
export async function previousAttemptNote(context: Context, attempt: number): Promise<string | undefined> {
  const { info } = context;
  const execution = info.workflowExecution;
  if (info.attempt <= 1 || !execution) return undefined;
  let client: Context['client'];
  try {
    client = context.client;
  } catch {
    return undefined; // MockActivityEnvironment without a client
  }
  try {
    const description = await client.withAbortSignal(AbortSignal.timeout(DESCRIBE_TIMEOUT_MS), () =>
      client.workflowService.describeWorkflowExecution({
        namespace: info.namespace,
        execution: { workflowId: execution.workflowId, runId: execution.runId },
      }),
    );
    const pending = description.pendingActivities?.find((activity) => activity.activityId === info.activityId);
    return previousAttemptLine(pending?.lastFailure, attempt - 1, {
      heartbeatTimeoutMs: info.heartbeatTimeoutMs,
      startToCloseTimeoutMs: info.startToCloseTimeoutMs,
      scheduleToCloseTimeoutMs: info.scheduleToCloseTimeoutMs,
    });
  } catch {
    return undefined;
  }
}
