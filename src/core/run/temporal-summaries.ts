/**
 * What the Temporal UI shows for Fineflow's workflows and activities: a one-line summary per
 * stage activity (stage id, type, pool) and, as the run's "current details", its stage table in
 * Temporal's markdown. Pure and workflow-safe: the pipelineRun workflow imports it.
 */
import type { PlannedStage } from '../spec/plan-types';
import type { RunState } from './run-types';

/** Temporal keeps summaries short; ids are bounded by the spec, but pools and types are long-ish too. */
const MAX_SUMMARY = 200;

export function stageSummary(stage: Pick<PlannedStage, 'id' | 'uses' | 'pool'>): string {
  return `${stage.id} · ${stage.uses} · pool ${stage.pool}`.slice(0, MAX_SUMMARY);
}

/** Table cells must not break the markdown row. */
function cell(text: string): string {
  return text.replace(/[|\n\r]/g, ' ').slice(0, 120);
}

/** The stage table as markdown; the run's current details in the Temporal UI. */
export function runDetails(state: Pick<RunState, 'status' | 'stages'>): string {
  const rows = state.stages.map((stage) => {
    const progress =
      stage.status === 'running'
        ? (stage.progress?.message ?? '')
        : stage.status === 'waiting' || stage.status === 'failed'
          ? (stage.error?.message ?? '')
          : (stage.reason ?? '');
    return `| ${cell(stage.id)} | ${cell(stage.uses)} | ${cell(stage.pool)} | ${stage.status} | ${stage.attempts} | ${cell(progress)} |`;
  });
  return [
    `**run ${state.status}**`,
    '',
    '| stage | type | pool | status | attempts | detail |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
