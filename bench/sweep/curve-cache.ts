/**
 * The sweep bench's curve cache file (`curves.jsonl`, one JSON line per trained configuration), shared by every
 * bench process on the machine: two runs often go at once, each appending what it trains.
 *
 * Rules, so every reader agrees on a key's curve:
 *   - a key's curve is the **first line written with the longest curve** ({@link curveOfEachKey});
 *   - a process reads the lines other processes appended since it last looked before it trains a key, and again
 *     before it appends one: when the key arrived meanwhile, it uses that line's curve and appends nothing
 *     ({@link CurveCacheFile.record}), so it sees the curve any later reader would. (Between that last read and the
 *     append two processes can still both append; `--check-cache` lists what that left.)
 *   - each new line records the training engine that produced it (`engine`): the graph and eager engines compute
 *     the same loss with other floats, so one configuration trained by both has two curves. Older lines have none.
 */
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import path from 'node:path';

/** One line of the curve cache (`curves.jsonl`). */
export interface CachedCurve {
  readonly key: string;
  /** Validation accuracy after each epoch (index 0 = epoch 1). */
  readonly curve: number[];
  /** Validation loss after each epoch, beside `curve`; null where training reported none. Absent on older lines. */
  readonly validationLoss?: (number | null)[];
  /** The training engine that produced the line (src/ml/train/engine.ts). Absent on lines written before 6 Dec 2026 06:00 UTC. */
  readonly engine?: 'graph' | 'eager';
}

/** A cache line and where it is (1-based line number in its file). */
export interface NumberedCurve {
  readonly line: number;
  readonly entry: CachedCurve;
}

/** A key whose lines hold curves that differ where both have values. */
export interface CurveConflict {
  readonly key: string;
  /** Every line of the key, in the order written; the first one with the longest curve is the one readers use. */
  readonly lines: readonly NumberedCurve[];
}

/** One line parsed and checked; `where` (file:line) starts every error, with the fix. */
export function parseCurveLine(text: string, where: string): CachedCurve {
  let entry: Partial<CachedCurve>;
  try {
    entry = JSON.parse(text) as Partial<CachedCurve>;
  } catch (error) {
    throw new SyntaxError(`${where}: not JSON (${(error as Error).message}); delete the line or the file to retrain`);
  }
  // null in a curve: a value JSON could not hold (NaN); read back as before this check existed.
  if (
    typeof entry.key !== 'string' ||
    !Array.isArray(entry.curve) ||
    !entry.curve.every((value) => value === null || typeof value === 'number')
  )
    throw new TypeError(
      `${where}: a curve line needs "key" (string) and "curve" (numbers); delete the line to retrain it`,
    );
  if (
    entry.validationLoss !== undefined &&
    (!Array.isArray(entry.validationLoss) ||
      entry.validationLoss.length !== entry.curve.length ||
      !entry.validationLoss.every((loss) => loss === null || Number.isFinite(loss)))
  )
    throw new TypeError(
      `${where}: "validationLoss" must be numbers or null, one per epoch of "curve"; delete the line to retrain it`,
    );
  if (entry.engine !== undefined && entry.engine !== 'graph' && entry.engine !== 'eager')
    throw new TypeError(`${where}: "engine" must be "graph" or "eager" (or absent); delete the line to retrain it`);
  return entry as CachedCurve;
}

/** Complete lines of `text` (a trailing line without its newline is still being written), numbered from `firstLine`. */
function parseLines(text: string, file: string, firstLine: number): NumberedCurve[] {
  const lines = text.split('\n');
  const entries: NumberedCurve[] = [];
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    entries.push({ line: firstLine + index, entry: parseCurveLine(line, `${file}:${firstLine + index}`) });
  }
  return entries;
}

/** Bytes of `file` from `offset` to its end. */
function readFrom(file: string, offset: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const bytes = Buffer.alloc(Math.max(0, size - offset));
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    return bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** The lines of a curve cache file, numbered, in the order written; throws naming file and line of a bad one. */
export function readNumberedCurves(file: string): NumberedCurve[] {
  return parseLines(readFrom(file, 0).toString('utf8'), file, 1);
}

/** The lines of a curve cache file, in the order written; throws naming the file and line when one is not a curve. */
export function readCurveCache(file: string): CachedCurve[] {
  return readNumberedCurves(file).map(({ entry }) => entry);
}

/** Whether two curves agree bit for bit on every epoch both have (a shorter curve is a prefix, not a conflict). */
function agree(a: readonly number[], b: readonly number[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Each key's curve as every reader chooses it: the first line written with the longest curve. */
export function curveOfEachKey(entries: Iterable<CachedCurve>): Map<string, CachedCurve> {
  const chosen = new Map<string, CachedCurve>();
  for (const entry of entries) {
    const known = chosen.get(entry.key);
    if (!known || known.curve.length < entry.curve.length) chosen.set(entry.key, entry);
  }
  return chosen;
}

/** Keys with two lines whose curves differ bit for bit on a shared epoch, with all their lines, in file order. */
export function conflictingKeys(lines: readonly NumberedCurve[]): CurveConflict[] {
  const byKey = new Map<string, NumberedCurve[]>();
  for (const line of lines) {
    const list = byKey.get(line.entry.key);
    if (list) list.push(line);
    else byKey.set(line.entry.key, [line]);
  }
  const conflicts: CurveConflict[] = [];
  for (const [key, list] of byKey) {
    const differs = list.some((a, i) => list.slice(i + 1).some((b) => !agree(a.entry.curve, b.entry.curve)));
    if (differs) conflicts.push({ key, lines: list });
  }
  return conflicts;
}

/** A conflict as report lines: the key, then each line with its engine, first epochs, and which one readers use. */
export function formatConflict(conflict: CurveConflict, epochsShown = 3): string[] {
  const used = curveOfEachKey(conflict.lines.map(({ entry }) => entry)).get(conflict.key);
  return [
    conflict.key,
    ...conflict.lines.map(({ line, entry }) => {
      const head = entry.curve.slice(0, epochsShown).map((value) => (value === null ? 'null' : String(value)));
      const engine = entry.engine ?? 'engine not recorded';
      return `  line ${line}: ${head.join(', ')}${entry.curve.length > epochsShown ? ', …' : ''} (${engine})${entry === used ? ' ← used' : ''}`;
    }),
  ];
}

/**
 * A `curves.jsonl` that other processes append to while this one reads and appends: it keeps the byte offset it
 * has read up to and picks up their lines on {@link refresh}.
 */
export class CurveCacheFile {
  private readonly chosen = new Map<string, CachedCurve>();
  private offset = 0;
  private nextLine = 1;

  constructor(readonly file: string) {
    this.refresh();
  }

  /** The curve every reader uses for `key` (first line written with the longest curve), if any line has it. */
  get(key: string): CachedCurve | undefined {
    return this.chosen.get(key);
  }

  /** Reads the complete lines appended since the last read (by any process). */
  refresh(): void {
    if (!existsSync(this.file)) return;
    const bytes = readFrom(this.file, this.offset);
    const end = bytes.lastIndexOf(0x0a) + 1; // a line without its newline yet is read next time
    if (end === 0) return;
    const lines = parseLines(bytes.subarray(0, end).toString('utf8'), this.file, this.nextLine);
    this.offset += end;
    this.nextLine += bytes.subarray(0, end).toString('utf8').split('\n').length - 1;
    for (const [key, entry] of curveOfEachKey([...this.chosen.values(), ...lines.map((line) => line.entry)]))
      this.chosen.set(key, entry);
  }

  /**
   * Appends `entry` unless a line for its key with a curve at least as long arrived meanwhile; returns the line
   * readers will use for the key (the one that arrived, when one did).
   */
  record(entry: CachedCurve): CachedCurve {
    this.refresh();
    const known = this.chosen.get(entry.key);
    if (known && known.curve.length >= entry.curve.length) return known;
    mkdirSync(path.dirname(this.file), { recursive: true });
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
    this.refresh();
    return this.chosen.get(entry.key) ?? entry;
  }
}
