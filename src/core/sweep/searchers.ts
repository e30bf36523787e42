/** One entry point over the search algorithms, dispatching on the state's `algorithm`. */
import { createGpSearch, gpSearch, type GpOptions, type GpSearchState } from './gp';
import { createGridSearch, gridSearch, type GridSearchState } from './grid';
import { createRandomSearch, randomSearch, type RandomSearchState } from './random';
import type { Goal, Suggestion, TrialObservation } from './searcher';
import type { SearchSpace } from './space';
import { createTpeSearch, tpeSearch, type TpeOptions, type TpeSearchState, type TpeTrial } from './tpe';

export type SearchAlgorithm = 'grid' | 'random' | 'tpe' | 'gp';
export const SEARCH_ALGORITHMS: readonly SearchAlgorithm[] = ['grid', 'random', 'tpe', 'gp'];

export type SearcherState = GridSearchState | RandomSearchState | TpeSearchState | GpSearchState;

export interface SearcherOptions {
  readonly seed: number;
  /** Grid only: values per continuous parameter. */
  readonly gridPointsPerParameter?: number;
  /** TPE only. */
  readonly tpe?: Partial<TpeOptions>;
  /** TPE only: finished trials of earlier sweeps (./warm-start.ts); random and grid search ignore them. */
  readonly tpePriors?: readonly TpeTrial[];
  /** GP only (./gp.ts). */
  readonly gp?: Partial<GpOptions>;
}

export function createSearcher(
  algorithm: SearchAlgorithm,
  space: SearchSpace,
  goal: Goal,
  options: SearcherOptions,
): SearcherState {
  switch (algorithm) {
    case 'grid':
      return createGridSearch(space, goal, options.gridPointsPerParameter);
    case 'random':
      return createRandomSearch(space, goal, options.seed);
    case 'tpe':
      return createTpeSearch(space, goal, options.seed, options.tpe, options.tpePriors);
    case 'gp':
      return createGpSearch(space, goal, options.seed, options.gp);
  }
}

export function suggestTrials(state: SearcherState, count: number): Suggestion<SearcherState> {
  switch (state.algorithm) {
    case 'grid':
      return gridSearch.suggest(state, count);
    case 'random':
      return randomSearch.suggest(state, count);
    case 'tpe':
      return tpeSearch.suggest(state, count);
    case 'gp':
      return gpSearch.suggest(state, count);
  }
}

export function observeTrial(state: SearcherState, observation: TrialObservation): SearcherState {
  switch (state.algorithm) {
    case 'grid':
      return gridSearch.observe(state, observation);
    case 'random':
      return randomSearch.observe(state, observation);
    case 'tpe':
      return tpeSearch.observe(state, observation);
    case 'gp':
      return gpSearch.observe(state, observation);
  }
}

export function remainingSuggestions(state: SearcherState): number {
  switch (state.algorithm) {
    case 'grid':
      return gridSearch.remaining(state);
    case 'random':
      return randomSearch.remaining(state);
    case 'tpe':
      return tpeSearch.remaining(state);
    case 'gp':
      return gpSearch.remaining(state);
  }
}
