/**
 * Typed views of a plan's `schedule:` block and `triggers:` list. The spec (src/spec) has
 * already validated both and hands them over as plain JSON; this module reads that JSON into
 * the types below without casting, so a plan written by hand (or by an older spec) that does
 * not fit still fails with a message naming the field. Pure: workflow code may import it.
 */
import { InvalidInputError } from '../core/errors';
import type { JsonObject, JsonValue, Plan } from '../core/spec/plan-types';
import { parseDuration } from '../core/spec/durations';
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

function readTimestamp(block: JsonObject, name: string, path: string): string | undefined {
  const text = readString(block, name, path);
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw invalid(`${path}.${name}`, `'${text}' is not a timestamp`, 'write ISO 8601, e.g. 2026-01-31T03:00:00Z');
  return new Date(ms).toISOString();
}

function readStringList(value: JsonValue | undefined, path: string): string[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    if (typeof item !== 'string' || item.trim() === '') {
      throw invalid(
        Array.isArray(value) ? `${path}[${i}]` : path,
        `${describe(item)} is not a cron expression`,
        'write e.g. "0 3 * * *"',
      );
    }
    return item.trim();
  });
}

function readInterval(value: JsonValue, offsetMs: number, path: string): IntervalEntry {
  if (typeof value === 'string' || typeof value === 'number') {
    const everyMs = readDuration({ every: value }, 'every', path.replace(/\.every$/, ''));
    if (everyMs === undefined || everyMs < 1000)
      throw invalid(path, `${describe(value)} is shorter than 1s`, 'Temporal schedules run at most once a second');
    return { everyMs, offsetMs };
  }
  if (isObject(value)) {
    const everyMs = readDuration(value, 'interval', path) ?? readDuration(value, 'every', path);
    if (everyMs === undefined || everyMs < 1000)
      throw invalid(
        `${path}.interval`,
        `${describe(value.interval ?? value.every)} is not an interval of 1s or more`,
        'write e.g. {interval: 1h, offset: 5m}',
      );
    return { everyMs, offsetMs: readDuration(value, 'offset', path) ?? offsetMs };
  }
  throw invalid(path, `${describe(value)} is not an interval`, 'write a duration (6h) or {interval: 6h, offset: 30m}');
}

const CALENDAR_FIELDS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'year', 'dayOfWeek'] as const;
type CalendarField = (typeof CALENDAR_FIELDS)[number];

const RANGE_TEXT = /^([A-Za-z]+|\d+)(?:-([A-Za-z]+|\d+))?(?:\/(\d+))?$/;

function calendarScalar(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text.toUpperCase();
}

/** First and last value of each field, for step-over-the-whole-field values such as "every 15". */
const CALENDAR_BOUNDS: Readonly<Record<CalendarField, readonly [number | string, number | string]>> = {
  second: [0, 59],
  minute: [0, 59],
  hour: [0, 23],
  dayOfMonth: [1, 31],
  month: ['JANUARY', 'DECEMBER'],
  year: [2000, 2100],
  dayOfWeek: ['SUNDAY', 'SATURDAY'],
};

function readCalendarRange(value: JsonValue, field: CalendarField, path: string): CalendarRange {
  if (typeof value === 'number' && Number.isInteger(value)) return { start: value, end: value, step: 1 };
  if (typeof value === 'string') {
    const stepAll = /^\*\/(\d+)$/.exec(value.trim());
    if (stepAll) {
      const [start, end] = CALENDAR_BOUNDS[field];
      return { start, end, step: Number(stepAll[1]) };
    }
    const match = RANGE_TEXT.exec(value.trim());
    if (match) {
      const start = calendarScalar(match[1] as string);
      return { start, end: match[2] ? calendarScalar(match[2]) : start, step: match[3] ? Number(match[3]) : 1 };
    }
  }
  if (isObject(value) && (typeof value.start === 'number' || typeof value.start === 'string')) {
    const start = typeof value.start === 'string' ? calendarScalar(value.start) : value.start;
    const end =
      typeof value.end === 'number' ? value.end : typeof value.end === 'string' ? calendarScalar(value.end) : start;
    const step = typeof value.step === 'number' ? value.step : 1;
    return { start, end, step };
  }
  throw invalid(
    path,
    `${describe(value)} is not a calendar value`,
    'write a number, a name (MONDAY, JANUARY), a range "1-5", a step "*/15" or a list',
  );
}

function readCalendarField(value: JsonValue, field: CalendarField, path: string): CalendarFieldValue {
  if (value === '*') return '*';
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => readCalendarRange(item, field, Array.isArray(value) ? `${path}[${i}]` : path));
}

function readCalendarEntry(value: JsonValue, path: string): CalendarEntry {
  if (!isObject(value))
    throw invalid(path, `${describe(value)} is not a calendar entry`, 'write e.g. {hour: 3, dayOfWeek: MONDAY-FRIDAY}');
  const entry: { -readonly [K in keyof CalendarEntry]: CalendarEntry[K] } = {};
  for (const [key, fieldValue] of Object.entries(value)) {
    if (key === 'comment') {
      entry.comment = readString(value, 'comment', path);
      continue;
    }
    if (!(CALENDAR_FIELDS as readonly string[]).includes(key)) {
      throw invalid(`${path}.${key}`, 'is not a calendar field', `allowed: ${CALENDAR_FIELDS.join(', ')}, comment`);
    }
    entry[key as CalendarField] = readCalendarField(fieldValue, key as CalendarField, `${path}.${key}`);
  }
  return entry;
}

function readList<T>(value: JsonValue | undefined, path: string, read: (item: JsonValue, itemPath: string) => T): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [read(value, path)];
  return value.map((item, i) => read(item, `${path}[${i}]`));
}

function readOverlap(block: JsonObject, path: string): OverlapPolicyName {
  const value = block.overlap ?? DEFAULT_SCHEDULE_OVERLAP;
  if (typeof value !== 'string')
    throw invalid(
      `${path}.overlap`,
      `${describe(value)} is not an overlap policy`,
      `allowed: ${OVERLAP_POLICY_NAMES.join(', ')}`,
    );
  const normalised = value.trim().toLowerCase().replace(/_/g, '-');
  const found = OVERLAP_POLICY_NAMES.find((name) => name === normalised);
  if (!found)
    throw invalid(
      `${path}.overlap`,
      `'${value}' is not an overlap policy`,
      `allowed: ${OVERLAP_POLICY_NAMES.join(', ')}`,
    );
  return found;
}

/** Read a plan's `schedule:` block. Throws InvalidInputError naming the field that does not fit. */
export function readScheduleBlock(block: JsonObject, path = 'schedule'): ScheduleBlock {
  const cron = readStringList(block.cron, `${path}.cron`);
  const topOffsetMs = readDuration(block, 'offset', path) ?? 0;
  const intervals = readList(block.every ?? block.interval ?? block.intervals, `${path}.every`, (item, itemPath) =>
    readInterval(item, topOffsetMs, itemPath),
  );
  const calendars = readList(block.calendar ?? block.calendars, `${path}.calendar`, readCalendarEntry);
  const skip = readList(block.skip, `${path}.skip`, readCalendarEntry);
  if (cron.length === 0 && intervals.length === 0 && calendars.length === 0) {
    throw invalid(path, 'says neither when nor how often to run', 'set cron, every or calendar');
  }
  const pauseOnFailure = block.pauseOnFailure ?? false;
  if (typeof pauseOnFailure !== 'boolean')
    throw invalid(`${path}.pauseOnFailure`, `${describe(pauseOnFailure)} is not true or false`, 'write true or false');
  const paused = block.paused ?? false;
  if (typeof paused !== 'boolean')
    throw invalid(`${path}.paused`, `${describe(paused)} is not true or false`, 'write true or false');
  const startAt = readTimestamp(block, 'startAt', path);
  const endAt = readTimestamp(block, 'endAt', path);
  if (startAt && endAt && startAt >= endAt)
    throw invalid(`${path}.endAt`, `${endAt} is not after startAt ${startAt}`, 'end after the start');
  const timezone = readString(block, 'timezone', path);
  const zoneRefused = timezone ? timeZoneProblem(timezone) : undefined;
  if (zoneRefused) throw invalid(`${path}.timezone`, zoneRefused.problem, zoneRefused.hint);
  const jitterMs = readDuration(block, 'jitter', path);
  const catchupWindowMs = readDuration(block, 'catchupWindow', path);
  const note = readString(block, 'note', path);
  return {
    cron,
    intervals,
    calendars,
    skip,
    ...(timezone ? { timezone } : {}),
    ...(jitterMs !== undefined ? { jitterMs } : {}),
    ...(startAt ? { startAt } : {}),
    ...(endAt ? { endAt } : {}),
    overlap: readOverlap(block, path),
    ...(catchupWindowMs !== undefined ? { catchupWindowMs } : {}),
    pauseOnFailure,
    paused,
    ...(note ? { note } : {}),
  };
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
    'allowed: buffer-one / queue (run the newest version after the current run), skip (drop versions that land during a run)',
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
