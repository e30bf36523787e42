/**
 * The one way readers get a run's whole stage table (src/core/run/run-result.ts): a bounded result
 * (or failure details) that points to its table in the store is read back from there, checked
 * against its sha256; a paged `runState` query is asked page by page. Used by the run client
 * (`result`, `state`, `status` from history), rerun, the UI and the benchmarks.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { InvalidInputError } from '../core/errors';
import { runStateQuery } from '../core/run/run-definitions';
import { CANCELLED_RESULT_MEMO, type RunStatePage } from '../core/run/run-result';
import type { PipelineRunResult, RunState, StageState } from '../core/run/run-types';
import type { ObjectStore } from '../storage/object-store';
import { readStoredRunState } from '../storage/run-state-store';

/** Where a run's stored table is read from. */
export interface RunTableSource {
  readonly runId: string;
  readonly bucket: string;
  /** Needed only for results that point to the store. */
  readonly store?: ObjectStore;
}

/** Pages one state read may take: a 1,000-stage plan of 256-instance fan-outs is far below it. */
const MAX_STATE_PAGES = 10_000;

function isResult(value: unknown): value is PipelineRunResult {
  return (
    value !== null &&
    typeof value === 'object' &&
    'stages' in value &&
    Array.isArray((value as { stages: unknown }).stages)
  );
}

/** The result with its whole table: `stages` read from the store when the result holds only part of it. */
export async function withFullStages(result: PipelineRunResult, source: RunTableSource): Promise<PipelineRunResult> {
  if (!result.stored) return result;
  if (!source.store)
    throw new InvalidInputError(
      `run ${source.runId}: its result holds ${result.stages.length} of its ` +
        `${result.summary?.stageCount ?? '?'} stages; the whole table is in ${result.stored.uri}: ` +
        'give the run client a store (FINEFLOW_S3_ENDPOINT and credentials) to read it',
      { runId: source.runId, code: 'run-table-in-store' },
    );
  const stored = await readStoredRunState(source.store, source.bucket, source.runId, result.stored);
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { omitted, ...rest } = result;
  return { ...rest, stages: stored.carried.stages };
}

/**
 * The run's outcome with its whole table, or undefined while it runs or when it ended without one
 * (terminated, or cancelled before cancelled runs recorded theirs): the result of a completed run, the
 * details of a failed one, the result a cancelled one left in its memo.
 */
export async function readRunOutcome(
  handle: WorkflowHandle,
  source: RunTableSource,
): Promise<PipelineRunResult | undefined> {
  let outcome: unknown;
  try {
    outcome = await handle.result();
  } catch (thrown) {
    if (!(thrown instanceof WorkflowFailedError)) throw thrown;
    if (thrown.cause instanceof CancelledFailure) return cancelledRunResult(handle, source);
    outcome = thrown.cause instanceof ApplicationFailure ? thrown.cause.details?.[0] : undefined;
  }
  return isResult(outcome) ? withFullStages(outcome, source) : undefined;
}

/**
 * The result a cancelled run recorded in its memo before it ended (workflows/pipeline-run.ts), with its whole
 * table; undefined for a run cancelled before runs recorded one. Needs no worker: the memo is Temporal's.
 */
export async function cancelledRunResult(
  handle: WorkflowHandle,
  source: RunTableSource,
): Promise<PipelineRunResult | undefined> {
  const recorded = (await handle.describe()).memo?.[CANCELLED_RESULT_MEMO];
  if (!isResult(recorded) || recorded.status !== 'cancelled') return undefined;
  return withFullStages(recorded, source);
}

/**
 * The `runState` query, every page, stages joined by id in table order. Workers that predate
 * paging answer with the whole table at once.
 */
export async function queryRunState(query: (request?: { after: string }) => Promise<RunStatePage>): Promise<RunState> {
  let state: RunState | undefined;
  // A fan-out that expands before the cursor between two pages is missed by that read: read again.
  for (let read = 0; read < 3; read++) {
    const { state: pages, total } = await readPages(query);
    state = pages;
    if (total === undefined || total === pages.stages.length) break;
  }
  return state as RunState;
}

async function readPages(
  query: (request?: { after: string }) => Promise<RunStatePage>,
): Promise<{ state: RunState; total?: number }> {
  const first = await query();
  const stages: StageState[] = [...first.stages];
  const seen = new Set(stages.map((s) => s.id));
  let last = first;
  for (let pages = 1; last.page?.next !== undefined; pages++) {
    if (pages >= MAX_STATE_PAGES) throw new Error(`run ${first.runId}: state has more than ${MAX_STATE_PAGES} pages`);
    last = await query({ after: last.page.next });
    for (const stage of last.stages) if (!seen.has(stage.id) && seen.add(stage.id)) stages.push(stage);
  }
  // The latest page's run status and params: the run may have moved on while the pages were read.
  const { page, ...state } = last;
  return { state: { ...state, stages }, ...(page ? { total: page.total } : {}) };
}

/** `queryRunState` over a workflow handle. */
export function queryRunStatePages(handle: WorkflowHandle): Promise<RunState> {
  return queryRunState((request) => (request ? handle.query(runStateQuery, request) : handle.query(runStateQuery)));
}
