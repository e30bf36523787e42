/**
 * A validated plan's `schedule:` block → the options of a Temporal Schedule whose action starts
 * the `pipelineRun` workflow. Pure mapping (no connection): `schedule-client.ts` sends the
 * result to Temporal; the unit tests check every field here.
 *
 * Identity: one schedule per pipeline, id `fineflow-<pipeline>`. The schedule's memo records
 * what it was created from; the action's memo (which an update can change, unlike the
 * schedule's own memo) records the digest of the plan the next run will execute, so a second
 * `apply` of the same file is recognised as "unchanged".
 */
import { canonicalJson, sha256Hex } from '../canonical-json';
import {
  DAYS_OF_WEEK,
  MONTHS,
  type CalendarSpec,
  type DayOfWeek,
  type LooseRange,
  type Month,
  type Range,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleOverlapPolicy,
  type ScheduleSpec,
  type ScheduleUpdateOptions,
  type ScheduleDescription,
} from '@temporalio/client';
import { InvalidInputError } from '../core/errors';
import type { pipelineRun } from '../../workflows/pipeline-run';
import type { JsonValue, Plan } from '../core/spec/plan-types';
import type { PipelineRunInput } from '../core/run/run-types';
import { RUN_WORKFLOW_TASK_TIMEOUT_MS, WORKFLOW_TYPES } from '../core/run/run-types';
import {
  readScheduleBlock,
  type CalendarEntry,
  type CalendarFieldValue,
  type OverlapPolicyName,
  type ScheduleBlock,
} from './schedule-block';
import { searchAttributesForRun } from '../core/schedules/schedule-search-attributes';
import { CONTROL_POOL, taskQueueForPool } from '../core/run/task-queues';

export const SCHEDULE_ID_PREFIX = 'fineflow-';

export function scheduleIdForPipeline(pipeline: string): string {
  return `${SCHEDULE_ID_PREFIX}${pipeline}`;
}

/** The pipeline a Fineflow schedule id belongs to, or undefined for someone else's schedule. */
export function pipelineOfScheduleId(scheduleId: string): string | undefined {
  return scheduleId.startsWith(SCHEDULE_ID_PREFIX) ? scheduleId.slice(SCHEDULE_ID_PREFIX.length) : undefined;
}

/** Temporal appends the scheduled time to this id, e.g. `defects-scheduled-2026-01-31T03:00:00Z`. */
export function scheduledRunIdPrefix(pipeline: string): string {
  return `${pipeline}-scheduled`;
}

/** Content digest of a plan: what a run would execute. `source` (a file path) is left out. */
export function planDigest(plan: Plan): string {
  const { source: _source, ...content } = plan;
  return sha256Hex(canonicalJson(content));
}

/** The values a plan runs with, by param name (what `--set` changed). */
export function planParamValues(plan: Plan): Record<string, JsonValue> {
  return Object.fromEntries(Object.entries(plan.params).map(([name, param]) => [name, param.value]));
}

const OVERLAP_TO_TEMPORAL: Readonly<Record<OverlapPolicyName, Exclude<ScheduleOverlapPolicy, undefined>>> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
};

export function temporalOverlapPolicy(name: OverlapPolicyName): Exclude<ScheduleOverlapPolicy, undefined> {
  return OVERLAP_TO_TEMPORAL[name];
}

export function overlapPolicyName(policy: ScheduleOverlapPolicy): OverlapPolicyName | undefined {
  return (Object.keys(OVERLAP_TO_TEMPORAL) as OverlapPolicyName[]).find((name) => OVERLAP_TO_TEMPORAL[name] === policy);
}

function monthName(value: number | string, path: string): Month {
  if (typeof value === 'number') {
    const name = MONTHS[value - 1];
    if (name) return name;
  } else {
    const name = MONTHS.find((m) => m === value || (value.length === 3 && m.startsWith(value)));
    if (name) return name;
  }
  throw new InvalidInputError(`${path}: ${value} is not a month; write 1-12 or JANUARY…DECEMBER`, {
    path,
    code: 'invalid-schedule',
  });
}

function dayOfWeekName(value: number | string, path: string): DayOfWeek {
  if (typeof value === 'number') {
    // Cron numbers Sunday 0 and 7.
    const name = Number.isInteger(value) && value >= 0 && value <= 7 ? DAYS_OF_WEEK[value % 7] : undefined;
    if (name) return name;
  } else {
    const name = DAYS_OF_WEEK.find((d) => d === value || (value.length === 3 && d.startsWith(value)));
    if (name) return name;
  }
  throw new InvalidInputError(`${path}: ${value} is not a day of the week; write 0-6 (Sunday 0) or SUNDAY…SATURDAY`, {
    path,
    code: 'invalid-schedule',
  });
}

function numeric(value: number | string, path: string): number {
  if (typeof value === 'number') return value;
  throw new InvalidInputError(`${path}: '${value}' is not a number`, { path, code: 'invalid-schedule' });
}

function mapField<Unit>(
  field: CalendarFieldValue | undefined,
  unit: (value: number | string, path: string) => Unit,
  path: string,
): LooseRange<Unit>[] | '*' | undefined {
  if (field === undefined) return undefined;
  if (field === '*') return '*';
  return field.map((range): Range<Unit> => ({
    start: unit(range.start, path),
    end: unit(range.end, path),
    step: range.step,
  }));
}

export function temporalCalendar(entry: CalendarEntry, path = 'schedule.calendar'): CalendarSpec {
  const spec: CalendarSpec = {};
  const second = mapField(entry.second, numeric, `${path}.second`);
  const minute = mapField(entry.minute, numeric, `${path}.minute`);
  const hour = mapField(entry.hour, numeric, `${path}.hour`);
  const dayOfMonth = mapField(entry.dayOfMonth, numeric, `${path}.dayOfMonth`);
  const month = mapField(entry.month, monthName, `${path}.month`);
  const year = mapField(entry.year, numeric, `${path}.year`);
  const dayOfWeek = mapField(entry.dayOfWeek, dayOfWeekName, `${path}.dayOfWeek`);
  return {
    ...spec,
    ...(second !== undefined ? { second } : {}),
    ...(minute !== undefined ? { minute } : {}),
    ...(hour !== undefined ? { hour } : {}),
    ...(dayOfMonth !== undefined ? { dayOfMonth } : {}),
    ...(month !== undefined ? { month } : {}),
    ...(year !== undefined ? { year } : {}),
    ...(dayOfWeek !== undefined ? { dayOfWeek } : {}),
    ...(entry.comment ? { comment: entry.comment } : {}),
  };
}

export function temporalScheduleSpec(block: ScheduleBlock): ScheduleSpec {
  return {
    ...(block.cron.length > 0 ? { cronExpressions: [...block.cron] } : {}),
    ...(block.intervals.length > 0
      ? { intervals: block.intervals.map((i) => ({ every: i.everyMs, ...(i.offsetMs ? { offset: i.offsetMs } : {}) })) }
      : {}),
    ...(block.calendars.length > 0
      ? { calendars: block.calendars.map((c, i) => temporalCalendar(c, `schedule.calendar[${i}]`)) }
      : {}),
    ...(block.skip.length > 0 ? { skip: block.skip.map((c, i) => temporalCalendar(c, `schedule.skip[${i}]`)) } : {}),
    ...(block.timezone ? { timezone: block.timezone } : {}),
    ...(block.jitterMs !== undefined ? { jitter: block.jitterMs } : {}),
    ...(block.startAt ? { startAt: new Date(block.startAt) } : {}),
    ...(block.endAt ? { endAt: new Date(block.endAt) } : {}),
  };
}

/** Memo keys on the schedule action (and so on every run it starts). */
export interface ScheduledRunMemo {
  readonly pipeline: string;
  readonly trigger: 'schedule';
  readonly scheduleId: string;
  /** Digest of the plan the run executes. */
  readonly planDigest: string;
  /** Digest of everything `apply` sends (plan + schedule options): equal means "unchanged". */
  readonly applyDigest: string;
  readonly params: Record<string, JsonValue>;
  readonly source?: string;
}

/** Typed by the workflow function, so the compiler checks `args` (the type name stays a string: see WORKFLOW_TYPES). */
export type PipelineScheduleAction = ScheduleOptionsStartWorkflowAction<typeof pipelineRun>;
export type PipelineScheduleOptions = ScheduleOptions<PipelineScheduleAction>;

/**
 * The Temporal Schedule for a validated plan. Throws InvalidInputError when the plan has no
 * `schedule:` block or a field of it does not fit.
 */
export interface BuildScheduleOptions {
  /** Bucket of runs/, cache/ and models/ passed to each run (the client's FINEFLOW_BUCKET). */
  readonly bucket?: string;
  /** Task queue of the pipelineRun workflows; default the control pool's. Tests use their own. */
  readonly workflowTaskQueue?: string;
  /** Base URL of `fineflow ui` (FINEFLOW_UI_URL): each run links back to its page there (PipelineRunInput.uiUrl). */
  readonly uiUrl?: string;
}

export function buildScheduleOptions(plan: Plan, options: BuildScheduleOptions = {}): PipelineScheduleOptions {
  if (!plan.schedule) {
    throw new InvalidInputError(`pipeline ${plan.pipeline.name} has no schedule: block`, {
      code: 'no-schedule',
      pipeline: plan.pipeline.name,
    });
  }
  const block = readScheduleBlock(plan.schedule);
  const pipeline = plan.pipeline.name;
  const scheduleId = scheduleIdForPipeline(pipeline);
  const input: PipelineRunInput = {
    plan,
    trigger: { kind: 'schedule', scheduleId },
    ...(options.bucket ? { bucket: options.bucket } : {}),
    ...(options.uiUrl ? { uiUrl: options.uiUrl } : {}),
  };
  const spec = temporalScheduleSpec(block);
  const policies = {
    overlap: temporalOverlapPolicy(block.overlap),
    ...(block.catchupWindowMs !== undefined ? { catchupWindow: block.catchupWindowMs } : {}),
    pauseOnFailure: block.pauseOnFailure,
  };
  const digest = planDigest(plan);
  const params = planParamValues(plan);
  // The task timeout is in the digest so that schedules applied before it existed (Temporal's
  // default 10 s) are told apart and updated by the next `apply` of the same file.
  // The UI link only when set, so schedules applied without one keep their digest.
  const applyDigest = sha256Hex(
    canonicalJson({
      digest,
      spec,
      policies,
      workflowTaskTimeoutMs: RUN_WORKFLOW_TASK_TIMEOUT_MS,
      ...(options.uiUrl ? { uiUrl: options.uiUrl } : {}),
    }),
  );
  const memo: ScheduledRunMemo = {
    pipeline,
    trigger: 'schedule',
    scheduleId,
    planDigest: digest,
    applyDigest,
    params,
    ...(plan.source ? { source: plan.source } : {}),
  };
  return {
    scheduleId,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPES.pipelineRun,
      workflowId: scheduledRunIdPrefix(pipeline),
      taskQueue: options.workflowTaskQueue ?? taskQueueForPool(CONTROL_POOL),
      // As `fineflow submit` starts runs: a loaded control worker must not lose its tasks to Temporal's 10 s default.
      workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT_MS,
      args: [input],
      memo: { ...memo },
      typedSearchAttributes: searchAttributesForRun(pipeline, 'schedule'),
      staticSummary: `scheduled run of ${pipeline}`,
    },
    policies,
    memo: { pipeline, createdWithPlanDigest: digest, params, ...(plan.source ? { source: plan.source } : {}) },
    typedSearchAttributes: searchAttributesForRun(pipeline, 'schedule'),
    state: { paused: block.paused, ...(block.note ? { note: block.note } : {}) },
  };
}

/**
 * The update that turns an existing schedule into `options`, keeping its paused state and note:
 * re-applying a file must not resume a schedule someone paused on purpose.
 */
export function scheduleUpdateFor(
  options: PipelineScheduleOptions,
  previous: Pick<ScheduleDescription, 'state'>,
): ScheduleUpdateOptions<PipelineScheduleAction> {
  return {
    spec: options.spec,
    action: options.action,
    ...(options.policies ? { policies: options.policies } : {}),
    ...(options.typedSearchAttributes ? { typedSearchAttributes: options.typedSearchAttributes } : {}),
    state: {
      paused: previous.state.paused,
      ...(previous.state.note !== undefined
        ? { note: previous.state.note }
        : options.state?.note
          ? { note: options.state.note }
          : {}),
      ...(previous.state.remainingActions !== undefined ? { remainingActions: previous.state.remainingActions } : {}),
    },
  };
}

/** The apply digest a schedule's action carries, or undefined for a schedule Fineflow did not write. */
export function appliedDigestOf(description: {
  readonly action: { readonly memo?: Record<string, unknown> };
}): string | undefined {
  const digest = description.action.memo?.applyDigest;
  return typeof digest === 'string' ? digest : undefined;
}

export function applyDigestOf(options: PipelineScheduleOptions): string {
  const digest = options.action.memo?.applyDigest;
  if (typeof digest !== 'string')
    throw new InvalidInputError('schedule options carry no applyDigest', { scheduleId: options.scheduleId });
  return digest;
}
