/**
 * Where `fineflow status` finds the trials of a run's sweep stages: a running sweep answers its
 * `sweepState` query (child workflow `<runId>.<stageId>.sweep-<attempt>`); an ended one left
 * `results.json` in its stage prefix (partial when it was cancelled), and the query of its
 * closed workflow is the fallback. A running sweep's trials are then read against what Temporal knows of their
 * activities (src/client/trial-attempts.ts: a lost worker, a retry waiting), and the stage's progress line is counted
 * the same way ({@link withTrialCounts}). Client-side only (Temporal client, object store).
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { ObjectStore } from '../storage/object-store';
import { runPrefix, runStageOfUri } from '../core/storage/layout';
import type { RunState, StageState } from '../core/run/run-types';
import type { SweepResultsDocument } from '../core/sweep/sweep-results';
import { trialTableFromResults, trialTableFromStatus, type SweepTrialTable } from './sweep-trial-table';
import { SWEEP_QUERIES, type SweepStatus } from '../core/sweep/sweep-types';
import { sweepStageProgress } from '../core/sweep/trials-waiting';
import { readPendingTrialAttempts, withTrialAttempts } from './trial-attempts';

const SWEEP_STAGE_TYPE = 'hyperparameter-sweep';

/** Stage states whose sweep may have trials to show (a cached one: the trials of the run that produced it). */
const HAS_TRIALS: readonly string[] = ['running', 'succeeded', 'failed', 'waiting', 'cancelled', 'cached'];

export interface SweepLookupOptions {
  /** How long one query may wait for a worker; default 5 s. */
  readonly queryTimeoutMs?: number;
}

/** The trial table of every sweep stage of the run that started; a stage whose trials cannot be read is left out. */
export async function sweepTrialTables(
  client: Client,
  store: ObjectStore,
  bucket: string,
  state: RunState,
  options: SweepLookupOptions = {},
): Promise<SweepTrialTable[]> {
  const tables: SweepTrialTable[] = [];
  for (const stage of state.stages) {
    if (stage.uses !== SWEEP_STAGE_TYPE || !HAS_TRIALS.includes(stage.status)) continue;
    const table =
      stage.status === 'cached'
        ? await fromCacheSource(store, bucket, stage)
        : stage.status === 'running'
          ? await fromQuery(client, state.runId, stage, options)
          : ((await fromResults(store, bucket, state.runId, stage)) ??
            (await fromQuery(client, state.runId, stage, options)));
    if (table) tables.push(table);
  }
  return tables;
}

/**
 * The run's state with each running sweep stage's progress line counted as its trial table reads it: the sweep sent
 * `1 running` for a trial whose worker died; its table knows the trial is `retrying` (or `unresponsive`), and so does
 * the line then. `status` (text and --json) and the watches show this state.
 */
export function withTrialCounts(state: RunState, tables: readonly SweepTrialTable[]): RunState {
  if (!tables.some((table) => table.rows.some((row) => row.state === 'retrying' || row.state === 'unresponsive')))
    return state;
  return {
    ...state,
    stages: state.stages.map((stage) => {
      if (stage.uses !== SWEEP_STAGE_TYPE || stage.status !== 'running' || !stage.progress) return stage;
      const progress = sweepStageProgress(
        stage.progress,
        tables.find((table) => table.stageId === stage.id),
      );
      return progress === stage.progress ? stage : { ...stage, progress };
    }),
  };
}

/**
 * Child workflow ids the stage's sweep may have: the attempt running now is the one after those
 * recorded; an ended stage counted its own attempt.
 */
export function sweepWorkflowIds(runId: string, stage: Pick<StageState, 'id' | 'attempts' | 'status'>): string[] {
  // An ended stage may count more attempts than sweeps ran (a cancelled one is charged its
  // whole retry budget), so the earlier ids are candidates too, newest first.
  const first = stage.status === 'running' ? stage.attempts + 1 : stage.attempts;
  const attempts = [first, ...Array.from({ length: MAX_EARLIER_ATTEMPTS }, (_, i) => first - 1 - i)];
  if (stage.status !== 'running') attempts.push(stage.attempts + 1);
  return [...new Set(attempts.filter((attempt) => attempt >= 1))].map(
    (attempt) => `${runId}.${stage.id}.sweep-${attempt}`,
  );
}

const MAX_EARLIER_ATTEMPTS = 4;

async function fromQuery(
  client: Client,
  runId: string,
  stage: StageState,
  options: SweepLookupOptions,
): Promise<SweepTrialTable | undefined> {
  for (const workflowId of sweepWorkflowIds(runId, stage)) {
    try {
      const handle = client.workflow.getHandle(workflowId);
      const deadline = Date.now() + (options.queryTimeoutMs ?? 5_000);
      const status = await client.withDeadline(deadline, () => handle.query<SweepStatus>(SWEEP_QUERIES.state));
      return await withLiveAttempts(client, handle, stage.pool, trialTableFromStatus(stage.id, status), deadline);
    } catch (thrown) {
      if (thrown instanceof WorkflowNotFoundError) continue;
      return undefined; // no worker answered: the stage table still shows the counts
    }
  }
  return undefined;
}

/** The live table with its trials' pending activities read in; best effort: without them, as the sweep said. */
async function withLiveAttempts(
  client: Client,
  handle: WorkflowHandle,
  pool: string,
  table: SweepTrialTable,
  deadline: number,
): Promise<SweepTrialTable> {
  if (table.outcome !== undefined || !table.rows.some((row) => row.state === 'running' || row.state === 'waiting'))
    return table;
  try {
    const description = await client.withDeadline(deadline, () => handle.describe());
    return withTrialAttempts(table, await readPendingTrialAttempts(client, description), pool, Date.now());
  } catch {
    return table;
  }
}

/**
 * A stage served from the cache (or reused by a rerun) ran no sweep in this run: its outputs name the
 * results.json of the run that did, and the table says which run that was.
 */
async function fromCacheSource(
  store: ObjectStore,
  bucket: string,
  stage: StageState,
): Promise<SweepTrialTable | undefined> {
  const results = stage.outputs?.results;
  const source = typeof results === 'string' ? runStageOfUri(bucket, results) : undefined;
  if (!source) return undefined;
  const table = await fromResults(store, bucket, source.runId, { ...stage, id: source.stageId });
  return table ? { ...table, stageId: stage.id, fromRunId: source.runId } : undefined;
}

async function fromResults(
  store: ObjectStore,
  bucket: string,
  runId: string,
  stage: StageState,
): Promise<SweepTrialTable | undefined> {
  const uri =
    typeof stage.outputs?.results === 'string'
      ? stage.outputs.results
      : `${runPrefix(bucket, runId, stage.id)}results.json`;
  try {
    if (!(await store.stat(uri))) return undefined;
    return trialTableFromResults(stage.id, await store.getJson<SweepResultsDocument>(uri));
  } catch {
    return undefined;
  }
}
