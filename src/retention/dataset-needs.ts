/**
 * What `fineflow gc --keep-dataset-versions` must not drop because something in Temporal still needs it (rule 6 of
 * src/retention/gc-plan.ts): the versions the pipelines of Fineflow's schedules and running data watchers pin, and
 * the versions runs that have not ended pin, were triggered by or are reading (their read records, which gc-plan
 * matches against the open runs listed here). Read from Temporal without a worker: schedules' actions, watchers'
 * and runs' histories. Any failure throws; gc then drops no dataset version (gc.ts).
 */
import { WorkflowNotFoundError, isGrpcServiceError, type Client } from '@temporalio/client';
import { datasetPinsIn, unpinnedLocationsIn } from '../datasets/dataset-source';
import { datasetVersionOf } from '../core/run/run-trigger';
import { paramsAfterRetries, readRecordedRunInput } from '../client/run-input';
import { paramValues } from '../core/run/params';
import { ScheduleService } from '../schedules/schedule-client';
import type { RunClient } from '../client/run-client';
import { forEachInFlight } from '../core/in-flight';

export interface DatasetNeeds {
  /** Why a version is needed (sentences naming the schedule, watcher or run), by version id. */
  readonly pins: ReadonlyMap<string, readonly string[]>;
  /** Runs that have not ended. */
  readonly openRuns: ReadonlySet<string>;
  /**
   * What each open run reads unpinned (a prefix or object as it is when its stage starts): the version it reads is
   * sealed then, so until the run has a read record under the prefix (gc-plan), every version sealed since it started
   * may be the one.
   */
  readonly unpinnedReads: readonly OpenRunReads[];
}

export interface OpenRunReads {
  readonly runId: string;
  readonly startedAtMs: number;
  readonly locations: readonly string[];
}

const GRPC_NOT_FOUND = 5;

/** Open runs whose input and history are read at once. */
const HISTORIES_IN_FLIGHT = 8;

/** `s3://b/p/@0123456789ab…`: a pin as the reasons show it. */
function shortPin(prefix: string, id: string): string {
  return `${prefix}@${id.slice(0, 12)}`;
}

export async function gatherDatasetNeeds(client: Client, runs: Pick<RunClient, 'openRuns'>): Promise<DatasetNeeds> {
  const pins = new Map<string, string[]>();
  const need = (id: string, why: string): void => {
    const reasons = pins.get(id) ?? [];
    if (!reasons.includes(why)) pins.set(id, [...reasons, why]);
  };
  const schedules = new ScheduleService(client);
  for (const { scheduleId, plan } of await schedules.appliedPlans())
    for (const pin of datasetPinsIn(plan))
      need(pin.id, `schedule ${scheduleId} pins it (${shortPin(pin.prefix, pin.id)})`);
  for (const { watcherId } of await schedules.watchers.list()) {
    const config = await schedules.watchers.appliedConfig(watcherId);
    for (const pin of datasetPinsIn(config?.plan))
      need(pin.id, `data watcher ${watcherId} pins it (${shortPin(pin.prefix, pin.id)})`);
  }
  const openRuns = new Set<string>();
  const unpinnedReads: OpenRunReads[] = [];
  const open = await runs.openRuns();
  // A few histories at a time: one after another, gc waited out a round trip per open run in turn.
  const found = new Array<Awaited<ReturnType<typeof openRunPins>>>(open.length);
  await forEachInFlight(open, HISTORIES_IN_FLIGHT, async ({ runId }, index) => {
    found[index] = await openRunPins(client, runId);
  });
  for (const [index, { runId, startedAtMs }] of open.entries()) {
    const pins = found[index];
    if (!pins) continue; // ended and gone since the listing
    openRuns.add(runId);
    for (const pin of pins.pins) need(pin.id, `run ${runId} (not ended) pins it (${shortPin(pin.prefix, pin.id)})`);
    if (pins.triggeredBy) need(pins.triggeredBy, `run ${runId} (not ended) was triggered by it`);
    if (pins.locations.length > 0) unpinnedReads.push({ runId, startedAtMs, locations: pins.locations });
  }
  return { pins, openRuns, unpinnedReads };
}

/**
 * The versions an open run pins (in its plan, its params as `retry --set` left them, or the state it continued with),
 * the one that triggered it and the locations it names unpinned; undefined when the run no longer exists.
 */
async function openRunPins(
  client: Client,
  runId: string,
): Promise<{ pins: ReturnType<typeof datasetPinsIn>; locations: string[]; triggeredBy?: string } | undefined> {
  try {
    // One fetch of the latest execution's history gives both its input (first event) and its retries.
    const events = (await client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    const { input } = await readRecordedRunInput(client, runId, events);
    const params = await paramsAfterRetries(client, input.plan, paramValues(input.plan), events);
    const triggeredBy = datasetVersionOf(input.trigger);
    return {
      pins: datasetPinsIn([input, params]),
      locations: unpinnedLocationsIn([input.plan, params]),
      ...(triggeredBy ? { triggeredBy } : {}),
    };
  } catch (thrown) {
    // gRPC NOT_FOUND: the raw history call's way of saying the same.
    if (thrown instanceof WorkflowNotFoundError || (isGrpcServiceError(thrown) && thrown.code === GRPC_NOT_FOUND))
      return undefined;
    throw thrown;
  }
}
