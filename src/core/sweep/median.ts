/**
 * Median stopping rule (Golovin et al. 2017, as in Optuna's `MedianPruner` and Katib's
 * medianstop): after `warmupEpochs`, stop a trial whose best value so far is worse than the
 * median of the values other trials reported at the same epoch — once at least `minTrials`
 * other trials have reported that epoch, so the first trials are never judged alone.
 */
import { InvalidInputError } from '../errors';
import type { StopDecision } from './early-stopping';
import type { Goal } from './searcher';

export interface MedianConfig {
  /** Epochs every trial runs before it can be stopped. Default 1. */
  readonly warmupEpochs: number;
  /** Other trials that must have reported an epoch before it is used for a decision. Default 5 (Optuna's n_startup_trials). */
  readonly minTrials: number;
}

export const DEFAULT_MEDIAN_CONFIG: MedianConfig = { warmupEpochs: 1, minTrials: 5 };

export interface MedianState {
  readonly type: 'median';
  readonly config: MedianConfig;
  readonly goal: Goal;
  /** Reported values: trial id → epoch → value (string keys: this is JSON). */
  readonly reports: { readonly [trialId: string]: { readonly [epoch: string]: number } };
}

export function createMedianStopping(config: Partial<MedianConfig>, goal: Goal): MedianState {
  const full: MedianConfig = { ...DEFAULT_MEDIAN_CONFIG, ...config };
  if (!Number.isInteger(full.warmupEpochs) || full.warmupEpochs < 0) {
    throw new InvalidInputError(`earlyStopping.warmupEpochs: must be an integer ≥ 0, got ${full.warmupEpochs}`, {
      path: 'earlyStopping.warmupEpochs',
    });
  }
  if (!Number.isInteger(full.minTrials) || full.minTrials < 1) {
    throw new InvalidInputError(`earlyStopping.minTrials: must be an integer ≥ 1, got ${full.minTrials}`, {
      path: 'earlyStopping.minTrials',
    });
  }
  return { type: 'median', config: full, goal, reports: {} };
}

/** Record a trial's value after `epoch` and decide whether it stops. */
export function medianShouldStop(
  state: MedianState,
  trialId: number,
  epoch: number,
  value: number,
): StopDecision & { readonly state: MedianState } {
  const key = String(trialId);
  const own = { ...(state.reports[key] ?? {}), [String(epoch)]: value };
  const next: MedianState = { ...state, reports: { ...state.reports, [key]: own } };
  if (!Number.isFinite(value))
    return { state: next, stop: true, rung: -1, reason: `value ${value} at epoch ${epoch} is not finite` };
  if (epoch <= state.config.warmupEpochs) return { state: next, stop: false, rung: -1, reason: 'warming up' };
  const others: number[] = [];
  for (const [otherId, reports] of Object.entries(state.reports)) {
    const other = reports[String(epoch)];
    if (otherId !== key && other !== undefined && Number.isFinite(other)) others.push(other);
  }
  if (others.length < state.config.minTrials) {
    return { state: next, stop: false, rung: -1, reason: `only ${others.length} other trials reached epoch ${epoch}` };
  }
  const best = Object.values(own).reduce((a, b) => (state.goal === 'maximize' ? Math.max(a, b) : Math.min(a, b)));
  const middle = median(others);
  const worse = state.goal === 'maximize' ? best < middle : best > middle;
  return {
    state: next,
    stop: worse,
    rung: -1,
    reason: worse
      ? `best ${readable(best)} is worse than the median ${readable(middle)} of ${others.length} trials at epoch ${epoch}`
      : `best ${readable(best)} is not worse than the median ${readable(middle)}`,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Four significant digits: reasons are read by people (`fineflow logs`, results.csv). */
function readable(value: number): string {
  return String(Number(value.toPrecision(4)));
}
