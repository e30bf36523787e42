/**
 * The plan a run executes, read from the first event of its workflow history (its input), for
 * the run page's DAG: the live state carries stage states, not the edges. Decoded like every
 * history payload (`decodeHistoryPayload`), so the client's payload codec applies. Plans do
 * not change during a run: callers cache them by run id.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { decodeHistoryPayload } from '../client/temporal-connection';
import type { Plan } from '../core/spec/plan-types';

/** Nodes and edges of a plan, the shape the frontend lays out. */
export interface PlanGraph {
  readonly nodes: readonly {
    readonly id: string;
    readonly uses: string;
    readonly pool: string;
    readonly line?: number;
  }[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

export function planGraph(plan: Plan): PlanGraph {
  return {
    nodes: plan.stages.map((stage) => ({
      id: stage.id,
      uses: stage.uses,
      pool: stage.pool,
      ...(stage.line !== undefined ? { line: stage.line } : {}),
    })),
    edges: plan.stages.flatMap((stage) => stage.needs.map((from) => ({ from, to: stage.id }))),
  };
}

/** Re-exported for the UI's callers: the plan and trigger a run was started with. */
export { readRunInput } from '../client/run-input';

/** Bound on the history read for one stage panel: a run with a longer history shows the first attempts only. */
const MAX_HISTORY_EVENTS = 20_000;

/** A stage's scheduled inputs found in one page of history events. */
async function stageInputsIn(
  client: Client,
  events: readonly temporal.api.history.v1.IHistoryEvent[],
  stageId: string,
): Promise<{ attempt: number; inputs: unknown }[]> {
  const found: { attempt: number; inputs: unknown }[] = [];
  for (const event of events) {
    const payload = (event.activityTaskScheduledEventAttributes?.input?.payloads ??
      event.startChildWorkflowExecutionInitiatedEventAttributes?.input?.payloads)?.[0];
    if (!payload) continue;
    const input: unknown = await decodeHistoryPayload(client, payload);
    const context =
      input && typeof input === 'object' && 'context' in input
        ? (input as { context?: { stageId?: unknown; attempt?: unknown } }).context
        : undefined;
    if (context?.stageId !== stageId || !('inputs' in (input as object))) continue;
    found.push({
      attempt: typeof context.attempt === 'number' ? context.attempt : found.length + 1,
      inputs: (input as { inputs: unknown }).inputs,
    });
  }
  return found;
}

/**
 * The inputs a stage's attempts received after `${{ }}` resolution, as scheduled in the run's
 * history (activity inputs, or the sweep child's input), decoded like any payload of the client.
 * A run that continued as new has one history per execution: they are read newest first, following
 * each execution's link to the one it continued, within the event bound.
 */
export async function readStageInputs(
  client: Client,
  runId: string,
  stageId: string,
): Promise<{ attempt: number; inputs: unknown }[]> {
  const found: { attempt: number; inputs: unknown }[] = [];
  let seen = 0;
  let execution: string | undefined;
  do {
    const read = await readExecutionStageInputs(client, { workflowId: runId, runId: execution }, stageId, seen);
    found.push(...read.found);
    seen = read.seen;
    execution = seen < MAX_HISTORY_EVENTS ? read.previous : undefined;
  } while (execution);
  return found.sort((a, b) => a.attempt - b.attempt);
}

/** One execution's history (the latest when `runId` is undefined), paged until the event bound. */
async function readExecutionStageInputs(
  client: Client,
  execution: { readonly workflowId: string; readonly runId: string | undefined },
  stageId: string,
  seenBefore: number,
): Promise<{ found: { attempt: number; inputs: unknown }[]; seen: number; previous?: string }> {
  const found: { attempt: number; inputs: unknown }[] = [];
  let seen = seenBefore;
  let previous: string | undefined;
  let nextPageToken: Uint8Array | undefined;
  do {
    const page: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse =
      await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId: execution.workflowId, ...(execution.runId ? { runId: execution.runId } : {}) },
        ...(nextPageToken ? { nextPageToken } : {}),
      });
    const events = page.history?.events ?? [];
    previous ??= events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    found.push(...(await stageInputsIn(client, events, stageId)));
    seen += events.length;
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken && seen < MAX_HISTORY_EVENTS);
  return { found, seen, ...(previous ? { previous } : {}) };
}
