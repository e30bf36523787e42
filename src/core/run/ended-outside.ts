/**
 * A run Temporal ended without the run's code (`temporal workflow terminate`, the Temporal UI's Terminate, an execution
 * timeout) recorded no outcome: its state query, replayed, still says `running`, with the stages it was running as
 * `running` — a dead run read as a live one forever. The client applies this rule to whatever it read (the query's
 * answer or the state rebuilt from history). Pure; no Node built-ins.
 */
import type { EndedOutsideStatus, RunState, StageState } from './run-types';

function endedText(status: EndedOutsideStatus, reason: string | undefined): string {
  const how = status === 'terminated' ? 'the run was terminated' : 'the run timed out';
  return reason ? `${how} (${reason})` : how;
}

/**
 * The state of a run that ended `status` at `endedAt`: the stages it was running or that waited for a retry end
 * `cancelled` at its end, as a cancel leaves them (a waiting stage keeps the error it waited on), with why in
 * `reason`. Stages it never started stay `pending` (readers show them as "not run", src/core/run/not-run.ts).
 * `reason` is the one the operator gave the termination, when known.
 */
export function endedOutside(
  state: RunState,
  status: EndedOutsideStatus,
  endedAt: string | undefined,
  reason?: string,
): RunState {
  const text = endedText(status, reason);
  const stages = state.stages.map((stage): StageState => {
    if (stage.status !== 'running' && stage.status !== 'waiting') return stage;
    const { live: _live, ...rest } = stage;
    return {
      ...rest,
      status: 'cancelled',
      ...(endedAt !== undefined ? { endedAt } : {}),
      reason: `${text} while this stage ${stage.status === 'running' ? 'ran' : 'waited'}`,
    };
  });
  return { ...state, status, ...(endedAt !== undefined ? { endedAt } : {}), stages };
}
