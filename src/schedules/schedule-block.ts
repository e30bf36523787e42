/**
 * Typed views of a plan's `schedule:` block and `triggers:` list. The spec (src/spec) has
 * already validated both and hands them over as plain JSON; this module reads that JSON into
 * the types below without casting, so a plan written by hand (or by an older spec) that does
 * not fit still fails with a message naming the field. Pure: workflow code may import it.
 */
import { InvalidInputError } from '../core/errors';
import type { JsonObject, JsonValue, Plan } from '../core/spec/plan-types';
import { DURATION_HINT, formatDuration, parseDuration } from '../core/spec/durations';
import { unknownNameHint } from '../core/spec/suggest';
import { checkCron, CRON_HINT } from '../spec/cron';
import { ownValue } from '../core/spec/reserved';
import { timeZoneProblem } from './time-zone';

/** How a schedule treats an action that falls due while the previous run is still going. */
export type OverlapPolicyName = 'skip' | 'buffer-one' | 'buffer-all' | 'cancel-other' | 'terminate-other' | 'allow-all';

export const OVERLAP_POLICY_NAMES: readonly OverlapPolicyName[] = [
  'skip',
  'buffer-one',
  'buffer-all',
  'cancel-other',
  'terminate-other',
  'allow-all',
];

/** One calendar field: `*`, a value, a range with optional step, or a list of those. */
export type CalendarFieldValue = '*' | readonly CalendarRange[];

export interface CalendarRange {
  /** Number (second, minute, hour, dayOfMonth, year) or name (`MONDAY`, `JANUARY`). */
  readonly start: number | string;
  readonly end: number | string;
  readonly step: number;
}

/** One `calendar:` entry; an absent field means its default (0 for time-of-day, `*` otherwise). */
export interface CalendarEntry {
  readonly second?: CalendarFieldValue;
  readonly minute?: CalendarFieldValue;
  readonly hour?: CalendarFieldValue;
  readonly dayOfMonth?: CalendarFieldValue;
  readonly month?: CalendarFieldValue;
  readonly year?: CalendarFieldValue;
  readonly dayOfWeek?: CalendarFieldValue;
  readonly comment?: string;
}

export interface IntervalEntry {
  readonly everyMs: number;
  /** Phase of the interval relative to the Unix epoch. */
  readonly offsetMs: number;
}

/** The `schedule:` block of a pipeline, with durations in milliseconds. */
export interface ScheduleBlock {
  /** Cron expressions (5 or 6 fields, or `@daily`-style). */
  readonly cron: readonly string[];
  readonly intervals: readonly IntervalEntry[];
  readonly calendars: readonly CalendarEntry[];
  /** Calendar entries to leave out (holidays …). */
  readonly skip: readonly CalendarEntry[];
  /** IANA time zone for cron and calendar entries; default UTC. */
  readonly timezone?: string;
  /** Each action is delayed by a random amount up to this. */
  readonly jitterMs?: number;
  readonly startAt?: string;
  readonly endAt?: string;
  readonly overlap: OverlapPolicyName;
  /** Actions missed while the server was down are run when they are at most this late. */
  readonly catchupWindowMs?: number;
  /** Pause the schedule when a run it started fails. */
  readonly pauseOnFailure: boolean;
  /** Create the schedule paused (an existing schedule keeps its paused state on apply). */
  readonly paused: boolean;
  /** Free text shown by `schedule describe`. */
  readonly note?: string;
}

/** What the data watcher does with a new version while a run it started is still going. */
export type NewDataOverlapPolicy = 'skip' | 'queue';

/** A `triggers: - newData: {…}` entry, with durations in milliseconds. */
export interface NewDataTrigger {
  /** Index in the plan's `triggers` list (for messages). */
  readonly index: number;
  /** Watched prefix, `s3://bucket/prefix/`, with `${{ params.x }}` already resolved. */
  readonly path: string;
  /** A new version must stay unchanged this long before a run starts. */
  readonly debounceMs: number;
  readonly pollIntervalMs: number;
  readonly overlap: NewDataOverlapPolicy;
  /** Objects that must have been added since the last run; 1 = any change starts a run. */
  readonly minObjects: number;
  /** A return to a version that already ran: `retrain`, or only recorded (absent = `ignore`). */
  readonly onRevert?: 'ignore' | 'retrain';
}

/** Same defaults as the spec's TRIGGER_SCHEMA. */
export const NEW_DATA_DEFAULTS = {
  debounceMs: 600_000,
  pollIntervalMs: 60_000,
  overlap: 'queue' as NewDataOverlapPolicy,
};

/** Every `default` overlap when the YAML says nothing: like Argo's `concurrencyPolicy: Forbid`. */
export const DEFAULT_SCHEDULE_OVERLAP: OverlapPolicyName = 'skip';

function invalid(path: string, problem: string, allowed: string): InvalidInputError {
  return new InvalidInputError(`${path}: ${problem}; ${allowed}`, { path, code: 'invalid-schedule' });
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: JsonValue | undefined): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/** A duration as a string (`10m`) or a number of milliseconds; `<name>Ms` is read too. */
function readDuration(block: JsonObject, name: string, path: string): number | undefined {
  const value = block[name] ?? block[`${name}Ms`];
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw invalid(
      `${path}.${name}`,
      `${describe(value)} is not a duration`,
      'write a number with a unit: 500ms, 30s, 5m, 2h, 7d',
    );
  }
  return ms;
}

function readString(block: JsonObject, name: string, path: string): string | undefined {
  const value = block[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${path}.${name}`, `${describe(value)} is not a string`, 'write text');
  return value;
}

/** Why a schedule field would be refused, where, and what to write instead. */
export interface ScheduleProblem {
  /** Dotted path of the field, e.g. `schedule.calendar[0].hour`. */
  readonly path: string;
  /** Diagnostic code `fineflow validate` reports it under. */
  readonly code: 'missing-key' | 'bad-cron' | 'bad-timezone' | 'bad-value' | 'bad-interval' | 'bad-calendar';
  readonly problem: string;
  readonly hint: string;
}

/** Collects every problem of a block; each reader returns undefined for a field it refused. */
class ScheduleProblems {
  readonly list: ScheduleProblem[] = [];

  refuse(path: string, code: ScheduleProblem['code'], problem: string, hint: string): undefined {
    this.list.push({ path, code, problem, hint });
    return undefined;
  }
}

/** Temporal raises any catch-up window below 10 s to 10 s; refuse it instead of silently running late starts. */
const TEMPORAL_MIN_CATCHUP_MS = 10_000;
/** Temporal refuses a calendar comment longer than this. */
const TEMPORAL_MAX_COMMENT = 200;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

function checkDuration(
  problems: ScheduleProblems,
  value: JsonValue | undefined,
  path: string,
  minimumMs = 0,
): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || !Number.isFinite(ms) || ms < 0)
    return problems.refuse(path, 'bad-value', `${describe(value)} is not a duration`, DURATION_HINT);
  if (ms < minimumMs)
    return problems.refuse(
      path,
      path.endsWith('catchupWindow') ? 'bad-value' : 'bad-interval',
      `${describe(value)} is below Temporal's minimum of ${minimumMs / 1000}s`,
      `write ${minimumMs / 1000}s or more, e.g. ${path.endsWith('catchupWindow') ? '1m' : '1h'}`,
    );
  return ms;
}

function checkText(problems: ScheduleProblems, value: JsonValue | undefined, path: string): string | undefined {
  if (value === undefined || value === null || typeof value === 'string') return value ?? undefined;
  return problems.refuse(path, 'bad-value', `${describe(value)} is not text`, 'write the text in quotes');
}

function checkTimestamp(problems: ScheduleProblems, value: JsonValue | undefined, path: string): string | undefined {
  const text = checkText(problems, value, path);
  if (text === undefined) return undefined;
  const ms = ISO_TIMESTAMP.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms))
    return problems.refuse(
      path,
      'bad-value',
      `${JSON.stringify(text)} is not an ISO 8601 date-time`,
      'write e.g. 2026-01-31T03:00:00Z (date, T, time, then Z or an offset like +01:00)',
    );
  return new Date(ms).toISOString();
}

function checkCronList(problems: ScheduleProblems, value: JsonValue | undefined, path: string): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.length === 0)
    return (problems.refuse(path, 'bad-cron', 'the list is empty', CRON_HINT), []);
  const items = Array.isArray(value) ? value : [value];
  const crons: string[] = [];
  items.forEach((item, i) => {
    const itemPath = Array.isArray(value) ? `${path}[${i}]` : path;
    const problem = typeof item === 'string' ? checkCron(item) : `${describe(item)} is not text`;
    if (problem) problems.refuse(itemPath, 'bad-cron', `bad cron expression ${describe(item)}: ${problem}`, CRON_HINT);
    else crons.push((item as string).trim());
  });
  return crons;
}

/**
 * The block-level `offset` (already checked: `ms` is absent when it is missing or refused), for intervals without their
 * own.
 */
interface TopOffset {
  readonly value: JsonValue | undefined;
  readonly ms: number | undefined;
  readonly path: string;
}

function checkInterval(
  problems: ScheduleProblems,
  value: JsonValue,
  top: TopOffset,
  path: string,
): IntervalEntry | undefined {
  if (typeof value === 'string' || typeof value === 'number') {
    const everyMs = checkDuration(problems, value, path, 1000);
    return everyMs === undefined ? undefined : checkPhase(problems, everyMs, top);
  }
  if (isObject(value)) {
    const key = value.interval !== undefined ? 'interval' : 'every';
    if (value[key] === undefined)
      return problems.refuse(
        `${path}.interval`,
        'missing-key',
        'an interval entry needs `interval`',
        'write e.g. {interval: 1h, offset: 5m}',
      );
    const everyMs = checkDuration(problems, value[key], `${path}.${key}`, 1000);
    if (value.offset === undefined) return everyMs === undefined ? undefined : checkPhase(problems, everyMs, top);
    const own = {
      value: value.offset,
      ms: checkDuration(problems, value.offset, `${path}.offset`),
      path: `${path}.offset`,
    };
    return everyMs === undefined || own.ms === undefined ? undefined : checkPhase(problems, everyMs, own);
  }
  return problems.refuse(
    path,
    'bad-interval',
    `${describe(value)} is not an interval`,
    'write a duration (6h) or {interval: 6h, offset: 30m}',
  );
}

/** Temporal's interval phase: 0 ≤ offset < interval. */
function checkPhase(problems: ScheduleProblems, everyMs: number, offset: TopOffset): IntervalEntry | undefined {
  const offsetMs = offset.ms ?? 0;
  if (offsetMs >= everyMs)
    return problems.refuse(
      offset.path,
      'bad-interval',
      `offset ${describe(offset.value)} is not shorter than the interval (${formatDuration(everyMs)})`,
      `write an offset below ${formatDuration(everyMs)}, e.g. the remainder: ${formatDuration(offsetMs % everyMs)}`,
    );
  return { everyMs, offsetMs };
}

const CALENDAR_FIELDS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'year', 'dayOfWeek'] as const;
type CalendarField = (typeof CALENDAR_FIELDS)[number];

const MONTH_NAMES = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
];
const DAY_NAMES = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/**
 * Each calendar field as Temporal's server checks it (`validateStructuredCalendar`): values in
 * [min, max]; month and day of week also by name (`names[i]` is value `first + i`). Day 7 is cron's
 * second Sunday and becomes 0, as Temporal's own cron parser does.
 */
const CALENDAR_UNITS: Readonly<
  Record<CalendarField, { min: number; max: number; names?: readonly string[]; first?: number; example: string }>
> = {
  second: { min: 0, max: 59, example: '0, "*/15" or "0-29"' },
  minute: { min: 0, max: 59, example: '30, "*/15" or "0-29"' },
  hour: { min: 0, max: 23, example: '3, "9-17" or [6, 18]' },
  dayOfMonth: { min: 1, max: 31, example: '1, "1-7" or [1, 15]' },
  month: { min: 1, max: 12, names: MONTH_NAMES, first: 1, example: 'JANUARY, 1, "MAR-MAY" or [1, 7]' },
  year: { min: 2000, max: 2100, example: '2027 or "2027-2030"' },
  dayOfWeek: { min: 0, max: 7, names: DAY_NAMES, first: 0, example: 'MONDAY, "MON-FRI" or [SATURDAY, SUNDAY]' },
};

function allowedText(field: CalendarField): string {
  const unit = CALENDAR_UNITS[field];
  const names = unit.names
    ? ` or ${unit.names[0]}…${unit.names[unit.names.length - 1]} (or their first 3 letters)`
    : '';
  return `write a ${field} value in ${unit.min}-${unit.max}${names}, e.g. ${unit.example}`;
}

/** One calendar value (number or name) as the number Temporal stores; undefined when the field has no such value. */
function calendarNumber(text: string | number, field: CalendarField): number | undefined {
  const unit = CALENDAR_UNITS[field];
  if (typeof text === 'number' || /^\d+$/.test(text)) {
    const n = Number(text);
    if (!Number.isInteger(n) || n < unit.min || n > unit.max) return undefined;
    return field === 'dayOfWeek' ? n % 7 : n;
  }
  const upper = text.toUpperCase();
  const index = unit.names?.findIndex((name) => name === upper || (upper.length === 3 && name.startsWith(upper)));
  return index === undefined || index < 0 ? undefined : index + (unit.first ?? 0);
}

/** A calendar number back as what the Temporal SDK takes: a name for month and day of week. */
function calendarValue(n: number, field: CalendarField): number | string {
  const unit = CALENDAR_UNITS[field];
  return unit.names ? (unit.names[n - (unit.first ?? 0)] as string) : n;
}

const RANGE_TEXT = /^([A-Za-z]+|\d+)(?:-([A-Za-z]+|\d+))?(?:\/(\d+))?$/;

function rangeParts(
  value: JsonValue,
  field: CalendarField,
): { start: JsonValue; end: JsonValue; step: JsonValue } | undefined {
  if (typeof value === 'number') return { start: value, end: value, step: 1 };
  if (typeof value === 'string') {
    const stepAll = /^\*\/(\d+)$/.exec(value.trim());
    const unit = CALENDAR_UNITS[field];
    if (stepAll) return { start: unit.min, end: field === 'dayOfWeek' ? 6 : unit.max, step: Number(stepAll[1]) };
    const match = RANGE_TEXT.exec(value.trim());
    if (match) return { start: match[1] as string, end: match[2] ?? (match[1] as string), step: Number(match[3] ?? 1) };
    return undefined;
  }
  return undefined;
}

function checkCalendarRange(
  problems: ScheduleProblems,
  value: JsonValue,
  field: CalendarField,
  path: string,
): CalendarRange | undefined {
  const parts = rangeParts(value, field);
  if (!parts)
    return problems.refuse(path, 'bad-calendar', `${describe(value)} is not a calendar value`, allowedText(field));
  const asNumber = (v: JsonValue): number | undefined =>
    typeof v === 'number' || typeof v === 'string' ? calendarNumber(v, field) : undefined;
  const start = asNumber(parts.start);
  const end = asNumber(parts.end);
  if (start === undefined || end === undefined) {
    const bad = start === undefined ? parts.start : parts.end;
    return problems.refuse(path, 'bad-calendar', `${describe(bad)} is not a valid ${field}`, allowedText(field));
  }
  if (typeof parts.step !== 'number' || !Number.isInteger(parts.step) || parts.step < 1)
    return problems.refuse(
      path,
      'bad-calendar',
      `step ${describe(parts.step)} does not advance`,
      'write a step of 1 or more, e.g. "*/15"',
    );
  if (end < start)
    return problems.refuse(
      path,
      'bad-calendar',
      `${describe(value)} ends before it starts (${field} ${end} < ${start})`,
      field === 'dayOfWeek'
        ? 'write [FRIDAY-SATURDAY, SUNDAY] instead of FRIDAY-SUNDAY: Temporal counts days from SUNDAY (0) ' +
            'to SATURDAY (6)'
        : `write the smaller value first, or a list of two ranges that wraps around`,
    );
  return { start: calendarValue(start, field), end: calendarValue(end, field), step: parts.step };
}

function checkCalendarField(
  problems: ScheduleProblems,
  value: JsonValue,
  field: CalendarField,
  path: string,
): CalendarFieldValue | undefined {
  if (value === '*') return '*';
  const items = Array.isArray(value) ? value : [value];
  const ranges = items.map((item, i) =>
    checkCalendarRange(problems, item, field, Array.isArray(value) ? `${path}[${i}]` : path),
  );
  return ranges.every((r): r is CalendarRange => r !== undefined) ? ranges : undefined;
}

function checkCalendarEntry(problems: ScheduleProblems, value: JsonValue, path: string): CalendarEntry | undefined {
  if (!isObject(value))
    return problems.refuse(
      path,
      'bad-calendar',
      `${describe(value)} is not a calendar entry`,
      'write e.g. {hour: 3, dayOfWeek: MON-FRI}',
    );
  const entry: { -readonly [K in keyof CalendarEntry]: CalendarEntry[K] } = {};
  const before = problems.list.length;
  for (const [key, fieldValue] of Object.entries(value)) {
    if (key === 'comment') {
      const comment = checkText(problems, fieldValue, `${path}.comment`);
      if (comment !== undefined && comment.length > TEMPORAL_MAX_COMMENT)
        problems.refuse(
          `${path}.comment`,
          'bad-calendar',
          `the comment has ${comment.length} characters`,
          `shorten it to ${TEMPORAL_MAX_COMMENT} or fewer`,
        );
      else if (comment !== undefined) entry.comment = comment;
    } else if ((CALENDAR_FIELDS as readonly string[]).includes(key)) {
      entry[key as CalendarField] = checkCalendarField(problems, fieldValue, key as CalendarField, `${path}.${key}`);
    } else {
      problems.refuse(
        `${path}.${key}`,
        'bad-calendar',
        `\`${key}\` is not a calendar field`,
        unknownNameHint(key, [...CALENDAR_FIELDS, 'comment'], 'calendar fields'),
      );
    }
  }
  return problems.list.length === before ? entry : undefined;
}

function checkList<T>(
  problems: ScheduleProblems,
  value: JsonValue | undefined,
  path: string,
  check: (item: JsonValue, itemPath: string) => T | undefined,
): T[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.length === 0) {
    problems.refuse(path, 'bad-value', 'the list is empty', 'add an entry, or remove the key');
    return [];
  }
  const items = Array.isArray(value) ? value.map((item, i) => check(item, `${path}[${i}]`)) : [check(value, path)];
  return items.filter((item): item is T => item !== undefined);
}

function checkOverlap(problems: ScheduleProblems, value: JsonValue | undefined, path: string): OverlapPolicyName {
  if (value === undefined || value === null) return DEFAULT_SCHEDULE_OVERLAP;
  const found = OVERLAP_POLICY_NAMES.find((name) => name === value);
  if (found) return found;
  const near = typeof value === 'string' ? value.trim().toLowerCase().replace(/_/g, '-') : '';
  problems.refuse(
    path,
    'bad-value',
    `${describe(value)} is not an overlap policy`,
    OVERLAP_POLICY_NAMES.includes(near as OverlapPolicyName)
      ? `write ${near}`
      : `write one of ${OVERLAP_POLICY_NAMES.join(', ')}`,
  );
  return DEFAULT_SCHEDULE_OVERLAP;
}

function checkBoolean(problems: ScheduleProblems, value: JsonValue | undefined, path: string): boolean {
  if (value === undefined || value === null || typeof value === 'boolean') return value ?? false;
  problems.refuse(path, 'bad-value', `${describe(value)} is not true or false`, 'write true or false');
  return false;
}

function checkTimeZone(problems: ScheduleProblems, value: JsonValue | undefined, path: string): string | undefined {
  const zone = checkText(problems, value, path);
  const refused = zone === undefined ? undefined : timeZoneProblem(zone);
  return refused ? problems.refuse(path, 'bad-timezone', refused.problem, refused.hint) : zone;
}

/** When the schedule runs: cron, intervals and calendars (at least one of them), and the days to skip. */
function checkTiming(
  problems: ScheduleProblems,
  block: JsonObject,
  path: string,
): Pick<ScheduleBlock, 'cron' | 'intervals' | 'calendars' | 'skip'> {
  const everyKey = block.every !== undefined ? 'every' : block.interval !== undefined ? 'interval' : 'intervals';
  const calendarKey = block.calendar !== undefined ? 'calendar' : 'calendars';
  if ([block.cron, block[everyKey], block[calendarKey]].every((v) => v === undefined || v === null))
    problems.refuse(
      path,
      'missing-key',
      'says neither when nor how often to run',
      'add e.g. `cron: "0 3 * * *"` or `every: 6h`',
    );
  const offset = {
    value: block.offset,
    ms: checkDuration(problems, block.offset, `${path}.offset`),
    path: `${path}.offset`,
  };
  if (block.offset !== undefined && block[everyKey] === undefined)
    problems.refuse(
      offset.path,
      'bad-interval',
      '`offset` shifts `every` intervals, and there is none',
      'add `every: 6h`, or remove `offset`',
    );
  return {
    cron: checkCronList(problems, block.cron, `${path}.cron`),
    intervals: checkList(problems, block[everyKey], `${path}.${everyKey}`, (item, itemPath) =>
      checkInterval(problems, item, offset, itemPath),
    ),
    calendars: checkList(problems, block[calendarKey], `${path}.${calendarKey}`, (item, itemPath) =>
      checkCalendarEntry(problems, item, itemPath),
    ),
    skip: checkList(problems, block.skip, `${path}.skip`, (item, itemPath) =>
      checkCalendarEntry(problems, item, itemPath),
    ),
  };
}

/** The time window of the schedule: both ends ISO 8601, the end after the start. */
function checkWindow(
  problems: ScheduleProblems,
  block: JsonObject,
  path: string,
): Pick<ScheduleBlock, 'startAt' | 'endAt'> {
  const startAt = checkTimestamp(problems, block.startAt, `${path}.startAt`);
  const endAt = checkTimestamp(problems, block.endAt, `${path}.endAt`);
  if (startAt && endAt && startAt >= endAt)
    problems.refuse(
      `${path}.endAt`,
      'bad-value',
      `endAt ${endAt} is not after startAt ${startAt}`,
      'make endAt later than startAt',
    );
  return { ...(startAt ? { startAt } : {}), ...(endAt ? { endAt } : {}) };
}

/**
 * Every rule a `schedule:` block must meet for Temporal to accept it, as one function: `fineflow
 * validate` reports each problem at the field's position, `schedule apply` refuses with the first.
 * `block` is present only when there is no problem.
 */
export function checkScheduleBlock(
  block: JsonObject,
  path = 'schedule',
): { readonly block?: ScheduleBlock; readonly problems: readonly ScheduleProblem[] } {
  const problems = new ScheduleProblems();
  const timing = checkTiming(problems, block, path);
  const timezone = checkTimeZone(problems, block.timezone, `${path}.timezone`);
  const jitterMs = checkDuration(problems, block.jitter ?? block.jitterMs, `${path}.jitter`);
  const catchup = block.catchupWindow ?? block.catchupWindowMs;
  const catchupWindowMs = checkDuration(problems, catchup, `${path}.catchupWindow`, TEMPORAL_MIN_CATCHUP_MS);
  const note = checkText(problems, block.note, `${path}.note`);
  const checked: ScheduleBlock = {
    ...timing,
    ...(timezone ? { timezone } : {}),
    ...(jitterMs !== undefined ? { jitterMs } : {}),
    ...checkWindow(problems, block, path),
    overlap: checkOverlap(problems, block.overlap, `${path}.overlap`),
    ...(catchupWindowMs !== undefined ? { catchupWindowMs } : {}),
    pauseOnFailure: checkBoolean(problems, block.pauseOnFailure, `${path}.pauseOnFailure`),
    paused: checkBoolean(problems, block.paused, `${path}.paused`),
    ...(note ? { note } : {}),
  };
  return problems.list.length === 0 ? { block: checked, problems: [] } : { problems: problems.list };
}

/** Read a plan's `schedule:` block. Throws InvalidInputError naming the first field that does not fit. */
export function readScheduleBlock(block: JsonObject, path = 'schedule'): ScheduleBlock {
  const checked = checkScheduleBlock(block, path);
  const first = checked.problems[0];
  if (first || !checked.block) throw invalid(first?.path ?? path, first?.problem ?? 'is invalid', first?.hint ?? '');
  return checked.block;
}

const PARAM_REFERENCE = /\$\{\{\s*params\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}/g;

/** Replace `${{ params.x }}` in a trigger field with the plan's value of `x`. */
export function resolveParamReferences(text: string, plan: Plan, path: string): string {
  return text.replace(PARAM_REFERENCE, (_whole, name: string) => {
    const param = ownValue(plan.params, name);
    if (!param)
      throw invalid(
        path,
        `refers to params.${name}, which the pipeline does not declare`,
        `declare it under params: or write the path`,
      );
    if (typeof param.value !== 'string' && typeof param.value !== 'number') {
      throw invalid(path, `params.${name} is ${describe(param.value)}, not text`, 'a path parameter must be a string');
    }
    return String(param.value);
  });
}

/**
 * The spec shares the schedule's overlap names; a watcher runs one version at a time, so
 * `buffer-one` and `buffer-all` both mean "queue": the newest version waiting supersedes older
 * ones (training on an intermediate dataset version is wasted work).
 */
function readNewDataOverlap(value: JsonValue | undefined, path: string): NewDataOverlapPolicy {
  if (value === undefined || value === null) return NEW_DATA_DEFAULTS.overlap;
  if (value === 'skip') return 'skip';
  if (value === 'queue' || value === 'buffer-one' || value === 'buffer-all') return 'queue';
  throw invalid(
    path,
    `${describe(value)} is not an overlap policy for new data`,
    'allowed: buffer-one / queue (run the newest version after the current run), skip (drop versions that ' +
      'land during a run)',
  );
}

function readMinObjects(value: JsonValue | undefined, path: string): number {
  if (value === undefined || value === null) return 1;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return value;
  throw invalid(path, `${describe(value)} is not a whole number of objects`, 'write 1 or more');
}

/** Read the plan's `newData` triggers; other trigger kinds are left to their own readers. */
export function readNewDataTriggers(plan: Plan): NewDataTrigger[] {
  const triggers: NewDataTrigger[] = [];
  plan.triggers.forEach((trigger, index) => {
    const body = trigger.newData;
    if (body === undefined) return;
    const path = `triggers[${index}].newData`;
    if (!isObject(body))
      throw invalid(path, `${describe(body)} is not a mapping`, 'write {path: s3://bucket/prefix/, debounce: 10m}');
    const rawPath = readString(body, 'path', path);
    if (!rawPath) throw invalid(`${path}.path`, 'is missing', 'write the watched prefix, e.g. s3://datasets/defects/');
    const resolved = resolveParamReferences(rawPath, plan, `${path}.path`);
    if (!resolved.startsWith('s3://')) {
      throw invalid(
        `${path}.path`,
        `'${resolved}' is not an s3:// prefix`,
        'the watcher lists the object store; upload with `fineflow data push DIR s3://…` and watch that prefix',
      );
    }
    const pollIntervalMs = readDuration(body, 'pollInterval', path) ?? NEW_DATA_DEFAULTS.pollIntervalMs;
    if (pollIntervalMs < 1000)
      throw invalid(`${path}.pollInterval`, `${pollIntervalMs}ms is shorter than 1s`, 'poll at most once a second');
    triggers.push({
      index,
      path: resolved.endsWith('/') ? resolved : `${resolved}/`,
      debounceMs: readDuration(body, 'debounce', path) ?? NEW_DATA_DEFAULTS.debounceMs,
      pollIntervalMs,
      overlap: readNewDataOverlap(body.overlap, `${path}.overlap`),
      minObjects: readMinObjects(body.minObjects, `${path}.minObjects`),
      ...(body.onRevert === 'retrain' || body.onRevert === 'ignore' ? { onRevert: body.onRevert } : {}),
    });
  });
  return triggers;
}
