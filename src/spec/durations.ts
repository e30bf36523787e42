/**
 * Durations as written in pipelines: one or more `<number><unit>` parts, e.g. `500ms`, `30s`,
 * `5m`, `1h30m`, `7d`, `2w`. Pure and workflow-safe.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
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

export const DURATION_HINT = 'write a number with a unit: 500ms, 30s, 5m, 2h, 7d, or combined like 1h30m';
