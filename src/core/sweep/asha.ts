/**
 * Asynchronous successive halving (Li et al. 2020), with the semantics of Optuna's
 * `SuccessiveHalvingPruner`: rung k ends at epoch `minEpochs · η^k`. When a trial reaches a
 * rung, its value is recorded there and it continues only if it ranks in the top
 * `⌊n/η⌋` of the n values recorded at that rung so far (itself included); while fewer than
 * η trials have reached the rung (⌊n/η⌋ = 0) it must be the best so far. Ties continue.
 * Decisions never wait for other trials, so no worker sits idle.
 */
import { InvalidInputError } from '../errors';
import type { StopDecision } from './early-stopping';
import type { Goal } from './searcher';

export interface AshaConfig {
  /** η ≥ 2: about 1/η of the trials reaching a rung continue past it. */
  readonly reductionFactor: number;
  /** Epoch of the first rung, ≥ 1. */
  readonly minEpochs: number;
  /** A trial's full budget; rungs lie strictly below it (at maxEpochs the trial ends anyway). */
  readonly maxEpochs: number;
}

export interface AshaRungEntry {
  readonly trialId: number;
  readonly value: number;
}

export interface AshaState {
  readonly type: 'asha';
  readonly config: AshaConfig;
  readonly goal: Goal;
  /** Rung epochs, ascending: minEpochs · η^k < maxEpochs. */
  readonly rungEpochs: readonly number[];
  /** Values recorded at each rung, in arrival order. */
  readonly rungs: readonly (readonly AshaRungEntry[])[];
}

export function createAsha(config: AshaConfig, goal: Goal): AshaState {
  validateAshaConfig(config);
  return {
    type: 'asha',
    config,
    goal,
    rungEpochs: ashaRungEpochs(config),
    rungs: ashaRungEpochs(config).map(() => []),
  };
}

export function validateAshaConfig(config: AshaConfig, path = 'earlyStopping'): void {
  if (!Number.isInteger(config.reductionFactor) || config.reductionFactor < 2) {
    throw new InvalidInputError(`${path}.reductionFactor: must be an integer ≥ 2, got ${config.reductionFactor}`, {
      path: `${path}.reductionFactor`,
    });
  }
  if (!Number.isInteger(config.minEpochs) || config.minEpochs < 1) {
    throw new InvalidInputError(`${path}.minEpochs: must be an integer ≥ 1, got ${config.minEpochs}`, {
      path: `${path}.minEpochs`,
    });
  }
  if (!Number.isInteger(config.maxEpochs) || config.maxEpochs < config.minEpochs) {
    throw new InvalidInputError(
      `${path}.maxEpochs: must be an integer ≥ minEpochs (${config.minEpochs}), got ${config.maxEpochs}`,
      {
        path: `${path}.maxEpochs`,
      },
    );
  }
}

/** Epochs at which ASHA decides: minEpochs·η^k for every k with that value < maxEpochs. */
export function ashaRungEpochs(config: AshaConfig): number[] {
  const epochs: number[] = [];
  for (let epoch = config.minEpochs; epoch < config.maxEpochs; epoch *= config.reductionFactor) epochs.push(epoch);
  return epochs;
}

/**
 * Report a trial's objective value after `epoch` (1-based count of epochs done). Records the
 * value at every rung the trial newly completes and decides whether it continues.
 * Reports between rungs change nothing. A non-finite value stops the trial.
 */
export function ashaShouldStop(
  state: AshaState,
  trialId: number,
  epoch: number,
  value: number,
  /** Rungs at or below this epoch do not judge the trial (its warm-up; see `graceParameter` in sweep-state.ts). */
  graceEpochs = 0,
): StopDecision & { readonly state: AshaState } {
  let rungs = state.rungs;
  let completed = completedRung(state, trialId);
  for (let k = completed + 1; k < state.rungEpochs.length && epoch >= (state.rungEpochs[k] as number); k++) {
    // Skipped, not recorded: a trial still warming up is compared with nobody, and nobody with it.
    if ((state.rungEpochs[k] as number) <= graceEpochs) continue;
    if (!Number.isFinite(value))
      return {
        state: { ...state, rungs },
        stop: true,
        rung: completed,
        reason: `value ${value} at epoch ${epoch} is not finite`,
      };
    const entries = [...(rungs[k] ?? []), { trialId, value }];
    rungs = rungs.map((rung, i) => (i === k ? entries : rung));
    completed = k;
    const values = entries.map((entry) => entry.value);
    if (!isPromotable(value, values, state.config.reductionFactor, state.goal)) {
      const keep = Math.max(1, Math.floor(values.length / state.config.reductionFactor));
      const ranked = [...values].sort((a, b) => (state.goal === 'maximize' ? b - a : a - b));
      const cutoff = ranked[keep - 1];
      return {
        state: { ...state, rungs },
        stop: true,
        rung: k,
        reason: `rung ${k} (epoch ${state.rungEpochs[k]}): ${readable(value)} is not in the top ${keep} of ${values.length}${cutoff !== undefined ? ` (needs ${state.goal === 'maximize' ? '≥' : '≤'} ${readable(cutoff)})` : ''}`,
      };
    }
  }
  return {
    state: { ...state, rungs },
    stop: false,
    rung: completed,
    reason: completed < 0 ? 'before the first rung' : `promoted past rung ${completed}`,
  };
}

/** Highest rung the trial has a recorded value at, or -1. */
export function completedRung(state: AshaState, trialId: number): number {
  for (let k = state.rungs.length - 1; k >= 0; k--) {
    if ((state.rungs[k] ?? []).some((entry) => entry.trialId === trialId)) return k;
  }
  return -1;
}

/** True when `value` ranks within the top ⌊n/η⌋ (at least 1) of `values` (which include it). */
export function isPromotable(value: number, values: readonly number[], reductionFactor: number, goal: Goal): boolean {
  const keep = Math.max(1, Math.floor(values.length / reductionFactor));
  const ordered = [...values].sort((a, b) => (goal === 'maximize' ? b - a : a - b));
  const threshold = ordered[keep - 1] as number;
  return goal === 'maximize' ? value >= threshold : value <= threshold;
}

/** Four significant digits: reasons are read by people (`fineflow logs`, results.csv). */
function readable(value: number): string {
  return String(Number(value.toPrecision(4)));
}
