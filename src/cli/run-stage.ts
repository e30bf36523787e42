/** The message for a STAGE a run does not have (`logs`, `report`): a typo to name, with the run's stage ids. */
import { InvalidInputError } from '../core/errors';
import { shownInput } from '../core/shown-input';
import type { RunState } from '../core/run/run-types';
import { closest } from '../core/spec/suggest';

/** Throws "run R (pipeline P) has no stage X; did you mean Y? (stages: …)" unless `stage` is one of the run's. */
export function requireRunStage(
  state: Pick<RunState, 'runId' | 'pipeline' | 'stages'>,
  stage: string | undefined,
): void {
  const ids = state.stages.map((s) => s.id);
  if (stage === undefined || ids.includes(stage)) return;
  const near = closest(stage, ids);
  throw new InvalidInputError(
    `run ${state.runId} (pipeline ${state.pipeline}) has no stage ${shownInput(stage)}${near ? `; did you mean ${near}?` : ''} ` +
      `(stages: ${ids.join(', ')})`,
    { code: 'unknown-stage', stage },
  );
}
