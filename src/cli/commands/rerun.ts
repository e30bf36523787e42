/**
 * `fineflow rerun RUN --from STAGE [--set k=v]`: a new run of an ended run's plan that reuses
 * the outputs of every stage not downstream of STAGE and runs STAGE and its descendants again.
 * Lineage: the new run's trigger is `{kind: 'rerun', fromRunId, fromStage, origin}` where origin is
 * the trigger of the first run of the lineage (a new-data trigger keeps its dataset version, so
 * the rerun stages retrain on the same data); its search attribute FineflowTrigger reads `rerun`,
 * and its reused stages say `reused from run <RUN>`.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { RunClient } from '../../client/run-client';
import { loadConfig } from '../../config';
import { DependencyUnavailableError, ensureError, InvalidInputError } from '../../errors';
import { s3UrisIn } from '../../runtime/cache-key';
import { selectRerun, type RerunSelection } from '../../runtime/cache-rerun';
import { missingOutput } from '../../runtime/cache-store';
import { checkParamOverrides, paramValues, parseSetPairs } from '../../runtime/params';
import { runStateQuery } from '../../runtime/run-definitions';
import { rerunTrigger } from '../../runtime/run-trigger';
import { RUN_UPDATES, WORKFLOW_TYPES, type PipelineRunInput, type RetryStageRequest, type RunState, type StageState } from '../../runtime/run-types';
import { connectClient, decodeHistoryPayload } from '../../runtime/temporal-connection';
import type { JsonValue, Plan } from '../../spec/plan-types';
import { createObjectStoreFromConfig } from '../../storage/minio-store';
import type { ObjectStore } from '../../storage/object-store';
import { EXIT, UsageError, type CliCommand, type CliIo } from '../command';

/** What rerun needs to know about the original run. */
export interface OriginalRun {
  readonly runId: string;
  readonly input: PipelineRunInput;
  /** Temporal's execution status, e.g. COMPLETED, FAILED. */
  readonly executionStatus: string;
  readonly stages: readonly StageState[];
  /** Param values the run ended with: from its state, or its start input plus accepted `retry --set` updates. */
  readonly params?: { readonly [name: string]: JsonValue };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The workflow input as recorded in history is ours, but check its shape before trusting it. */
function readRunInput(runId: string, value: unknown): PipelineRunInput {
  if (!isObject(value) || !isObject(value.plan) || !Array.isArray(value.plan.stages) || !isObject(value.plan.pipeline) || !isObject(value.trigger)) {
    throw new InvalidInputError(`run ${runId} was not started with a pipeline plan: its first history event has no {plan, trigger} input`, { runId });
  }
  return value as unknown as PipelineRunInput;
}

function stagesOf(value: unknown): StageState[] | undefined {
  return isObject(value) && Array.isArray(value.stages) ? (value.stages as StageState[]) : undefined;
}

/** Final stage states: the result (succeeded), the failure details (failed), else the runState query. */
async function finalState(handle: WorkflowHandle, executionStatus: string): Promise<{ stages?: StageState[]; params?: RunState['params'] }> {
  if (executionStatus === 'COMPLETED' || executionStatus === 'FAILED') {
    try {
      const stages = stagesOf(await handle.result());
      if (stages) return { stages };
    } catch (error) {
      if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
        const stages = stagesOf(error.cause.details?.[0]);
        if (stages) return { stages };
      }
    }
  }
  // Cancelled or terminated runs: the workflow's own state (needs a control worker to answer).
  try {
    const state = await handle.query(runStateQuery);
    return { stages: [...state.stages], params: state.params };
  } catch (error) {
    throw new DependencyUnavailableError(
      `cannot read the final stage states of run ${handle.workflowId} (${executionStatus}): ${ensureError(error).message}. ` +
        'A cancelled run answers only while a control worker runs: start one with `fineflow worker --pool control`.',
      { runId: handle.workflowId },
      { cause: error },
    );
  }
}

export async function fetchOriginalRun(client: Client, runId: string): Promise<OriginalRun> {
  const handle = client.workflow.getHandle(runId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new InvalidInputError(`no run ${runId}; list runs with \`fineflow runs\``, { runId, code: 'not-found' });
    throw error;
  }
  if (description.type !== WORKFLOW_TYPES.pipelineRun) {
    throw new InvalidInputError(`${runId} is a ${description.type} workflow, not a pipeline run`, { runId });
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
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new InvalidInputError(`run ${runId} has no recorded input`, { runId });
  const input = readRunInput(runId, await decodeHistoryPayload(client, payload));
  // Params changed by `fineflow retry --set` are in the accepted retryStage updates, in order.
  let params: Record<string, JsonValue> | undefined;
  for (const event of history.events ?? []) {
    const request = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    const argument = request?.name === RUN_UPDATES.retryStage ? request.args?.payloads?.[0] : undefined;
    if (!argument) continue;
    const retry: unknown = await decodeHistoryPayload(client, argument);
    if (!isObject(retry) || !isObject(retry.params)) continue;
    // Decoded JSON, so every value is a JsonValue; the workflow applied these after the same check
    // (which also coerces `--set` text to the param types).
    const checked = checkParamOverrides(input.plan, retry.params as RetryStageRequest['params'] & object);
    if (checked.ok) params = { ...(params ?? paramValues(input.plan)), ...checked.values };
  }
  const state = await finalState(handle, executionStatus);
  const finalParams = state.params ?? params;
  return { runId, input, executionStatus, stages: state.stages ?? [], ...(finalParams ? { params: finalParams } : {}) };
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
export async function unavailableOutputs(store: ObjectStore, stages: readonly StageState[]): Promise<{ [stageId: string]: string }> {
  const found: Record<string, string> = {};
  for (const stage of stages) {
    if ((stage.status !== 'succeeded' && stage.status !== 'cached') || !stage.outputs) continue;
    const reason = await missingOutput(store, s3UrisIn(stage.outputs));
    if (reason) found[stage.id] = reason;
  }
  return found;
}

/** Build the new run's input from the original run and start it with the run client. */
export async function startRerun(runs: RunClient, store: ObjectStore, request: RerunRequest): Promise<RerunStarted> {
  const original = await fetchOriginalRun(runs.client, request.runId);
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
  // Keep what started the original run (a new-data trigger's dataset version above all).
  const trigger = rerunTrigger(original.input.trigger, original.runId, request.fromStage);
  const runId = await runs.submit(selection.plan, { trigger, reuse: selection.reuse, ...(request.newRunId ? { runId: request.newRunId } : {}) });
  return { runId, fromRunId: original.runId, fromStage: request.fromStage, selection };
}

function report(started: RerunStarted, io: CliIo, json: boolean): void {
  const { selection } = started;
  if (json) {
    io.stdout.write(
      `${JSON.stringify({
        runId: started.runId,
        fromRunId: started.fromRunId,
        fromStage: started.fromStage,
        rerun: selection.rerun,
        reused: selection.reuse.map((r) => r.stageId),
        params: Object.fromEntries(Object.entries(selection.plan.params).map(([name, p]) => [name, p.value])),
        notes: selection.notes,
      })}\n`,
    );
    return;
  }
  const lines = [
    `started run ${started.runId}: rerun of ${started.fromRunId} from stage ${started.fromStage}`,
    `  runs again: ${selection.rerun.join(', ')}`,
    `  reused:     ${selection.reuse.length > 0 ? selection.reuse.map((r) => r.stageId).join(', ') : '(nothing)'}${selection.reuse.length > 0 ? ` (outputs of run ${started.fromRunId})` : ''}`,
    ...selection.notes.map((note) => `  note: ${note}`),
    `watch it with: fineflow status ${started.runId}`,
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

export const command: CliCommand = {
  name: 'rerun',
  summary: 'start a new run from an ended one, rerunning a stage and its descendants and reusing the rest',
  usage: 'rerun RUN --from STAGE [--set k=v]… [--json]',
  description: [
    'Reads the plan and the final stage states of RUN, then starts a new run that reuses the outputs',
    'of every stage not downstream of STAGE and executes STAGE and everything downstream of it.',
    'The rerun stages bypass the stage cache (their new results replace the cached ones).',
    'The new run records its origin: trigger {kind: rerun, fromRunId, fromStage, origin}, where origin',
    'is the trigger of the original run; a run started by new data is rerun on the same dataset version.',
    '',
    'Use `fineflow retry RUN` instead when the run is still waiting on a failed stage.',
    '',
    'exit codes: 0 started, 1 the run or stage cannot be rerun, 2 bad command line, 3 Temporal unreachable',
  ].join('\n'),
  options: [
    { name: 'from', kind: 'string', valueName: 'STAGE', description: 'first stage to run again (its descendants run too)' },
    { name: 'set', kind: 'multi', valueName: 'k=v', description: 'override a param for the new run' },
  ],
  async run(args, io) {
    const [runId, ...extra] = args.positionals;
    if (!runId) throw new UsageError('missing RUN (a run id from `fineflow runs`)');
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    const fromStage = args.values.from;
    if (!fromStage) throw new UsageError('missing --from STAGE');
    const json = args.flags.json === true;
    let set: { [name: string]: string };
    try {
      set = parseSetPairs(args.multi.set ?? []);
    } catch (error) {
      throw new UsageError(ensureError(error).message);
    }
    try {
      const config = loadConfig(io.env);
      const client = await connectClient(config.temporal);
      try {
        const runs = new RunClient(client, { bucket: config.s3.bucket });
        report(await startRerun(runs, createObjectStoreFromConfig(config), { runId, fromStage, set }), io, json);
      } finally {
        await client.connection.close();
      }
      return EXIT.ok;
    } catch (thrown) {
      const error = ensureError(thrown);
      if (json) io.stdout.write(`${JSON.stringify({ error: { type: error instanceof InvalidInputError || error instanceof DependencyUnavailableError ? error.type : 'error', message: error.message } })}\n`);
      io.stderr.write(`fineflow rerun: ${error.message}\n`);
      return error instanceof DependencyUnavailableError ? EXIT.unavailable : EXIT.failure;
    }
  },
};
