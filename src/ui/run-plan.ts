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
import { getStageType } from '../spec/stage-types';
import type { StageCacheLookup } from './web/store-info-types';

/** Nodes and edges of a plan, the shape the frontend lays out. */
export interface PlanGraph {
  readonly nodes: readonly {
    readonly id: string;
    readonly uses: string;
    readonly pool: string;
    readonly line?: number;
    /** The stage's type writes training checkpoints (its `with:` has a `checkpoint:` block): the panel lists them. */
    readonly checkpoints?: true;
  }[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

/** Stage types whose `with:` has a `checkpoint:` block write checkpoints. */
export function writesCheckpoints(uses: string): boolean {
  const properties = getStageType(uses)?.inputs.properties ?? {};
  return Object.prototype.hasOwnProperty.call(properties, 'checkpoint');
}

export function planGraph(plan: Plan): PlanGraph {
  return {
    nodes: plan.stages.map((stage) => ({
      id: stage.id,
      uses: stage.uses,
      pool: stage.pool,
      ...(stage.line !== undefined ? { line: stage.line } : {}),
      ...(writesCheckpoints(stage.uses) ? { checkpoints: true as const } : {}),
    })),
    edges: plan.stages.flatMap((stage) => stage.needs.map((from) => ({ from, to: stage.id }))),
  };
}

/** Re-exported for the UI's callers: the plan and trigger a run was started with. */
export { readRunInput } from '../client/run-input';

/** Bound on the history read for one stage panel: a run with a longer history shows the first attempts only. */
const MAX_HISTORY_EVENTS = 20_000;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** What one stage's attempts received after `${{ }}` resolution. */
export interface StageAttemptInputs {
  readonly attempt: number;
  readonly inputs: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Every event of a run's history, newest execution first (a run that continued as new has one history
 * per execution, linked to the one it continued), within the event bound. `visit` gets each page with the
 * index of its execution, so event ids (numbered per execution) never meet another execution's.
 */
async function scanRunHistory(
  client: Client,
  runId: string,
  visit: (events: readonly HistoryEvent[], execution: number) => Promise<void>,
): Promise<void> {
  let seen = 0;
  let execution: string | undefined;
  let index = 0;
  do {
    let previous: string | undefined;
    let nextPageToken: Uint8Array | undefined;
    do {
      const page: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse =
        await client.workflowService.getWorkflowExecutionHistory({
          namespace: client.options.namespace,
          execution: { workflowId: runId, ...(execution ? { runId: execution } : {}) },
          ...(nextPageToken ? { nextPageToken } : {}),
        });
      const events = page.history?.events ?? [];
      previous ??= events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      await visit(events, index);
      seen += events.length;
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken && seen < MAX_HISTORY_EVENTS);
    execution = seen < MAX_HISTORY_EVENTS ? previous : undefined;
    index += 1;
  } while (execution);
}

/** The stage input (`{context, inputs}`) an activity or sweep child was scheduled with, when it is `stageId`'s. */
async function scheduledStageInput(
  client: Client,
  event: HistoryEvent,
  stageId: string,
): Promise<StageAttemptInputs | undefined> {
  const payload = (event.activityTaskScheduledEventAttributes?.input?.payloads ??
    event.startChildWorkflowExecutionInitiatedEventAttributes?.input?.payloads)?.[0];
  if (!payload || event.activityTaskScheduledEventAttributes?.activityType?.name === CACHE_LOOKUP) return undefined;
  const input: unknown = await decodeHistoryPayload(client, payload);
  const context = isObject(input) && isObject(input.context) ? input.context : undefined;
  if (context?.stageId !== stageId || !isObject(input) || !('inputs' in input)) return undefined;
  return { attempt: typeof context.attempt === 'number' ? context.attempt : 0, inputs: input.inputs };
}

/**
 * The inputs a stage's attempts received after `${{ }}` resolution, as scheduled in the run's
 * history (activity inputs, or the sweep child's input), decoded like any payload of the client.
 */
export async function readStageInputs(client: Client, runId: string, stageId: string): Promise<StageAttemptInputs[]> {
  const found: StageAttemptInputs[] = [];
  await scanRunHistory(client, runId, async (events) => {
    for (const event of events) {
      const scheduled = await scheduledStageInput(client, event, stageId);
      if (scheduled) found.push({ ...scheduled, attempt: scheduled.attempt || found.length + 1 });
    }
  });
  return found.sort((a, b) => a.attempt - b.attempt);
}

const CACHE_LOOKUP = 'lookupStageCache';

/**
 * The run's cache lookups for a stage, oldest first: the `lookupStageCache` activities scheduled
 * for it and the answers they completed with. Only the stage id of the lookup's input is read.
 */
export async function readStageCacheLookups(
  client: Client,
  runId: string,
  stageId: string,
): Promise<StageCacheLookup[]> {
  const pending = new Set<string>();
  // Executions come newest first; each one's events in order.
  const byExecution: StageCacheLookup[][] = [];
  await scanRunHistory(client, runId, async (events, execution) => {
    for (const event of events) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === CACHE_LOOKUP && scheduled.input?.payloads?.[0]) {
        const input: unknown = await decodeHistoryPayload(client, scheduled.input.payloads[0]);
        if (isObject(input) && isObject(input.stage) && input.stage.id === stageId)
          pending.add(`${execution}:${String(event.eventId)}`);
      }
      const completed = event.activityTaskCompletedEventAttributes;
      const result = completed?.result?.payloads?.[0];
      if (!result || !pending.has(`${execution}:${String(completed?.scheduledEventId)}`)) continue;
      const lookup = cacheLookupOf(await decodeHistoryPayload(client, result));
      if (lookup) (byExecution[execution] ??= []).push(lookup);
    }
  });
  return byExecution.reverse().flatMap((lookups) => lookups ?? []);
}

function cacheLookupOf(value: unknown): StageCacheLookup | undefined {
  if (!isObject(value) || typeof value.key !== 'string' || typeof value.hit !== 'boolean') return undefined;
  const text = (name: string): { [name: string]: string } =>
    typeof value[name] === 'string' ? { [name]: value[name] } : {};
  return {
    key: value.key,
    hit: value.hit,
    ...text('fromRunId'),
    ...text('createdAt'),
    ...text('reason'),
    ...(value.bypassed === true ? { bypassed: true } : {}),
  };
}
