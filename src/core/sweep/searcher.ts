/**
 * The contract every search algorithm implements: a pure state machine over plain-JSON
 * state, so workflow code can hold it, replay it and pass it through continue-as-new.
 *
 * `suggest` hands out new trials (ids are assigned here, 0, 1, 2 … in suggestion order);
 * `observe` reports how a trial ended. Same initial state + same calls ⇒ same suggestions.
 */
import type { ParameterValues, SearchSpace } from './space';

/** Whether a larger or a smaller objective value is better. */
export type Goal = 'maximize' | 'minimize';

/** The best completed trial by the goal (stopped and failed trials are not candidates); ties go to the earlier one. */
export function bestCompletedTrial<T extends { readonly status?: unknown; readonly value?: unknown }>(
  trials: readonly T[],
  goal: Goal,
): (T & { readonly value: number }) | undefined {
  let winner: (T & { readonly value: number }) | undefined;
  for (const trial of trials) {
    const { value } = trial;
    if (trial.status !== 'completed' || typeof value !== 'number' || !Number.isFinite(value)) continue;
    if (winner === undefined || (goal === 'maximize' ? value > winner.value : value < winner.value))
      winner = trial as T & { readonly value: number };
  }
  return winner;
}

/** How a trial ended, from the searcher's point of view. */
export type ObservedStatus = 'completed' | 'failed' | 'pruned';

export interface SuggestedTrial {
  /** Sweep-wide trial number, 0-based, assigned in suggestion order. */
  readonly trialId: number;
  readonly params: ParameterValues;
}

export interface TrialObservation {
  readonly trialId: number;
  readonly status: ObservedStatus;
  /**
   * `completed`: the final objective value. `pruned`: the last intermediate value (TPE ranks
   * pruned trials by how far they got, then by this value, like Optuna). `failed`: ignored.
   */
  readonly value?: number;
  /** `pruned`: the last epoch that reported a value. */
  readonly epoch?: number;
}

export interface Suggestion<S> {
  /** Fewer than requested when the algorithm has nothing left (an exhausted grid). */
  readonly trials: readonly SuggestedTrial[];
  readonly state: S;
}

export interface Searcher<S> {
  suggest(state: S, count: number): Suggestion<S>;
  observe(state: S, observation: TrialObservation): S;
  /** Trials the algorithm can still suggest: a number for a grid, Infinity otherwise. */
  remaining(state: S): number;
}

/** Fields every searcher state carries. */
export interface SearcherStateBase {
  readonly space: SearchSpace;
  readonly goal: Goal;
  /** Id the next suggested trial receives. */
  readonly nextTrialId: number;
}
