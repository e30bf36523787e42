/**
 * Reading a stage's failure back in the workflow: Temporal wraps what the activity threw as
 * ActivityFailure (or ChildWorkflowFailure) → ApplicationFailure (type, details) or TimeoutFailure.
 * Pure: workflow-safe.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  CancelledFailure,
  TimeoutFailure,
  TemporalFailure,
} from '@temporalio/common';
import { ERROR_TYPES, FineflowError } from '../errors';

export interface DescribedFailure {
  readonly error: { readonly type: string; readonly message: string };
  /** Attempt within the run that failed, when the stage runner reported it. */
  readonly attempt?: number;
  /** When that attempt failed, by the stage worker's clock (ISO 8601), when the stage runner reported it. */
  readonly endedAt?: string;
}

function detailFrom(details: readonly unknown[] | undefined | null, key: 'attempt' | 'endedAt'): unknown {
  const first = details?.[0];
  return first !== null && typeof first === 'object' && key in first
    ? (first as Record<string, unknown>)[key]
    : undefined;
}

/** The innermost meaningful failure of a chain, as `{type, message}` plus the attempt. */
export function describeStageFailure(thrown: unknown): DescribedFailure {
  let current: unknown = thrown;
  // ActivityFailure says only "activity task failed"; the cause carries the real error.
  // Likewise ChildWorkflowFailure for stages that run as a child workflow (hyperparameter-sweep).
  while ((current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) && current.cause)
    current = current.cause;
  if (current instanceof ApplicationFailure) {
    const attempt = detailFrom(current.details, 'attempt');
    const endedAt = detailFrom(current.details, 'endedAt');
    return {
      error: { type: current.type ?? ERROR_TYPES.internal, message: current.message },
      ...(typeof attempt === 'number' ? { attempt } : {}),
      ...(typeof endedAt === 'string' ? { endedAt } : {}),
    };
  }
  if (current instanceof TimeoutFailure) {
    const cause = current.cause instanceof ApplicationFailure ? `: last error ${current.cause.message}` : '';
    return {
      error: {
        type: `Timeout${current.timeoutType !== undefined ? `:${String(current.timeoutType)}` : ''}`,
        message: `stage timed out${cause}`,
      },
    };
  }
  if (current instanceof CancelledFailure)
    return { error: { type: ERROR_TYPES.cancelled, message: current.message || 'cancelled' } };
  if (current instanceof FineflowError) return { error: { type: current.type, message: current.message } };
  if (current instanceof TemporalFailure) return { error: { type: current.name, message: current.message } };
  if (current instanceof Error) return { error: { type: ERROR_TYPES.internal, message: current.message } };
  return { error: { type: ERROR_TYPES.internal, message: String(current) } };
}
