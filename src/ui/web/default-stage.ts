/**
 * The stage a run page shows when its address names none: the one that needs the reader (waiting for approval,
 * failed, running); on a run that needs nothing, its sweep, whose trials view is the run's result (its last sweep
 * if it has several); otherwise its first stage.
 */
import type { RunState } from '../../core/run/run-types';

export function defaultStage(state: RunState): string | undefined {
  const pick = (status: string): string | undefined => state.stages.find((s) => s.status === status)?.id;
  const sweeps = state.stages.filter((s) => s.uses === 'hyperparameter-sweep' && s.status === 'succeeded');
  const sweep = sweeps[sweeps.length - 1]?.id;
  return pick('waiting') ?? pick('failed') ?? pick('running') ?? sweep ?? state.stages[0]?.id;
}
