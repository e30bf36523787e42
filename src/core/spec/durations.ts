/**
 * Durations as written in pipelines: one or more `<number><unit>` parts, e.g. `500ms`, `30s`,
 * `5m`, `1h30m`, `7d`, `2w`. Pure and workflow-safe.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const compact = text.trim();
  if (!DURATION.test(compact)) return undefined;
  let total = 0;
  for (const match of compact.matchAll(PART)) total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  return Math.round(total);
}

/** Render milliseconds compactly (`90000` → `1m30s`), for plans and messages. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['w', 'd', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit] as number;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

const HUMAN_UNITS: readonly (readonly [number, string])[] = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'm'],
  [1000, 's'],
];

/**
 * Render milliseconds for people, to the two largest units: `536315` → `8m 56s`, `90000000` →
 * `1d 1h`, 365 days → `1 year` (not `52w1d`), `1500` → `1.5 s`, `40` → `40 ms`. Seconds are rounded
 * before the units are split, so no unit ever reads 60 (`119600` → `2m`, `59960` → `1m`, not `60 s`).
 */
export function formatHumanDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${sign}${rest} ms`;
  const seconds = Number((rest / 1000).toFixed(rest < 10_000 ? 1 : 0));
  if (seconds < 60) return `${sign}${seconds} s`;
  rest = Math.round(rest / 1000) * 1000;
  const days = rest / 86_400_000;
  if (Number.isInteger(days) && days % 365 === 0) return `${sign}${days / 365} year${days === 365 ? '' : 's'}`;
  const parts: string[] = [];
  for (const [size, unit] of HUMAN_UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
    if (parts.length === 2) break;
  }
  return `${sign}${parts.filter((part) => !part.startsWith('0')).join(' ')}`;
}

/**
 * How long something took, from `startIso` to `endIso` (or `nowMs` while it runs), as `formatHumanDuration`
 * writes it: the run and stage durations of `fineflow status` and the web UI. Empty without a start, or when
 * the clocks disagree (an end before the start).
 */
export function formatElapsed(startIso: string | undefined, endIso: string | undefined, nowMs: number): string {
  if (!startIso) return '';
  const ms = (endIso ? Date.parse(endIso) : nowMs) - Date.parse(startIso);
  return Number.isFinite(ms) && ms >= 0 ? formatHumanDuration(ms) : '';
}

export const DURATION_HINT = 'write a number with a unit: 500ms, 30s, 5m, 2h, 7d, or combined like 1h30m';
