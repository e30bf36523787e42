/**
 * Bounded run results and state pages. A run's result (and the details of its failure) used to list
 * every stage and fan-out instance: about 273 KB at 600 instances, over Temporal's 2 MB payload
 * limit at 5,000, so such a run could not complete. Now a result that would pass
 * {@link RESULT_INLINE_CHARS} keeps only the plan's own stages (outputs of the largest non-leaf
 * stages dropped first, then of leaf ones, while it still does not fit), a summary (counts by
 * state, failed ids capped), and a reference to the full table, which the workflow writes to the
 * store like the state it carries across continue-as-new (`runs/<run>/@state/<sha256>.json`).
 * The `runState` query answers in pages of at most {@link STATE_PAGE_CHARS} characters.
 * Readers get the full table through the run client (src/client/run-result.ts), never from here.
 * Pure: importable from workflow code.
 */
import type { Plan } from '../spec/plan-types';
import type { ResultOmissions, RunResultSummary, RunState, StageState, StageStatus } from './run-types';

export type { ResultOmissions, RunResultSummary } from './run-types';

/** Characters of JSON a run result may hold inline (a bit more with its summary). */
export const RESULT_INLINE_CHARS = 128 * 1024;

/**
 * Memo key of the result a cancelled run leaves (workflows/pipeline-run.ts). Temporal's cancellation carries no
 * payload, so the bounded result a failed run puts in its failure's details goes to the run's memo instead.
 */
export const CANCELLED_RESULT_MEMO = 'fineflowResult';

/**
 * Inline characters of that result: a memo comes back with every run `fineflow runs` lists, so it keeps less
 * than a result does; past it the table is in the store, as for any cut result.
 */
export const CANCELLED_RESULT_INLINE_CHARS = 32 * 1024;

/** Characters of stage JSON one `runState` query answer holds (at least one stage). */
export const STATE_PAGE_CHARS = 256 * 1024;

/** Ids listed in a summary (failed, cancelled): the counts say how many there are. */
export const SUMMARY_ID_CAP = 20;

/** The request argument of the `runState` query; without one the first page is returned. */
export interface RunStatePageRequest {
  /** Return the stages after this id (the `next` of the previous page). */
  readonly after?: string;
}

/** One answer of the `runState` query: the run's state with a page of its stages. */
export interface RunStatePage extends RunState {
  /** Absent from workers that predate paging (their answer holds every stage). */
  readonly page?: {
    /** Stages and instances of the whole table. */
    readonly total: number;
    /** Id to ask `after` for the next page; absent on the last page. */
    readonly next?: string;
  };
}

const chars = (value: unknown): number => JSON.stringify(value).length;

export function summarizeStages(stages: readonly StageState[]): RunResultSummary {
  const counts: { [status in StageStatus]?: number } = {};
  const failed: string[] = [];
  const cancelled: string[] = [];
  for (const stage of stages) {
    counts[stage.status] = (counts[stage.status] ?? 0) + 1;
    if ((stage.status === 'failed' || stage.status === 'waiting') && failed.length < SUMMARY_ID_CAP)
      failed.push(stage.id);
    if (stage.status === 'cancelled' && cancelled.length < SUMMARY_ID_CAP) cancelled.push(stage.id);
  }
  return { stageCount: stages.length, counts, failed, cancelled };
}

/** Stages no other stage needs: the pipeline's products, whose outputs a cut result keeps longest. */
export function leafStageIds(plan: Pick<Plan, 'stages'>): Set<string> {
  const needed = new Set(plan.stages.flatMap((stage) => stage.needs));
  return new Set(plan.stages.map((stage) => stage.id).filter((id) => !needed.has(id)));
}

/** True when the whole table fits inline: the result needs no stored table. */
export function fitsInline(stages: readonly StageState[], maxChars: number = RESULT_INLINE_CHARS): boolean {
  return chars(stages) <= maxChars;
}

/**
 * The plan's stages cut to `maxChars`: instances left out; then outputs of the largest stages that no
 * other stage needs are kept longest (a leaf's outputs are the pipeline's products); then the list is cut.
 */
export function boundedStages(
  stages: readonly StageState[],
  leaves: ReadonlySet<string>,
  maxChars: number = RESULT_INLINE_CHARS,
): { readonly stages: readonly StageState[]; readonly omitted: ResultOmissions } {
  const own = stages.filter((s) => s.instanceOf === undefined);
  const instances = stages.length - own.length;
  let total = chars(own);
  const kept: StageState[] = [...own];
  const dropped: string[] = [];
  // Largest outputs first, non-leaf before leaf; ties in table order (deterministic).
  const candidates = own
    .map((stage, index) => ({ index, leaf: leaves.has(stage.id), size: stage.outputs ? chars(stage.outputs) : 0 }))
    .filter((c) => c.size > 0)
    .sort((a, b) => Number(a.leaf) - Number(b.leaf) || b.size - a.size || a.index - b.index);
  for (const candidate of candidates) {
    if (total <= maxChars) break;
    const stage = kept[candidate.index] as StageState;
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { outputs, ...rest } = stage;
    total -= chars(stage) - chars(rest);
    kept[candidate.index] = rest;
    dropped.push(stage.id);
  }
  let count = kept.length;
  while (count > 1 && total > maxChars) {
    count--;
    total -= chars(kept[count]) + 1;
  }
  return { stages: kept.slice(0, count), omitted: { instances, outputs: dropped, stages: kept.length - count } };
}

/**
 * One page of the table: the stages after `after` (from the start when absent or unknown) up to
 * `maxChars` characters of JSON, at least one stage.
 */
export function stagePage(
  stages: readonly StageState[],
  after: string | undefined,
  maxChars: number = STATE_PAGE_CHARS,
): { readonly stages: readonly StageState[]; readonly next?: string } {
  const from = after === undefined ? 0 : stages.findIndex((s) => s.id === after) + 1;
  const page: StageState[] = [];
  let used = 2;
  for (let i = from; i < stages.length; i++) {
    const stage = stages[i] as StageState;
    const size = chars(stage) + 1;
    if (page.length > 0 && used + size > maxChars) return { stages: page, next: (page.at(-1) as StageState).id };
    page.push(stage);
    used += size;
  }
  return { stages: page };
}
