/**
 * The line protocol a `command` stage's program speaks on stdout. Any line starting with
 * `::fineflow::` carries one JSON object; every other line is log output. Fields, all optional:
 *
 * | field | meaning |
 * |---|---|
 * | `progress` | 0…1, how far the program is |
 * | `message` | short text shown by `fineflow status` |
 * | `metrics` | `{name: number}`, the latest values (shown with the progress; the last ones are returned) |
| `step` | integer ≥ 0: the metrics are the values after this step (an epoch, an iteration); a sweep's early stopping judges them |
 *
 * Any protocol line is also a heartbeat. Lines are untrusted: a malformed one is reported as a
 * log line, never fails the stage, and values are bounded before they reach the workflow.
 */
import type { JsonObject } from '../core/spec/plan-types';
import type { StageProgress } from '../core/run/run-types';

export const PROTOCOL_PREFIX = '::fineflow::';
/** Longest line kept, in characters (log or protocol); the rest of a longer line is cut. */
export const MAX_LINE_CHARS = 8 * 1024;
const MAX_MESSAGE_CHARS = 200;
const MAX_METRICS = 32;
const METRIC_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Largest `step` a line may carry (a sweep's step budget is at most 10,000). */
const MAX_STEP = 1_000_000_000;

export type ProtocolLine =
  | { readonly kind: 'log'; readonly text: string }
  | { readonly kind: 'progress'; readonly progress: StageProgress; readonly metrics: Readonly<Record<string, number>> }
  | { readonly kind: 'malformed'; readonly text: string; readonly reason: string };

function metricsOf(value: unknown): Record<string, number> | string {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return '`metrics` must be an object';
  const metrics: Record<string, number> = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>).slice(0, MAX_METRICS)) {
    if (!METRIC_NAME.test(name))
      return `metric name ${JSON.stringify(name.slice(0, 64))} is not letters, digits, _ . -`;
    if (typeof item !== 'number' || !Number.isFinite(item)) return `metric ${name} is not a finite number`;
    metrics[name] = item;
  }
  return metrics;
}

function progressMessage(message: unknown, metrics: Record<string, number>): string | undefined {
  const text = typeof message === 'string' ? message.slice(0, MAX_MESSAGE_CHARS) : undefined;
  const shown = Object.entries(metrics)
    .slice(0, 6)
    .map(([name, value]) => `${name}=${Number(value.toPrecision(4))}`)
    .join(' ');
  const joined = [text, shown].filter((part) => part !== undefined && part !== '').join(' ');
  return joined === '' ? undefined : joined;
}

/** Classify one line of stdout (without its newline). */
export function parseProtocolLine(line: string): ProtocolLine {
  if (!line.startsWith(PROTOCOL_PREFIX)) return { kind: 'log', text: line };
  const body = line.slice(PROTOCOL_PREFIX.length).trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'malformed', text: line, reason: 'not JSON after ::fineflow::' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { kind: 'malformed', text: line, reason: 'a protocol line carries one JSON object' };
  const fields = parsed as Record<string, unknown>;
  const metrics = metricsOf(fields.metrics);
  if (typeof metrics === 'string') return { kind: 'malformed', text: line, reason: metrics };
  const fraction = fields.progress;
  if (fraction !== undefined && (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)))
    return { kind: 'malformed', text: line, reason: '`progress` must be a number from 0 to 1' };
  const step = fields.step;
  if (step !== undefined && (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0 || step > MAX_STEP))
    return { kind: 'malformed', text: line, reason: `\`step\` must be an integer from 0 to ${MAX_STEP}` };
  const message = progressMessage(fields.message, metrics);
  const detail: JsonObject = {
    ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
    ...(typeof step === 'number' ? { step } : {}),
  };
  const progress: StageProgress = {
    ...(message !== undefined ? { message } : {}),
    ...(typeof fraction === 'number' ? { fraction } : {}),
    ...(Object.keys(detail).length > 0 ? { detail } : {}),
  };
  return { kind: 'progress', progress, metrics };
}

/**
 * Splits a byte stream into lines, cutting any line at {@link MAX_LINE_CHARS} so a program that
 * never writes a newline cannot grow the buffer without bound.
 */
export class LineSplitter {
  private pending = '';
  private cut = false;

  constructor(private readonly onLine: (line: string, truncated: boolean) => void) {}

  push(chunk: string): void {
    let text = this.pending + chunk;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      this.emit(text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    if (text.length > MAX_LINE_CHARS) {
      if (!this.cut) this.onLine(text.slice(0, MAX_LINE_CHARS), true);
      this.cut = true;
      text = '';
    }
    this.pending = text;
  }

  end(): void {
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }

  private emit(line: string): void {
    const wasCut = this.cut;
    this.cut = false;
    if (wasCut) return; // the head of this line was already emitted, cut
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    this.onLine(text.length > MAX_LINE_CHARS ? text.slice(0, MAX_LINE_CHARS) : text, text.length > MAX_LINE_CHARS);
  }
}
