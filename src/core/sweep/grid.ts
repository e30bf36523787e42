/** Grid search: every combination of the parameters' grid values, in a fixed order. */
import type { Searcher, SearcherStateBase, SuggestedTrial } from './searcher';
import { DEFAULT_GRID_POINTS, gridPoint, gridSize, type SearchSpace } from './space';
import type { Goal } from './searcher';

export interface GridSearchState extends SearcherStateBase {
  readonly algorithm: 'grid';
  /** Values per continuous parameter. */
  readonly pointsPerParameter: number;
  /** Total grid points, computed once. */
  readonly size: number;
}

export function createGridSearch(
  space: SearchSpace,
  goal: Goal,
  pointsPerParameter = DEFAULT_GRID_POINTS,
): GridSearchState {
  return {
    algorithm: 'grid',
    space,
    goal,
    nextTrialId: 0,
    pointsPerParameter,
    size: gridSize(space, pointsPerParameter),
  };
}

export const gridSearch: Searcher<GridSearchState> = {
  suggest(state, count) {
    // Trial ids double as grid indices: a grid sweep suggests each point exactly once.
    const end = Math.min(state.size, state.nextTrialId + Math.max(0, count));
    const trials: SuggestedTrial[] = [];
    for (let index = state.nextTrialId; index < end; index++) {
      trials.push({ trialId: index, params: gridPoint(state.space, index, state.pointsPerParameter) });
    }
    return { trials, state: { ...state, nextTrialId: end } };
  },
  observe(state) {
    return state;
  },
  remaining(state) {
    return state.size - state.nextTrialId;
  },
};
