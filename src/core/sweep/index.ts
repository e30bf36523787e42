/**
 * Public surface of the sweep algorithms: pure, deterministic, plain-JSON state, safe to
 * import from workflow code (no Node built-ins, no clock, no Math.random).
 */
export {
  parseSweepConfig,
  createSweep,
  nextTrials,
  finishesPausedAfterClose,
  recordIntermediate,
  recordResult,
  stopLaunching,
  launchBlockedReason,
  runningTrials,
  isDone,
  best,
  resultsTable,
  sweepProgress,
  closePausedTrials,
  wasClosedWhilePaused,
  promotesTrials,
  type SweepConfig,
  type SweepState,
  type SweepTrial,
  type SweepTrialStatus,
  type TrialResult,
  type StartedTrial,
  type ResumedTrial,
  type EarlyStoppingConfig,
  type StopperState,
  type EpochValue,
  type BestTrial,
  type ResultsRow,
  type ResultsTable,
  type SweepProgress,
} from './sweep-state';
export {
  parseSearchSpace,
  parseParameterDomain,
  sampleFromPrior,
  gridValues,
  gridSize,
  gridPoint,
  DEFAULT_GRID_POINTS,
  type SearchSpace,
  type SearchParameter,
  type ParameterDomain,
  type ParameterValues,
} from './space';
export type { Goal, ObservedStatus, Searcher, SuggestedTrial, Suggestion, TrialObservation } from './searcher';
export {
  createSearcher,
  suggestTrials,
  observeTrial,
  remainingSuggestions,
  SEARCH_ALGORITHMS,
  type SearchAlgorithm,
  type SearcherState,
} from './searchers';
export { createGridSearch, gridSearch, type GridSearchState } from './grid';
export { createRandomSearch, randomSearch, type RandomSearchState } from './random';
export {
  createTpeSearch,
  tpeSearch,
  defaultGamma,
  DEFAULT_TPE_OPTIONS,
  type TpeOptions,
  type TpeSearchState,
} from './tpe';
export { createGpSearch, gpSearch, DEFAULT_GP_OPTIONS, GP_LIMITS, type GpOptions, type GpSearchState } from './gp';
export { createAsha, ashaShouldStop, ashaRungEpochs, isPromotable, type AshaConfig, type AshaState } from './asha';
export {
  createMedianStopping,
  medianShouldStop,
  DEFAULT_MEDIAN_CONFIG,
  type MedianConfig,
  type MedianState,
} from './median';
export type { StopDecision } from './early-stopping';
export { RandomSource, seedRandomState, type RandomState } from './random-source';
export { priorTrialProblem, priorObservations, MAX_PRIOR_TRIALS, type PriorTrial } from './warm-start';
export { warmStartStops, withStoppingAsha } from './warm-stopping';
