/**
 * What the Temporal UI shows for Fineflow's workflows and activities: a one-line summary per
 * stage activity (stage id, type, pool) and, as the run's "current details", its stage table in
 * Temporal's markdown. Pure and workflow-safe: the pipelineRun workflow imports it.
 */
import type { PlannedStage } from '../spec/plan-types';
import type { RunState, StageState } from './run-types';

/** Temporal keeps summaries short; ids are bounded by the spec, but pools and types are long-ish too. */
const MAX_SUMMARY = 200;

export function stageSummary(stage: Pick<PlannedStage, 'id' | 'uses' | 'pool'>): string {
  return `${stage.id} · ${stage.uses} · pool ${stage.pool}`.slice(0, MAX_SUMMARY);
}

/** Table cells must not break the markdown row. */
function cell(text: string): string {
  return text.replace(/[|\n\r]/g, ' ').slice(0, 120);
}

/**
 * Rows the details table shows at most. The workflow rebuilds the table after every stage
 * completion, so a 1,000-stage run must not format 1,000 rows each time (the Temporal UI could not
 * show them usefully either).
 */
export const MAX_DETAIL_ROWS = 50;

type DetailStage = Pick<StageState, 'id' | 'uses' | 'pool' | 'status' | 'attempts' | 'progress' | 'error' | 'reason'>;

function detailRow(stage: DetailStage): string {
  const progress =
    stage.status === 'running'
      ? (stage.progress?.message ?? '')
      : stage.status === 'waiting' || stage.status === 'failed'
        ? (stage.error?.message ?? '')
        : (stage.reason ?? '');
  return (
    `| ${cell(stage.id)} | ${cell(stage.uses)} | ${cell(stage.pool)} | ${stage.status} | ${stage.attempts} | ` +
    `${cell(progress)} |`
  );
}

/** Stages that need a look first when not all fit: failed and waiting, then running. */
const NOTEWORTHY: { readonly [status: string]: number } = { failed: 0, waiting: 0, running: 1 };

/**
 * The stage table as markdown; the run's current details in the Temporal UI. Above
 * MAX_DETAIL_ROWS stages: a count per status and the failed, waiting and running stages first.
 */
export function runDetails(state: {
  readonly status: RunState['status'];
  readonly stages: readonly DetailStage[];
}): string {
  const header = [
    `**run ${state.status}**`,
    '',
    '| stage | type | pool | status | attempts | detail |',
    '|---|---|---|---|---|---|',
  ];
  if (state.stages.length <= MAX_DETAIL_ROWS) return [...header, ...state.stages.map(detailRow)].join('\n');
  const counts = new Map<string, number>();
  const first: DetailStage[] = [];
  const then: DetailStage[] = [];
  for (const stage of state.stages) {
    counts.set(stage.status, (counts.get(stage.status) ?? 0) + 1);
    const rank = NOTEWORTHY[stage.status];
    if (rank === 0 && first.length < MAX_DETAIL_ROWS) first.push(stage);
    else if (rank === 1 && then.length < MAX_DETAIL_ROWS) then.push(stage);
  }
  const shown = [...first, ...then].slice(0, MAX_DETAIL_ROWS);
  const summary = [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
  return [
    `**run ${state.status}**: ${state.stages.length} stages (${summary})`,
    ...header.slice(1),
    ...shown.map(detailRow),
    '',
    `${state.stages.length - shown.length} more not shown; \`fineflow status\` lists every stage`,
  ].join('\n');
}
