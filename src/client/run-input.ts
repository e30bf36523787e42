/**
 * What a run was started with, read from its workflow history. A run that continued as new with its
 * state in the store (src/core/run/stored-run-state.ts) starts its later executions with a reference
 * only, so the plan and trigger come from the first execution (`firstExecutionRunId`): plans do not
 * change during a run. Decoded like every history payload, so the client's payload codec applies.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { InvalidInputError } from '../core/errors';
import { checkParamOverrides, type ParamValues } from '../core/run/params';
import { RUN_UPDATES, type PipelineRunInput, type RetryStageRequest } from '../core/run/run-types';
import type { StoredRunStateRef } from '../core/run/stored-run-state';
import { decodeHistoryPayload } from './temporal-connection';

export interface RecordedRunInput {
  /** The plan and trigger (with `carried` when the latest execution got its state inline). */
  readonly input: PipelineRunInput;
  /** Where the latest execution's state is, when it continued with its state in the store. */
  readonly stored?: StoredRunStateRef;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function hasPlan(value: unknown): value is PipelineRunInput {
  return (
    isObject(value) &&
    isObject(value.plan) &&
    Array.isArray(value.plan.stages) &&
    isObject(value.plan.pipeline) &&
    isObject(value.trigger)
  );
}

/** The input and the first execution's id of one execution (the latest when `execution` is undefined). */
async function readExecutionInput(
  client: Client,
  runId: string,
  execution: string | undefined,
): Promise<{ input: unknown; firstExecutionRunId?: string }> {
  const response = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: runId, ...(execution ? { runId: execution } : {}) },
    maximumPageSize: 1,
  });
  return executionInputOf(client, runId, response.history?.events?.[0]);
}

/** The input and first execution's id recorded in an execution's first history event. */
async function executionInputOf(
  client: Client,
  runId: string,
  startedEvent: temporal.api.history.v1.IHistoryEvent | undefined,
): Promise<{ input: unknown; firstExecutionRunId?: string }> {
  const started = startedEvent?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) throw new InvalidInputError(`run ${runId} has no recorded input`, { runId });
  const first = started.firstExecutionRunId || undefined;
  return { input: await decodeHistoryPayload(client, payload), ...(first ? { firstExecutionRunId: first } : {}) };
}

export async function readRecordedRunInput(
  client: Client,
  runId: string,
  /** The latest execution's history, when the caller has fetched it already: its first event is read, not fetched. */
  latestEvents?: readonly temporal.api.history.v1.IHistoryEvent[],
): Promise<RecordedRunInput> {
  const latest = latestEvents
    ? await executionInputOf(client, runId, latestEvents[0])
    : await readExecutionInput(client, runId, undefined);
  if (hasPlan(latest.input)) return { input: latest.input };
  const stored = isObject(latest.input) && isObject(latest.input.stored) ? latest.input.stored : undefined;
  if (stored && latest.firstExecutionRunId) {
    const first = await readExecutionInput(client, runId, latest.firstExecutionRunId);
    if (hasPlan(first.input)) return { input: first.input, stored: stored as unknown as StoredRunStateRef };
  }
  throw new InvalidInputError(
    `run ${runId} was not started with a pipeline plan: its first history event has no {plan, trigger} input`,
    { runId },
  );
}

/** The plan and trigger a run was started with (checked in shape before it is trusted). */
export async function readRunInput(client: Client, runId: string): Promise<PipelineRunInput> {
  return (await readRecordedRunInput(client, runId)).input;
}

/**
 * The params a run ended with: `base` (its start's, or the state its latest execution continued with) and then
 * each `retryStage` update of `events` (that execution's history), in order, checked and typed as the workflow
 * applies them. `fineflow retry --set` changes params only in the workflow's memory and these updates: neither the
 * run's input nor its result holds them, so a reader of an ended run without its query learns them only here.
 */
export async function paramsAfterRetries(
  client: Client,
  plan: PipelineRunInput['plan'],
  base: ParamValues,
  events: readonly temporal.api.history.v1.IHistoryEvent[],
): Promise<ParamValues> {
  let params = base;
  for (const event of events) {
    const request = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    const argument = request?.name === RUN_UPDATES.retryStage ? request.args?.payloads?.[0] : undefined;
    if (!argument) continue;
    const retry: unknown = await decodeHistoryPayload(client, argument);
    if (!isObject(retry) || !isObject(retry.params)) continue;
    // Decoded JSON, so every value is a JsonValue; the workflow applied these after the same check.
    const checked = checkParamOverrides(plan, retry.params as RetryStageRequest['params'] & object);
    if (checked.ok) params = { ...params, ...checked.values };
  }
  return params;
}
