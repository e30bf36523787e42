/**
 * Rerun (`fineflow rerun`, and the UI's "rerun from a stage"): a new run of an ended run's plan that
 * reuses the outputs of every stage not downstream of STAGE and runs STAGE and its descendants again.
 * Lineage: the new run's trigger is `{kind: 'rerun', fromRunId, fromStage, origin}` where origin is
 * the trigger of the first run of the lineage (a new-data trigger keeps its dataset version, so
 * the rerun stages retrain on the same data); its search attribute FineflowTrigger reads `rerun`,
 * and its reused stages say `reused from run <RUN>`.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { RunClient } from './run-client';
import { DependencyUnavailableError, ensureError, InvalidInputError } from '../core/errors';
import { shownInput } from '../core/shown-input';
import { s3UrisIn } from '../cache/cache-key';
import { selectRerun, type RerunSelection } from '../cache/cache-rerun';
import { missingOutput } from '../cache/cache-store';
import { checkParamOverrides, paramValues } from '../core/run/params';
import { rerunTrigger } from '../core/run/run-trigger';
import { WORKFLOW_TYPES, type PipelineRunInput, type RunState, type StageState } from '../core/run/run-types';
import { paramsAfterRetries, readRunInput } from './run-input';
import { queryRunStatePages, readRunOutcome, type RunTableSource } from './run-result';
import type { JsonValue, Plan } from '../core/spec/plan-types';
import type { ObjectStore } from '../storage/object-store';

/** What rerun needs to know about the original run. */
export interface OriginalRun {
  readonly runId: string;
  readonly input: PipelineRunInput;
  /** Temporal's execution status, e.g. COMPLETED, FAILED. */
  readonly executionStatus: string;
  readonly stages: readonly StageState[];
  /** The task queue its workflow ran on (its control pool's, e.g. `submit --control-pool`): a rerun starts there. */
  readonly taskQueue: string;
  /** Param values the run ended with: from its state, or its start input plus accepted `retry --set` updates. */
  readonly params?: { readonly [name: string]: JsonValue };
}

/**
 * Final stage states: the result (succeeded), the failure details (failed), the recorded result (cancelled),
 * else the runState query (terminated runs, and runs cancelled before cancelled runs recorded a result).
 */
async function finalState(
  handle: WorkflowHandle,
  executionStatus: string,
  source: RunTableSource,
): Promise<{ stages?: readonly StageState[]; params?: RunState['params'] }> {
  if (executionStatus === 'COMPLETED' || executionStatus === 'FAILED' || executionStatus === 'CANCELLED') {
    const outcome = await readRunOutcome(handle, source);
    if (outcome) return { stages: outcome.stages };
  }
  // Terminated runs: the workflow's own state (needs a control worker to answer).
  try {
    const state = await queryRunStatePages(handle);
    return { stages: [...state.stages], params: state.params };
  } catch (error) {
    throw new DependencyUnavailableError(
      `cannot read the final stage states of run ${handle.workflowId} (${executionStatus}): ${ensureError(error).message}. ` +
        'A terminated run (or one cancelled before cancelled runs recorded their result) answers only while a ' +
        'control worker runs: start one with `fineflow worker --pool control`.',
      { runId: handle.workflowId },
      { cause: error },
    );
  }
}

/** `table`: where a result too large to hold its stages keeps them (src/client/run-result.ts). */
export async function fetchOriginalRun(
  client: Client,
  runId: string,
  table: Omit<RunTableSource, 'runId'>,
): Promise<OriginalRun> {
  const handle = client.workflow.getHandle(runId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError)
      throw new InvalidInputError(`no run ${shownInput(runId)}; list runs with \`fineflow runs\``, {
        runId,
        code: 'not-found',
      });
    throw error;
  }
  if (description.type !== WORKFLOW_TYPES.pipelineRun) {
    throw new InvalidInputError(`${shownInput(runId)} is a ${description.type} workflow, not a pipeline run`, {
      runId,
    });
  }
  const executionStatus = description.status.name;
  if (executionStatus === 'RUNNING') {
    throw new InvalidInputError(
      `run ${runId} has not ended: rerun starts a new run from an ended one. ` +
        `A run waiting on a failed stage continues with \`fineflow retry ${runId}\`; or stop it with \`fineflow cancel ${runId}\` first.`,
      { runId, code: 'still-running' },
    );
  }
  const history = await handle.fetchHistory();
  // A run that continued as new keeps its plan in its first execution's input (src/client/run-input.ts).
  const input = await readRunInput(client, runId);
  // Params changed by `fineflow retry --set` are in the accepted retryStage updates, in order.
  const params = await paramsAfterRetries(
    client,
    input.plan,
    input.carried?.params ?? paramValues(input.plan),
    history.events ?? [],
  );
  const state = await finalState(handle, executionStatus, { ...table, runId });
  const finalParams = state.params ?? params;
  return {
    runId,
    input,
    executionStatus,
    stages: state.stages ?? [],
    taskQueue: description.taskQueue,
    ...(finalParams ? { params: finalParams } : {}),
  };
}

export interface RerunRequest {
  readonly runId: string;
  readonly fromStage: string;
  /** `--set` pairs as given on the command line. */
  readonly set?: { readonly [name: string]: string };
  /** Id of the new run; default: the run client's `<pipeline>-<time>-<random>`. */
  readonly newRunId?: string;
}

export interface RerunStarted {
  readonly runId: string;
  readonly fromRunId: string;
  readonly fromStage: string;
  readonly selection: RerunSelection;
}

/** Succeeded stages of the original run whose outputs point at objects that are gone. */
export async function unavailableOutputs(
  store: ObjectStore,
  stages: readonly StageState[],
): Promise<{ [stageId: string]: string }> {
  const found: Record<string, string> = {};
  for (const stage of stages) {
    if ((stage.status !== 'succeeded' && stage.status !== 'cached') || !stage.outputs) continue;
    const reason = await missingOutput(store, s3UrisIn(stage.outputs));
    if (reason) found[stage.id] = reason;
  }
  return found;
}

/** What a rerun would do, decided but not started: the UI shows it before anyone confirms. */
export interface RerunPreview {
  readonly original: OriginalRun;
  readonly selection: RerunSelection;
}

/** Fetch the original run and decide which stages a rerun from `fromStage` reuses and which run again. */
export async function previewRerun(
  runs: RunClient,
  store: ObjectStore,
  request: Omit<RerunRequest, 'newRunId'>,
): Promise<RerunPreview> {
  const original = await fetchOriginalRun(runs.client, request.runId, { bucket: runs.bucket, store });
  const plan: Plan = original.input.plan;
  const overrides = checkParamOverrides(plan, request.set ?? {});
  if (!overrides.ok) throw new InvalidInputError(`--set: ${overrides.problems.join('; ')}`, { code: 'bad-param' });
  const unavailable = await unavailableOutputs(store, original.stages);
  const selection = selectRerun({
    unavailable,
    plan,
    fromRunId: original.runId,
    fromStage: request.fromStage,
    stages: original.stages,
    ...(original.params ? { params: original.params } : {}),
    overrides: overrides.values,
  });
  return { original, selection };
}

/** Build the new run's input from the original run and start it with the run client. */
export async function startRerun(runs: RunClient, store: ObjectStore, request: RerunRequest): Promise<RerunStarted> {
  const { original, selection } = await previewRerun(runs, store, request);
  // Keep what started the original run (a new-data trigger's dataset version above all).
  const trigger = rerunTrigger(original.input.trigger, original.runId, request.fromStage);
  // On the original's control pool: one submitted with `--control-pool` may have no worker on the default one.
  const runId = await runs.submit(selection.plan, {
    trigger,
    reuse: selection.reuse,
    taskQueue: original.taskQueue,
    ...(request.newRunId ? { runId: request.newRunId } : {}),
  });
  return { runId, fromRunId: original.runId, fromStage: request.fromStage, selection };
}
