/**
 * What `fineflow gc --keep-dataset-versions` must not drop because something in Temporal still needs it (rule 6 of
 * src/retention/gc-plan.ts): the versions the pipelines of Fineflow's schedules and running data watchers pin, and
 * the versions runs that have not ended pin, were triggered by or are reading (their read records, which gc-plan
 * matches against the open runs listed here). Read from Temporal without a worker: schedules' actions, watchers'
 * and runs' histories, and the state a continued-as-new run carries in the store. Any failure throws; gc then drops no
 * dataset version (gc.ts).
 *
 * What a run can still read, in every execution of its chain: its plan, its trigger and its params as they stand now.
 * Each execution starts with the params the one before it ended with (CarriedRunState.params: the start's, with every
 * `retry --set` applied), so the latest execution's carried params plus its own retries are the whole chain's; a
 * value a later `retry --set` replaced is read by no stage any more (a stage that read it holds a read record). The
 * carried params are inline in the latest input (runs continued before the state moved to the store) or in the stored
 * state it names. Bound: one stored state per open run that continued as new, at most MAX_RUN_STATE_BYTES (the most
 * the run itself reads back to go on), read one at a time (so gc holds one in memory, however many runs it reads in
 * parallel); the earlier executions' histories are not read at all (their number grows with the run's age).
 */
import { WorkflowNotFoundError, isGrpcServiceError, type Client } from '@temporalio/client';
import { datasetPinsIn, unpinnedLocationsIn } from '../datasets/dataset-source';
import { datasetVersionOf } from '../core/run/run-trigger';
import { paramsAfterRetries, readRecordedRunInput } from '../client/run-input';
import { paramValues } from '../core/run/params';
import { ScheduleService } from '../schedules/schedule-client';
import type { RunClient } from '../client/run-client';
import { forEachInFlight } from '../core/in-flight';
import type { ParamValues } from '../core/run/params';
import type { ObjectStore } from '../storage/object-store';
import { readStoredRunState } from '../storage/run-state-store';
import type { RecordedRunInput } from '../client/run-input';

/** Where continued-as-new runs keep their state (src/core/run/stored-run-state.ts). */
export interface RunStateSource {
  readonly store: ObjectStore;
  /** Fineflow's bucket (the runs'). */
  readonly bucket: string;
}

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

export async function gatherDatasetNeeds(
  client: Client,
  runs: Pick<RunClient, 'openRuns'>,
  states: RunStateSource,
): Promise<DatasetNeeds> {
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
  const carried = carriedParamsOneAtATime(states);
  await forEachInFlight(open, HISTORIES_IN_FLIGHT, async ({ runId }, index) => {
    found[index] = await openRunPins(client, runId, carried);
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

/** The params a run's latest execution started with: its start's, or those the execution before it carried. */
type CarriedParams = (runId: string, recorded: RecordedRunInput) => Promise<ParamValues>;

/** {@link CarriedParams}, reading a stored state only after the one before it was read and let go. */
function carriedParamsOneAtATime({ store, bucket }: RunStateSource): CarriedParams {
  let previous: Promise<unknown> = Promise.resolve();
  return async (runId, { input, stored }) => {
    if (input.carried) return input.carried.params;
    if (!stored) return paramValues(input.plan);
    const read = previous.then(async () => (await readStoredRunState(store, bucket, runId, stored)).carried.params);
    previous = read.catch(() => undefined);
    return read;
  };
}

/**
 * The versions an open run pins (in its plan, or its params as they stand now: carried across continue-as-new and
 * changed by `retry --set`), the one that triggered it and the locations it names unpinned; undefined when the run no
 * longer exists.
 */
async function openRunPins(
  client: Client,
  runId: string,
  carriedParams: CarriedParams,
): Promise<{ pins: ReturnType<typeof datasetPinsIn>; locations: string[]; triggeredBy?: string } | undefined> {
  try {
    // One fetch of the latest execution's history gives both its input (first event) and its retries.
    const events = (await client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    const recorded = await readRecordedRunInput(client, runId, events);
    const { input } = recorded;
    const params = await paramsAfterRetries(client, input.plan, await carriedParams(runId, recorded), events);
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
