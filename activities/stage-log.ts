/**
 * The log of one stage attempt, appended to the object store in chunks.
 *
 * S3 has no append, so rewriting one object per flush costs bytes quadratic in the log's length.
 * Instead every flush writes the lines since the last written one as a new chunk object
 * (`logs/attempt-<n>/<first line>.log`, src/core/storage/layout.ts) and `fineflow logs` concatenates
 * the chunks in line order (src/client/run-logs.ts).
 *
 * When the store is unavailable the lines stay in memory, bounded by `maxBufferBytes`; lines that
 * do not fit are counted and replaced by one "N lines dropped" line. The next successful flush
 * writes them, with a note saying how long the store was away. A retried flush rewrites the same
 * chunk key with the same lines plus any newer ones, so a write that failed half-way never leaves
 * a hole or a duplicate. After the attempt ends, unwritten lines keep being retried in the
 * background for `drainForMs` (the worker process keeps them; a worker that stops loses them,
 * and the reader then shows the attempt's log as missing or short).
 */
import type { ObjectStore } from '../src/storage/object-store';
import { stageLogChunkUri } from '../src/core/storage/layout';
import { formatHumanDuration } from '../src/core/spec/durations';

export interface StageLogTarget {
  readonly bucket: string;
  readonly runId: string;
  readonly stageId: string;
  readonly attempt: number;
}

export interface StageLogOptions {
  /** How often buffered lines are written. Default 2 s. */
  readonly flushIntervalMs?: number;
  /** Most bytes held while the store is unavailable; later lines are counted, not kept. Default 8 MiB. */
  readonly maxBufferBytes?: number;
  /** How long unwritten lines are retried after the attempt ended. Default 15 min (the default outage budget). */
  readonly drainForMs?: number;
  /** Clock for the line stamps and the outage note. */
  readonly now?: () => number;
  /** Also hand each appended line (unstamped) here: the worker's structured log (src/observability/json-log.ts). */
  readonly echo?: (line: string) => void;
}

/** A longer line is cut: one line may not fill the buffer (a stage printing a whole file on one line). */
export const MAX_LOG_LINE_BYTES = 16 * 1024;
const DEFAULT_BUFFER_BYTES = 8 * 1024 * 1024;

export class StageLog {
  private pending: string[] = [];
  private pendingBytes = 0;
  private dropped = 0;
  /** Lines already in the store: the next chunk's first line number. */
  private written = 0;
  private failedWrites = 0;
  private unavailableSince: number | undefined;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBufferBytes: number;
  private readonly now: () => number;

  constructor(
    private readonly store: ObjectStore,
    private readonly target: StageLogTarget,
    private readonly options: StageLogOptions = {},
  ) {
    this.maxBufferBytes = options.maxBufferBytes ?? DEFAULT_BUFFER_BYTES;
    this.now = options.now ?? Date.now;
    this.schedule(options.flushIntervalMs ?? 2_000);
  }

  /** Add a line (stamped now). Never throws and never waits for the store. */
  append(line: string): void {
    const cut = cutLine(line.replace(/\n+$/, ''));
    this.options.echo?.(cut);
    const text = `${new Date(this.now()).toISOString()} ${cut}`;
    const bytes = Buffer.byteLength(text, 'utf8') + 1;
    if (this.dropped > 0 || this.pendingBytes + bytes > this.maxBufferBytes) {
      this.dropped += 1;
      return;
    }
    this.pending.push(text);
    this.pendingBytes += bytes;
  }

  /** Lines not yet in the store (including the dropped-lines marker, if any). */
  get unwrittenLines(): number {
    return this.pending.length + (this.dropped > 0 ? 1 : 0);
  }

  /** Write what is buffered now; resolves when that write ended (never rejects). */
  flush(): Promise<void> {
    this.writing ??= this.writeChunk().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  /**
   * The attempt ended: write what is left. If the store is still away, keep retrying in the
   * background (`drained` tells when that ended) instead of holding the activity's result.
   */
  async close(): Promise<void> {
    this.stopTimer();
    // A periodic write under way holds only the lines before it: wait for it, then make this close's own write,
    // so the attempt's last lines (its "ended" line) are in the store before the activity reports its end.
    if (this.writing) await this.writing;
    await this.flush();
    if (this.unwrittenLines > 0) this.drained = this.drain(this.options.drainForMs ?? 15 * 60_000);
  }

  /** Resolves once a closed log has written everything or given up (tests await it). */
  drained: Promise<void> = Promise.resolve();

  private async drain(forMs: number): Promise<void> {
    const deadline = this.now() + forMs;
    let waitMs = 500;
    while (this.unwrittenLines > 0 && this.now() < deadline) {
      await new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref());
      await this.flush();
      waitMs = Math.min(waitMs * 2, 30_000);
    }
  }

  private async writeChunk(): Promise<void> {
    if (this.unwrittenLines === 0) return;
    const lines = this.pending.slice();
    const dropped = this.dropped;
    if (dropped > 0) {
      lines.push(
        `${new Date(this.now()).toISOString()} [fineflow] ${dropped} log line(s) dropped: the object store was ` +
          `unavailable and the worker's log buffer (${this.maxBufferBytes} bytes) was full`,
      );
    }
    const note = this.outageNote();
    if (note !== undefined) lines.push(note);
    const { bucket, runId, stageId, attempt } = this.target;
    try {
      await this.store.putBytes(
        stageLogChunkUri(bucket, runId, stageId, attempt, this.written),
        `${lines.join('\n')}\n`,
        {
          contentType: 'text/plain; charset=utf-8',
        },
      );
    } catch {
      // A failed log write must never fail the stage: the lines stay buffered for the next flush.
      this.failedWrites += 1;
      this.unavailableSince ??= this.now();
      return;
    }
    this.written += lines.length;
    const kept = lines.length - (dropped > 0 ? 1 : 0) - (note !== undefined ? 1 : 0);
    for (const line of this.pending.splice(0, kept)) this.pendingBytes -= Buffer.byteLength(line, 'utf8') + 1;
    this.dropped -= dropped;
    this.failedWrites = 0;
    this.unavailableSince = undefined;
  }

  private outageNote(): string | undefined {
    if (this.unavailableSince === undefined) return undefined;
    const away = formatHumanDuration(this.now() - this.unavailableSince);
    return (
      `${new Date(this.now()).toISOString()} [fineflow] the object store was unavailable for ${away} ` +
      `(${this.failedWrites} failed log write(s)); the lines above were buffered by the worker and written late`
    );
  }

  private schedule(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function cutLine(line: string): string {
  const bytes = Buffer.byteLength(line, 'utf8');
  if (bytes <= MAX_LOG_LINE_BYTES) return line;
  const kept = Buffer.from(line, 'utf8')
    .subarray(0, MAX_LOG_LINE_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${kept} … (${bytes - MAX_LOG_LINE_BYTES} more bytes cut)`;
}
