/**
 * The outage budget of a stage: failures of type dependency-unavailable (the object store or
 * Temporal down, a worker shutting down mid-stage) are not the stage's fault, so they do not use
 * up `retry.maxAttempts`. The workflow retries them itself, with a backoff capped at
 * {@link OUTAGE_MAX_WAIT_MS} so recovery is noticed quickly, until `retry.outageBudgetMs` has
 * passed since the first of them; the stage's own failures keep their Temporal retry policy.
 * Pure and deterministic (times passed in): workflow-safe.
 */
import type { PlannedRetry } from '../spec/plan-types';
import { formatDuration, formatHumanDuration } from '../spec/durations';

/** Used when a plan predates `outageBudget` (the spec's default is the same). */
export const DEFAULT_OUTAGE_BUDGET_MS = 15 * 60_000;
/** Longest wait between two tries during an outage. */
export const OUTAGE_MAX_WAIT_MS = 30_000;

/** An outage the stage is riding out. */
export interface OutageState {
  /** Workflow time of the first dependency-unavailable failure. */
  readonly sinceMs: number;
  /** Tries started again after a dependency-unavailable failure. */
  readonly retries: number;
}

export type OutageDecision =
  | { readonly retry: true; readonly waitMs: number; readonly state: OutageState; readonly note: string }
  | { readonly retry: false; readonly message: string };

/** Whether a dependency-unavailable failure at `nowMs` is tried again, and after how long. */
export function nextOutageRetry(
  retry: PlannedRetry,
  state: OutageState | undefined,
  nowMs: number,
  lastError: string,
): OutageDecision {
  const budgetMs = retry.outageBudgetMs ?? DEFAULT_OUTAGE_BUDGET_MS;
  const sinceMs = state?.sinceMs ?? nowMs;
  const retries = state?.retries ?? 0;
  const spentMs = nowMs - sinceMs;
  if (spentMs >= budgetMs) {
    return {
      retry: false,
      message:
        `a dependency stayed unavailable for ${formatHumanDuration(spentMs)} (retry.outageBudget ` +
        `${formatDuration(budgetMs)}, ${retries} retries): ${lastError}`,
    };
  }
  const backoff = retry.initialIntervalMs * Math.max(1, retry.backoffCoefficient) ** retries;
  const waitMs = Math.max(1, Math.min(backoff, OUTAGE_MAX_WAIT_MS, retry.maximumIntervalMs, budgetMs - spentMs));
  return {
    retry: true,
    waitMs,
    state: { sinceMs, retries: retries + 1 },
    note:
      `dependency unavailable (${lastError}); retry ${retries + 1} in ${formatHumanDuration(waitMs)}, outage ` +
      `budget ${formatHumanDuration(budgetMs - spentMs)} left`,
  };
}

/** How many of the stage's own attempts an activity execution may still use. */
export function remainingOwnAttempts(retry: PlannedRetry, ownFailures: number): number {
  return Math.max(1, retry.maxAttempts - ownFailures);
}
