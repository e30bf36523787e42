/**
 * `fineflow schedule …` against Temporal: apply a validated plan (the Temporal Schedule of its
 * `schedule:` block and the data watchers of its `newData` triggers), list, describe, pause,
 * unpause, trigger, backfill and delete. Receives a connected Client; the CLI opens it.
 *
 * `apply` is declarative: the file is the desired state. A schedule or watcher the file no longer
 * has is removed; an existing schedule is updated in place (its id, history and paused state
 * stay), and an identical file changes nothing.
 */
import { RUN_PAGE_MEMO, runPageDetails, runPageUrl } from '../core/run/run-links';
import {
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { InvalidInputError } from '../core/errors';
import { shownInput } from '../core/shown-input';
import type { JsonValue, Plan } from '../core/spec/plan-types';
import {
  DataWatchClient,
  unansweredOf,
  watcherIdFor,
  type DataWatchClientOptions,
  type WatcherChange,
} from './data-watch-client';
import { DATA_WATCHER_SIGNALS, type DataWatcherStatus } from '../core/schedules/data-watch-types';
import { RUN_WORKFLOW_TASK_TIMEOUT_MS, type PipelineRunInput } from '../core/run/run-types';
import { quoteQueryValue, runsQuery, searchAttributesForRun } from '../core/schedules/schedule-search-attributes';
import { startedAtOf } from '../client/run-client';
import {
  appliedDigestOf,
  applyDigestOf,
  buildScheduleOptions,
  overlapPolicyName,
  pipelineOfScheduleId,
  planDigest,
  scheduleIdForPipeline,
  scheduleUpdateFor,
  temporalOverlapPolicy,
  type PipelineScheduleOptions,
} from './schedules';
import {
  OVERLAP_POLICY_NAMES,
  readNewDataTriggers,
  readScheduleBlock,
  type OverlapPolicyName,
  type ScheduleBlock,
} from './schedule-block';
// Started by function reference, so the compiler checks `args` against the workflow's parameters.
import { pipelineRun } from '../../workflows/pipeline-run';

export type ScheduleOutcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent';

export interface ApplyResult {
  readonly pipeline: string;
  readonly scheduleId: string;
  readonly schedule: ScheduleOutcome;
  readonly planDigest: string;
  readonly params: Record<string, JsonValue>;
  readonly watchers: readonly WatcherChange[];
  /** True when nothing changed anywhere: a second apply of the same file. */
  readonly unchanged: boolean;
}

export interface ScheduleListing {
  readonly pipeline: string;
  readonly scheduleId: string;
  readonly paused: boolean;
  readonly note?: string;
  /** Future start times; none while paused (Temporal still computes them). */
  readonly nextRuns: readonly string[];
  /** The newest runs, oldest first: the schedule's own and those triggered by hand ({@link ScheduleRecentRun}). */
  readonly recentRuns: readonly ScheduleRecentRun[];
  /** When the schedule was last applied (created or updated), ISO 8601. */
  readonly appliedAt?: string;
  /** The newest run and how it ended (`running`, `completed`, `failed`, …), when there is one. */
  readonly lastRun?: RunOutcome;
}

/**
 * One of a schedule's recent runs. `schedule`: Temporal started it at a time of the spec, or of a backfill;
 * `manual`: triggered by hand (`fineflow schedule trigger`, the UI's Trigger now), started outside the Temporal
 * Schedule with the schedule's plan, so Temporal's recent actions never hold it and the visibility store is read.
 */
export interface ScheduleRecentRun {
  readonly runId: string;
  readonly trigger: 'schedule' | 'manual';
  /** The time the spec (or backfill) gave the run; absent for a run triggered by hand. */
  readonly scheduledAt?: string;
  /** When the run started (Temporal's `takenAt` for a scheduled one). */
  readonly startedAt: string;
  /** startedAt − scheduledAt: how late the schedule started it; absent for a run triggered by hand. */
  readonly delayMs?: number;
}

/** How many recent runs a schedule shows: as many as Temporal keeps of its own recent actions. */
export const SCHEDULE_RECENT_RUNS = 10;

export interface RunOutcome {
  readonly runId: string;
  readonly startedAt: string;
  readonly result: string;
  /** What started it: the schedule, or a trigger by hand. */
  readonly trigger: ScheduleRecentRun['trigger'];
}

export interface ScheduleDetails {
  readonly pipeline: string;
  readonly scheduleId: string;
  /** Absent when the pipeline has only data watchers. */
  readonly schedule?: {
    readonly paused: boolean;
    readonly note?: string;
    /** Temporal's compiled form (cron expressions become structured calendars). */
    readonly spec: unknown;
    /** The `schedule:` block as the applied plan has it, when the action carries a plan that reads as one. */
    readonly written?: ScheduleBlock;
    readonly overlap: OverlapPolicyName | undefined;
    readonly catchupWindowMs: number;
    readonly pauseOnFailure: boolean;
    readonly planDigest?: string;
    readonly params?: unknown;
    readonly source?: string;
    readonly runsTaken: number;
    readonly missedCatchupWindow: number;
    readonly skippedOverlap: number;
    readonly createdAt: string;
    readonly lastUpdatedAt?: string;
    readonly nextRuns: readonly string[];
    /**
     * The newest runs, oldest first, scheduled and triggered by hand ({@link ScheduleRecentRun}): for a scheduled
     * one, scheduledAt = the spec's time, startedAt = when Temporal started it, and delayMs the difference.
     */
    readonly recentRuns: readonly ScheduleRecentRun[];
    readonly runningRuns: readonly string[];
  };
  readonly watchers: readonly (
    | DataWatcherStatus
    | {
        readonly watcherId: string;
        readonly path?: string;
        /** Why its state did not answer, in plain words; `detail`: Temporal's text. */
        readonly error: string;
        readonly detail?: string;
      }
  )[];
}

export function parseOverlapName(text: string): OverlapPolicyName {
  const found = OVERLAP_POLICY_NAMES.find((name) => name === text.trim().toLowerCase());
  if (!found)
    throw new InvalidInputError(`overlap '${text}' is not a policy; allowed: ${OVERLAP_POLICY_NAMES.join(', ')}`, {
      code: 'invalid-overlap',
    });
  return found;
}

/** The applied plan's own `schedule:` block, read from the action's input; none when it does not read as one. */
function writtenBlockOf(action: ScheduleDescription['action']): { written?: ScheduleBlock } {
  const input: unknown = action.type === 'startWorkflow' ? action.args?.[0] : undefined;
  const plan =
    typeof input === 'object' && input !== null && 'plan' in input ? (input as PipelineRunInput).plan : undefined;
  const block = plan?.schedule;
  if (!block) return {};
  try {
    return { written: readScheduleBlock(block) };
  } catch {
    return {}; // applied by an older release whose block this one reads differently: Temporal's spec still shows
  }
}

function notFound(pipeline: string, cause?: unknown): InvalidInputError {
  return new InvalidInputError(
    `no schedule for pipeline ${shownInput(pipeline)} (id ${shownInput(scheduleIdForPipeline(pipeline))}); create ` +
      `it with \`fineflow schedule apply FILE\``,
    { code: 'not-found', pipeline },
    cause ? { cause } : undefined,
  );
}

/** Start times still ahead (a schedule's cached next times can lag behind the clock). */
function futureTimes(times: readonly Date[], now = Date.now()): string[] {
  return times.filter((t) => t.getTime() > now).map((t) => t.toISOString());
}

function scheduledRunsOf(info: Pick<ScheduleDescription['info'], 'recentActions'>): ScheduleRecentRun[] {
  return info.recentActions.map((action) => ({
    runId: action.action.workflow.workflowId,
    trigger: 'schedule',
    scheduledAt: action.scheduledAt.toISOString(),
    startedAt: action.takenAt.toISOString(),
    delayMs: action.takenAt.getTime() - action.scheduledAt.getTime(),
  }));
}

/**
 * The schedule's runs and the runs triggered by hand, as one list ordered by start, oldest first, keeping the newest
 * `keep`; a run in both (never expected: their ids differ) is listed once, as scheduled.
 */
export function mergeRecentRuns(
  scheduled: readonly ScheduleRecentRun[],
  manual: readonly ScheduleRecentRun[],
  keep = SCHEDULE_RECENT_RUNS,
): ScheduleRecentRun[] {
  const ids = new Set(scheduled.map((r) => r.runId));
  const all = [...scheduled, ...manual.filter((r) => !ids.has(r.runId))];
  const at = (r: ScheduleRecentRun): number => Date.parse(r.startedAt);
  return all.sort((a, b) => at(a) - at(b)).slice(Math.max(0, all.length - keep));
}

/** The id every run triggered by hand of this schedule starts with (see {@link ScheduleService.trigger}). */
export function manualRunIdPrefix(scheduleId: string): string {
  return `${scheduleId}-manual-`;
}

export class ScheduleService {
  readonly watchers: DataWatchClient;

  constructor(
    private readonly client: Client,
    private readonly options: DataWatchClientOptions = {},
  ) {
    this.watchers = new DataWatchClient(client, options);
  }

  private handle(pipeline: string): ScheduleHandle {
    return this.client.schedule.getHandle(scheduleIdForPipeline(pipeline));
  }

  private async describeOrUndefined(pipeline: string): Promise<ScheduleDescription | undefined> {
    try {
      return await this.handle(pipeline).describe();
    } catch (thrown) {
      if (thrown instanceof ScheduleNotFoundError) return undefined;
      throw thrown;
    }
  }

  private async applySchedule(plan: Plan, options: PipelineScheduleOptions | undefined): Promise<ScheduleOutcome> {
    const existing = await this.describeOrUndefined(plan.pipeline.name);
    if (!options) {
      if (!existing) return 'absent';
      await this.handle(plan.pipeline.name).delete();
      return 'deleted';
    }
    if (!existing) {
      await this.client.schedule.create(options);
      return 'created';
    }
    if (appliedDigestOf(existing) === applyDigestOf(options)) return 'unchanged';
    await this.handle(plan.pipeline.name).update((previous) => scheduleUpdateFor(options, previous));
    return 'updated';
  }

  /** Create or update the schedule and watchers of a validated plan. */
  async apply(plan: Plan): Promise<ApplyResult> {
    const hasSchedule = plan.schedule !== undefined;
    const hasTriggers = readNewDataTriggers(plan).length > 0;
    if (!hasSchedule && !hasTriggers) {
      throw new InvalidInputError(
        `pipeline ${plan.pipeline.name} has neither a schedule: block nor a newData trigger; add one, or remove an ` +
          `existing schedule with \`fineflow schedule delete ${plan.pipeline.name}\``,
        { code: 'nothing-to-schedule', pipeline: plan.pipeline.name },
      );
    }
    // Build (and so check) everything before changing anything.
    const options = hasSchedule
      ? buildScheduleOptions(plan, {
          ...(this.options.bucket ? { bucket: this.options.bucket } : {}),
          ...(this.options.workflowTaskQueue ? { workflowTaskQueue: this.options.workflowTaskQueue } : {}),
          ...(this.options.uiUrl ? { uiUrl: this.options.uiUrl } : {}),
        })
      : undefined;
    const schedule = await this.applySchedule(plan, options);
    const watchers = await this.watchers.apply(plan);
    return {
      pipeline: plan.pipeline.name,
      scheduleId: scheduleIdForPipeline(plan.pipeline.name),
      schedule,
      planDigest: planDigest(plan),
      params: Object.fromEntries(Object.entries(plan.params).map(([name, p]) => [name, p.value])),
      watchers,
      unchanged:
        (schedule === 'unchanged' || schedule === 'absent') && watchers.every((w) => w.outcome === 'unchanged'),
    };
  }

  /** Fineflow's schedules (ids `fineflow-<pipeline>`). */
  async list(): Promise<ScheduleListing[]> {
    const listings: ScheduleListing[] = [];
    for await (const summary of this.client.schedule.list()) {
      const pipeline = pipelineOfScheduleId(summary.scheduleId);
      if (pipeline === undefined) continue;
      const description = await this.describeOrUndefined(pipeline);
      // The listing comes from the visibility store, which may still say a schedule paused a moment ago is active.
      const current = description ?? summary;
      const recentRuns = mergeRecentRuns(
        scheduledRunsOf(current.info),
        await this.manualRuns(pipeline, summary.scheduleId),
      );
      const appliedAt = description
        ? (description.info.lastUpdatedAt ?? description.info.createdAt).toISOString()
        : undefined;
      const newest = recentRuns[recentRuns.length - 1];
      const lastRun = newest
        ? {
            runId: newest.runId,
            startedAt: newest.startedAt,
            result: await this.runResult(newest.runId),
            trigger: newest.trigger,
          }
        : undefined;
      listings.push({
        pipeline,
        scheduleId: summary.scheduleId,
        paused: current.state.paused,
        ...(current.state.note ? { note: current.state.note } : {}),
        nextRuns: current.state.paused ? [] : futureTimes(current.info.nextActionTimes),
        recentRuns,
        ...(appliedAt ? { appliedAt } : {}),
        ...(lastRun ? { lastRun } : {}),
      });
    }
    return listings.sort((a, b) => (a.pipeline < b.pipeline ? -1 : a.pipeline > b.pipeline ? 1 : 0));
  }

  /**
   * The plan each of Fineflow's schedules starts its runs with (its action's input), for `fineflow gc` (the dataset
   * versions they pin). A schedule deleted since the listing is left out; one whose action carries no plan throws,
   * since what it runs cannot be known.
   */
  async appliedPlans(): Promise<{ readonly scheduleId: string; readonly pipeline: string; readonly plan: Plan }[]> {
    const found: { scheduleId: string; pipeline: string; plan: Plan }[] = [];
    for await (const summary of this.client.schedule.list()) {
      const pipeline = pipelineOfScheduleId(summary.scheduleId);
      if (pipeline === undefined) continue;
      const description = await this.describeOrUndefined(pipeline);
      if (!description) continue;
      const input: unknown = description.action.type === 'startWorkflow' ? description.action.args?.[0] : undefined;
      const plan = typeof input === 'object' && input !== null ? (input as Partial<PipelineRunInput>).plan : undefined;
      if (!plan || !Array.isArray(plan.stages))
        throw new InvalidInputError(`schedule ${summary.scheduleId} does not start a pipeline run with a plan`, {
          code: 'not-a-run-schedule',
          scheduleId: summary.scheduleId,
        });
      found.push({ scheduleId: summary.scheduleId, pipeline, plan });
    }
    return found;
  }

  /**
   * The newest runs triggered by hand of this schedule, newest first, from the visibility store: labelled manual and
   * named `<schedule id>-manual-…` (a `fineflow submit` of the same pipeline is manual too, but not the schedule's).
   */
  private async manualRuns(pipeline: string, scheduleId: string): Promise<ScheduleRecentRun[]> {
    const query =
      `${runsQuery(pipeline, 'manual')} AND WorkflowId STARTS_WITH ${quoteQueryValue(manualRunIdPrefix(scheduleId))}` +
      ` AND ExecutionStatus != 'ContinuedAsNew'`;
    const runs: ScheduleRecentRun[] = [];
    for await (const info of this.client.workflow.list({ query, pageSize: SCHEDULE_RECENT_RUNS })) {
      runs.push({ runId: info.workflowId, trigger: 'manual', startedAt: startedAtOf(info) });
      if (runs.length >= SCHEDULE_RECENT_RUNS) break;
    }
    return runs;
  }

  /**
   * How a run ended, in lower case (`completed`, `failed`, `running`, …), or `unknown` when Temporal no longer has it.
   */
  async runResult(runId: string): Promise<string> {
    try {
      return (await this.client.workflow.getHandle(runId).describe()).status.name.toLowerCase();
    } catch (thrown) {
      if (thrown instanceof WorkflowNotFoundError) return 'unknown';
      throw thrown;
    }
  }

  async describe(pipeline: string, plan?: Plan): Promise<ScheduleDetails> {
    const description = await this.describeOrUndefined(pipeline);
    const listed = await this.watchers.list(pipeline);
    const watcherIds = new Set(listed.map((w) => w.watcherId));
    // A watcher's prefix without its query: its memo, or the plan's trigger it was made for.
    const paths = new Map(listed.flatMap((w) => (w.path !== undefined ? [[w.watcherId, w.path] as const] : [])));
    for (const trigger of plan ? readNewDataTriggers(plan) : []) {
      watcherIds.add(watcherIdFor(pipeline, trigger.path));
      if (!paths.has(watcherIdFor(pipeline, trigger.path)))
        paths.set(watcherIdFor(pipeline, trigger.path), trigger.path);
    }
    if (!description && watcherIds.size === 0) throw notFound(pipeline);
    const watchers = await Promise.all(
      [...watcherIds].sort().map(async (watcherId) => {
        try {
          return await this.watchers.status(watcherId);
        } catch (thrown) {
          const path = paths.get(watcherId);
          return { watcherId, ...(path !== undefined ? { path } : {}), ...unansweredOf(thrown) };
        }
      }),
    );
    const memo = description?.action.memo ?? {};
    return {
      pipeline,
      scheduleId: scheduleIdForPipeline(pipeline),
      ...(description
        ? {
            schedule: {
              paused: description.state.paused,
              ...(description.state.note ? { note: description.state.note } : {}),
              spec: description.spec,
              ...writtenBlockOf(description.action),
              overlap: overlapPolicyName(description.policies.overlap),
              catchupWindowMs: description.policies.catchupWindow,
              pauseOnFailure: description.policies.pauseOnFailure,
              ...(typeof memo.planDigest === 'string' ? { planDigest: memo.planDigest } : {}),
              ...(memo.params !== undefined ? { params: memo.params } : {}),
              ...(typeof memo.source === 'string' ? { source: memo.source } : {}),
              runsTaken: description.info.numActionsTaken,
              missedCatchupWindow: description.info.numActionsMissedCatchupWindow,
              skippedOverlap: description.info.numActionsSkippedOverlap,
              createdAt: description.info.createdAt.toISOString(),
              ...(description.info.lastUpdatedAt
                ? { lastUpdatedAt: description.info.lastUpdatedAt.toISOString() }
                : {}),
              nextRuns: description.state.paused ? [] : futureTimes(description.info.nextActionTimes),
              recentRuns: mergeRecentRuns(
                scheduledRunsOf(description.info),
                await this.manualRuns(pipeline, description.scheduleId),
              ),
              runningRuns: description.info.runningActions.map((a) => a.workflow.workflowId),
            },
          }
        : {}),
      watchers,
    };
  }

  private async existing(pipeline: string): Promise<ScheduleHandle> {
    if (!(await this.describeOrUndefined(pipeline))) throw notFound(pipeline);
    return this.handle(pipeline);
  }

  /** The schedule (if any) and running watchers of a pipeline; not found when it has neither. */
  private async targets(
    pipeline: string,
    plan?: Plan,
  ): Promise<{ schedule?: ScheduleDescription; watcherIds: string[] }> {
    const schedule = await this.describeOrUndefined(pipeline);
    const watcherIds = new Set((await this.watchers.list(pipeline)).map((w) => w.watcherId));
    for (const trigger of plan ? readNewDataTriggers(plan) : []) watcherIds.add(watcherIdFor(pipeline, trigger.path));
    if (!schedule && watcherIds.size === 0) throw notFound(pipeline);
    return { ...(schedule ? { schedule } : {}), watcherIds: [...watcherIds].sort() };
  }

  /**
   * Pause the schedule and the data watchers: no new run starts (watchers keep looking; `describe` shows what they
   * see).
   */
  async pause(pipeline: string, note?: string, plan?: Plan): Promise<void> {
    const { schedule, watcherIds } = await this.targets(pipeline, plan);
    const text = note ?? 'paused with fineflow schedule pause';
    if (schedule) await this.handle(pipeline).pause(text);
    for (const watcherId of watcherIds) await this.watchers.signal(watcherId, DATA_WATCHER_SIGNALS.pause, text);
  }

  /** Unpause both; a watcher then runs the newest version if it changed while paused. */
  async unpause(pipeline: string, note?: string, plan?: Plan): Promise<void> {
    const { schedule, watcherIds } = await this.targets(pipeline, plan);
    if (schedule) await this.handle(pipeline).unpause(note ?? 'unpaused with fineflow schedule unpause');
    for (const watcherId of watcherIds) await this.watchers.signal(watcherId, DATA_WATCHER_SIGNALS.unpause);
  }

  /**
   * Start one run now, named and labelled as manual (`<schedule id>-manual-<time>`, trigger
   * `manual`), so it never shares an id or `runs/<id>/` with a scheduled start in the same second.
   * With a schedule: its plan, refused while a run of it is going unless `overlap` is `allow-all`.
   * With only data watchers: each runs the version its prefix holds (after the going run, if any).
   */
  async trigger(
    pipeline: string,
    overlap?: OverlapPolicyName,
    plan?: Plan,
  ): Promise<{ runIds: string[]; watcherIds: string[] }> {
    const { schedule, watcherIds } = await this.targets(pipeline, plan);
    if (!schedule) {
      for (const watcherId of watcherIds) await this.watchers.signal(watcherId, DATA_WATCHER_SIGNALS.trigger);
      return { runIds: [], watcherIds };
    }
    const going = schedule.info.runningActions.map((a) => a.workflow.workflowId);
    const policy = overlap ?? overlapPolicyName(schedule.policies.overlap) ?? 'skip';
    if (going.length > 0 && policy !== 'allow-all') {
      throw new InvalidInputError(
        `a run of ${pipeline} is going (${going.join(', ')}) and the overlap policy is ${policy}: nothing started`,
        { code: 'run-going', pipeline },
      );
    }
    const action = schedule.action;
    if (action.type !== 'startWorkflow')
      throw new InvalidInputError(`schedule ${schedule.scheduleId} does not start a workflow`, {
        code: 'not-a-run-schedule',
      });
    const scheduled = action.args?.[0] as PipelineRunInput | undefined;
    if (!scheduled?.plan)
      throw new InvalidInputError(`schedule ${schedule.scheduleId} has no pipeline run input; apply the file again`, {
        code: 'not-a-run-schedule',
      });
    const now = new Date();
    const stamp = `${now.toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(16).slice(2, 6)}`;
    const runId = `${manualRunIdPrefix(schedule.scheduleId)}${stamp}`;
    const input: PipelineRunInput = { ...scheduled, trigger: { kind: 'manual', scheduleId: schedule.scheduleId } };
    await this.client.workflow.start(pipelineRun, {
      workflowId: runId,
      taskQueue: action.taskQueue,
      args: [input],
      workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT_MS,
      memo: {
        ...(action.memo ?? {}),
        trigger: 'manual',
        ...(this.options.uiUrl ? { [RUN_PAGE_MEMO]: runPageUrl(this.options.uiUrl, runId) } : {}),
      },
      ...(this.options.uiUrl ? { staticDetails: runPageDetails(this.options.uiUrl, runId) } : {}),
      typedSearchAttributes: searchAttributesForRun(pipeline, 'manual'),
      staticSummary: `manual trigger of schedule ${schedule.scheduleId}`,
    });
    return { runIds: [runId], watcherIds: [] };
  }

  /**
   * Start the runs the schedule would have started between `from` and `to`, both included
   * (Temporal's backfill; it works on a paused schedule too). Default overlap for a backfill is
   * `allow-all`, so every missed time gets its run even though the runs overlap.
   */
  async backfill(pipeline: string, from: Date, to: Date, overlap: OverlapPolicyName = 'allow-all'): Promise<void> {
    if (!(from.getTime() < to.getTime())) {
      throw new InvalidInputError(
        `backfill window is empty: --from ${from.toISOString()} is not before --to ${to.toISOString()}`,
        { code: 'invalid-window' },
      );
    }
    const handle = await this.existing(pipeline);
    const policy: ScheduleOverlapPolicy = temporalOverlapPolicy(overlap);
    await handle.backfill({ start: from, end: to, overlap: policy });
  }

  /** Delete the schedule and stop the pipeline's watchers; runs already started go on. */
  async delete(pipeline: string, plan?: Plan): Promise<{ schedule: 'deleted' | 'absent'; watchers: WatcherChange[] }> {
    let schedule: 'deleted' | 'absent' = 'absent';
    try {
      await this.handle(pipeline).delete();
      schedule = 'deleted';
    } catch (thrown) {
      if (!(thrown instanceof ScheduleNotFoundError)) throw thrown;
    }
    const watchers = await this.watchers.stopForPlan(plan, pipeline);
    if (schedule === 'absent' && watchers.length === 0) throw notFound(pipeline);
    return { schedule, watchers };
  }
}
