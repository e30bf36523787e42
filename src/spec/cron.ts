/**
 * Cron expressions as Temporal Schedules accept them: five fields (minute hour day-of-month
 * month day-of-week) with `*`, lists, ranges, steps and month/day names, or a macro such as
 * `@daily`. Returns why an expression is invalid, or undefined.
 */

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const FIELDS: readonly { name: string; min: number; max: number; names?: readonly string[] }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

export const CRON_HINT =
  'write five fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * *" (03:00 daily), or @hourly / ' +
  '@daily / @weekly';

function value(text: string, field: (typeof FIELDS)[number]): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (index < 0) return undefined;
  return field.name === 'month' ? index + 1 : index;
}

export function checkCron(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (trimmed.startsWith('@')) return MACROS.has(trimmed.toLowerCase()) ? undefined : `unknown macro ${trimmed}`;
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) return `a cron expression has 5 fields, this one has ${trimmed === '' ? 0 : parts.length}`;
  for (let i = 0; i < 5; i++) {
    const field = FIELDS[i] as (typeof FIELDS)[number];
    for (const item of (parts[i] as string).split(',')) {
      const [range, step, extra] = item.split('/');
      if (extra !== undefined || range === undefined || range === '')
        return `${field.name} field: cannot read \`${item}\``;
      if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1))
        return `${field.name} field: step \`${step}\` must be a positive integer`;
      if (range === '*' || range === '?') continue;
      const [lowText, highText, more] = range.split('-');
      if (more !== undefined) return `${field.name} field: cannot read \`${range}\``;
      const low = value(lowText ?? '', field);
      const high = highText === undefined ? low : value(highText, field);
      if (low === undefined || high === undefined)
        return `${field.name} field: \`${range}\` is not a number${field.names ? ' or a name' : ''}`;
      if (low < field.min || high > field.max)
        return `${field.name} field: ${range} is outside ${field.min}–${field.max}`;
      if (low > high) return `${field.name} field: range ${range} is backwards`;
    }
  }
  return undefined;
}
