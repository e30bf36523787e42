/**
 * Stages an ended run never ran. A run that fails, is cancelled or is terminated leaves the stages it never started
 * `pending` in its state (that is what its history holds), and shown so they read as stages still to come: a dead run
 * looked live.
 * Every reader (the run page, `status`, `submit --watch`) asks this one rule for the words instead. Pure; bundled into
 * the UI's frontend, so no Node built-ins.
 */
import type { RunState, StageState } from './run-types';

/** The status word a person reads for such a stage (its state still says `pending`). */
export const NOT_RUN = 'not run';

/** Why a stage of an ended run never ran. */
export interface NotRunReason {
  /** `upstream`: a stage it needs (through others) failed or was cancelled; `run`: the run ended first. */
  readonly cause: 'upstream' | 'run';
  /** The stage whose failure or cancel kept it from running, when one is known. */
  readonly blockedBy?: string;
  /** In words, without the status: `upstream stage prepare failed`, `the run failed at stage prepare`. */
  readonly text: string;
}

/** Run statuses after which a pending stage will never run. */
const ENDED_WITHOUT_SUCCESS = new Set<RunState['status']>(['failed', 'cancelled', 'terminated', 'timed-out']);

/** Upstream statuses that keep a stage from ever running once the run has ended. */
const BLOCKING = new Set<StageState['status']>(['failed', 'cancelled', 'waiting']);

/** How a run Temporal ended stopped its stages, in words (`stopped when the run was terminated`). */
function stoppedText(runStatus: RunState['status']): string | undefined {
  if (runStatus === 'terminated') return 'was stopped when the run was terminated';
  if (runStatus === 'timed-out') return 'was stopped when the run timed out';
  return undefined;
}

/** How a cancelled upstream stopped: by the run's termination or timeout, or by a cancel; undefined when it failed. */
function cancelledText(stage: StageState, runStatus: RunState['status']): string | undefined {
  return stage.status === 'cancelled' ? (stoppedText(runStatus) ?? 'was cancelled') : undefined;
}

function blockedText(stage: StageState, runStatus: RunState['status']): string {
  const cancelled = cancelledText(stage, runStatus);
  if (cancelled) return `upstream stage ${stage.id} ${cancelled}`;
  if (stage.status === 'waiting') return `upstream stage ${stage.id} failed and waited for a retry`;
  return `upstream stage ${stage.id} failed`;
}

/** Why the run as a whole stopped before a stage: its first failed stage, or its cancel. */
function runEndedText(state: Pick<RunState, 'status' | 'stages'>): NotRunReason {
  if (state.status === 'cancelled') return { cause: 'run', text: 'the run was cancelled before it started' };
  if (state.status === 'terminated') return { cause: 'run', text: 'the run was terminated before it started' };
  if (state.status === 'timed-out') return { cause: 'run', text: 'the run timed out before it started' };
  const failed = state.stages
    .filter((s) => s.status === 'failed' && s.instanceOf === undefined)
    .sort((a, b) => (a.endedAt ?? '').localeCompare(b.endedAt ?? ''))[0];
  if (!failed) return { cause: 'run', text: 'the run ended before it started' };
  return { cause: 'run', blockedBy: failed.id, text: `the run failed at stage ${failed.id}` };
}

/**
 * The stages of an ended (failed, cancelled, terminated or timed-out) run that never ran, each with why; empty for a
 * run that goes on (its pending stages are still to come) or succeeded. `needsOf` gives a stage's direct upstreams (the
 * plan's `needs`, the DAG's edges); without it every such stage is put down to the run's end. A fan-out's instance
 * waits on its fan-out.
 */
export function notRunStages(
  state: Pick<RunState, 'status' | 'stages'>,
  needsOf?: (stageId: string) => readonly string[] | undefined,
): ReadonlyMap<string, NotRunReason> {
  const reasons = new Map<string, NotRunReason>();
  if (!ENDED_WITHOUT_SUCCESS.has(state.status)) return reasons;
  const byId = new Map(state.stages.map((s) => [s.id, s]));
  const order = new Map(state.stages.map((s, index) => [s.id, index]));
  const upstreamsOf = (stage: StageState): readonly string[] => [
    ...(stage.instanceOf !== undefined ? [stage.instanceOf] : []),
    ...(needsOf?.(stage.id) ?? []),
  ];
  let runEnded: NotRunReason | undefined;
  for (const stage of state.stages) {
    if (stage.status !== 'pending') continue;
    // Every stage it waits on, however far up; the blocker named is the first of them in the table's order.
    const seen = new Set<string>();
    const queue = [...upstreamsOf(stage)];
    let blocker: StageState | undefined;
    while (queue.length > 0) {
      const id = queue.shift() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      const upstream = byId.get(id);
      if (!upstream) continue;
      if (BLOCKING.has(upstream.status)) {
        if (!blocker || (order.get(id) ?? 0) < (order.get(blocker.id) ?? 0)) blocker = upstream;
      } else queue.push(...upstreamsOf(upstream));
    }
    if (blocker)
      reasons.set(stage.id, {
        cause: 'upstream',
        blockedBy: blocker.id,
        text:
          blocker.id === stage.instanceOf
            ? `its fan-out ${blocker.id} ${cancelledText(blocker, state.status) ?? 'failed'}`
            : blockedText(blocker, state.status),
      });
    else reasons.set(stage.id, (runEnded ??= runEndedText(state)));
  }
  return reasons;
}

/** Direct upstreams from a list of edges (the UI's graph) or a plan's stages (`needs`). */
export function needsFromEdges(
  edges: readonly { readonly from: string; readonly to: string }[],
): (stageId: string) => readonly string[] {
  const needs = new Map<string, string[]>();
  for (const edge of edges) needs.set(edge.to, [...(needs.get(edge.to) ?? []), edge.from]);
  return (stageId) => needs.get(stageId) ?? [];
}
