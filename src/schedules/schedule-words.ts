/**
 * A `schedule:` block the way its author wrote it, for `fineflow schedule describe`: cron expressions as written,
 * intervals and calendar entries in words, and start times in UTC beside the schedule's own time zone. Temporal's
 * description holds only its compiled form (cron becomes structured calendars), which read as raw JSON. Pure.
 */
import { formatHumanDuration } from '../core/spec/durations';
import type { CalendarEntry, CalendarFieldValue, ScheduleBlock } from './schedule-block';

/** The lines saying when a schedule starts runs, e.g. `cron "0 3 * * *" (Europe/Berlin time)`. */
export function scheduleInWords(block: ScheduleBlock): string[] {
  const zone = block.timezone ?? 'UTC';
  const lines = [
    ...block.cron.map((cron) => `cron ${JSON.stringify(cron)} (${zone} time)`),
    ...block.intervals.map(
      (i) =>
        `every ${formatHumanDuration(i.everyMs)}${i.offsetMs ? `, offset ${formatHumanDuration(i.offsetMs)}` : ''}`,
    ),
    ...block.calendars.map((entry) => `calendar: ${calendarInWords(entry)} (${zone} time)`),
    ...block.skip.map((entry) => `except ${calendarInWords(entry)}`),
  ];
  const bounds = [
    block.jitterMs ? `each start delayed by up to ${formatHumanDuration(block.jitterMs)} (jitter)` : undefined,
    block.startAt ? `from ${withoutMilliseconds(block.startAt)}` : undefined,
    block.endAt ? `until ${withoutMilliseconds(block.endAt)}` : undefined,
  ].filter((part): part is string => part !== undefined);
  if (bounds.length > 0) lines.push(bounds.join(', '));
  return lines;
}

/** One calendar entry in words: `at 03:00 on MONDAY-FRIDAY (weekday nights)`. Absent time fields are 0, others any. */
export function calendarInWords(entry: CalendarEntry): string {
  const time = timeOfDay(entry);
  const days = [
    entry.dayOfWeek !== undefined && entry.dayOfWeek !== '*' ? `on ${fieldText(entry.dayOfWeek)}` : undefined,
    entry.dayOfMonth !== undefined && entry.dayOfMonth !== '*'
      ? `on day ${fieldText(entry.dayOfMonth)} of the month`
      : undefined,
    entry.month !== undefined && entry.month !== '*' ? `in ${fieldText(entry.month)}` : undefined,
    entry.year !== undefined && entry.year !== '*' ? `in ${fieldText(entry.year)}` : undefined,
  ].filter((part): part is string => part !== undefined);
  const text = [time, ...(days.length > 0 ? days : ['every day'])].join(' ');
  return entry.comment ? `${text} (${entry.comment})` : text;
}

function timeOfDay(entry: CalendarEntry): string {
  const single = (field: CalendarFieldValue | undefined): number | undefined => {
    if (field === undefined) return 0;
    const [only, ...more] = field === '*' ? [] : field;
    return only && more.length === 0 && only.start === only.end && typeof only.start === 'number'
      ? only.start
      : undefined;
  };
  const [hour, minute, second] = [single(entry.hour), single(entry.minute), single(entry.second)];
  if (hour !== undefined && minute !== undefined && second !== undefined) {
    const pad = (n: number): string => String(n).padStart(2, '0');
    return `at ${pad(hour)}:${pad(minute)}${second ? `:${pad(second)}` : ''}`;
  }
  const part = (name: string, field: CalendarFieldValue | undefined): string =>
    field === '*' ? `every ${name}` : `${name} ${field === undefined ? '0' : fieldText(field)}`;
  return `at ${part('hour', entry.hour)}, ${part('minute', entry.minute)}, ${part('second', entry.second)}`;
}

/** A field's ranges as a list: `1-5`, `*\/15`, `3, 6-9/3`. */
function fieldText(field: CalendarFieldValue): string {
  if (field === '*') return 'any';
  return field
    .map((range) => {
      const span = range.start === range.end ? String(range.start) : `${range.start}-${range.end}`;
      return range.step > 1 ? `${span}/${range.step}` : span;
    })
    .join(', ');
}

/**
 * A start time in UTC and, when the schedule has a time zone, in that zone too:
 * `2026-12-07T02:00:00Z (Mon 7 Dec 03:00 Europe/Berlin)`.
 */
export function startTimeInWords(iso: string, timezone: string | undefined): string {
  const utc = withoutMilliseconds(iso);
  if (!timezone || timezone === 'UTC') return utc;
  const local = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(iso));
  return `${utc} (${local.replace(/,/g, '')} ${timezone})`;
}

function withoutMilliseconds(iso: string): string {
  return iso.replace(/\.000Z$/, 'Z');
}
