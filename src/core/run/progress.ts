/**
 * Live progress of a running stage. The stage's activity heartbeats its progress to Temporal
 * (liveness, cancellation) and relays it to the run's workflow with the `stageProgress`
 * signal, throttled by the stage runner (one signal per stage at most every couple of
 * seconds), so the `runState` query alone shows epochs and trials. Chosen over polling
 * `describe()` from the client because the query is then the single source of truth for the
 * CLI, the tests and any UI. Pure types: importable from workflow code.
 */
import type { StageProgress } from './run-types';

/** Argument of the `stageProgress` signal. */
export interface StageProgressSignal {
  readonly stageId: string;
  /** Attempt within the run that reported it; stale attempts are ignored. */
  readonly attempt: number;
  readonly progress: StageProgress;
}
