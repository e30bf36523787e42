/** Random search: independent draws from every parameter's prior. */
import { RandomSource, seedRandomState, type RandomState } from './random-source';
import type { Goal, Searcher, SearcherStateBase, SuggestedTrial } from './searcher';
import { sampleFromPrior, type SearchSpace } from './space';

export interface RandomSearchState extends SearcherStateBase {
  readonly algorithm: 'random';
  readonly random: RandomState;
}

export function createRandomSearch(space: SearchSpace, goal: Goal, seed: number): RandomSearchState {
  return { algorithm: 'random', space, goal, nextTrialId: 0, random: seedRandomState(seed) };
}

export const randomSearch: Searcher<RandomSearchState> = {
  suggest(state, count) {
    const random = new RandomSource(state.random);
    const trials: SuggestedTrial[] = [];
    for (let i = 0; i < count; i++)
      trials.push({ trialId: state.nextTrialId + i, params: sampleFromPrior(state.space, random) });
    return { trials, state: { ...state, nextTrialId: state.nextTrialId + trials.length, random: random.snapshot() } };
  },
  observe(state) {
    return state;
  },
  remaining() {
    return Infinity;
  },
};
