/**
 * Stage logs of a run, read from the object store where the stage runner and the sweep workflow
 * append them as chunks (runs/<runId>/<stageId>/logs/attempt-<n>/<first line>.log, see
 * activities/stage-log.ts); a log written before chunking (logs/attempt-<n>.log) reads as the
 * attempt's first chunk. `fineflow logs`, the UI and `--follow` read through here: a chunk only
 * ever gains lines, so remembering how many bytes of each were shown is enough to print what is new.
 */
import type { ObjectStore } from '../storage/object-store';
import type { RunState } from '../core/run/run-types';
import { runPrefix, stageLogPrefix } from '../core/storage/layout';
import { givenUpAttempt } from '../core/run/unfinished-attempt';

export interface StageLogChunk {
  readonly uri: string;
  /** 0-based number of the chunk's first line in the attempt's log. */
  readonly firstLine: number;
  readonly size: number;
}

export interface StageLogFile {
  readonly stageId: string;
  readonly attempt: number;
  /** Bytes of every chunk together. */
  readonly size: number;
  /** In line order. */
  readonly chunks: readonly StageLogChunk[];
}

const LEGACY_KEY = /\/runs\/[^/]+\/([^/]+)\/logs\/attempt-(\d+)\.log$/;
const CHUNK_KEY = /\/runs\/[^/]+\/([^/]+)\/logs\/attempt-(\d+)\/(\d+)\.log$/;

function parseLogKey(key: string): { stageId: string; attempt: number; firstLine: number } | undefined {
  const chunk = CHUNK_KEY.exec(`/${key}`);
  if (chunk?.[1] && chunk[2] && chunk[3]) {
    return { stageId: chunk[1], attempt: Number(chunk[2]), firstLine: Number(chunk[3]) };
  }
  const legacy = LEGACY_KEY.exec(`/${key}`);
  if (legacy?.[1] && legacy[2]) return { stageId: legacy[1], attempt: Number(legacy[2]), firstLine: 0 };
  return undefined;
}

/** Every log of a run (or of one stage), ordered by stage then attempt, each with its chunks in line order. */
export async function listStageLogs(
  store: ObjectStore,
  bucket: string,
  runId: string,
  stageId?: string,
): Promise<StageLogFile[]> {
  const prefix = stageId ? stageLogPrefix(bucket, runId, stageId) : runPrefix(bucket, runId);
  const byAttempt = new Map<string, { stageId: string; attempt: number; chunks: StageLogChunk[] }>();
  for (const object of await store.list(prefix)) {
    const parsed = parseLogKey(object.key);
    if (!parsed) continue;
    const id = `${parsed.stageId}\n${parsed.attempt}`;
    const entry = byAttempt.get(id) ?? { stageId: parsed.stageId, attempt: parsed.attempt, chunks: [] };
    entry.chunks.push({ uri: `s3://${object.bucket}/${object.key}`, firstLine: parsed.firstLine, size: object.size });
    byAttempt.set(id, entry);
  }
  return [...byAttempt.values()]
    .map(({ stageId: id, attempt, chunks }) => ({
      stageId: id,
      attempt,
      size: chunks.reduce((sum, chunk) => sum + chunk.size, 0),
      chunks: chunks.sort((a, b) => a.firstLine - b.firstLine),
    }))
    .sort((a, b) => a.stageId.localeCompare(b.stageId) || a.attempt - b.attempt);
}

/** What a follow loop has shown so far; pass the same object to every call. */
export interface LogCursor {
  /** Bytes of each chunk (by URI) already printed. */
  readonly printedBytes: Map<string, number>;
  /** Per `stage\nattempt`: the line number the next chunk should start at. */
  readonly nextLine: Map<string, number>;
  /** Attempts already noted as having no log. */
  readonly notedMissing: Set<string>;
  /** Last attempts already noted as timed out by Temporal. */
  readonly notedUnfinished: Set<string>;
}

export function newLogCursor(): LogCursor {
  return { printedBytes: new Map(), nextLine: new Map(), notedMissing: new Set(), notedUnfinished: new Set() };
}

const header = (stageId: string, attempt: number): string => `==> ${stageId} attempt ${attempt} <==\n`;

/**
 * Print logs through `write`, only what `cursor` has not shown yet. A chunk that starts after the
 * line the previous one ended on means lines never reached the store: that is said in place.
 */
export async function printStageLogs(
  store: ObjectStore,
  logs: readonly StageLogFile[],
  write: (text: string) => void,
  cursor: LogCursor = newLogCursor(),
): Promise<LogCursor> {
  for (const log of logs) {
    const id = `${log.stageId}\n${log.attempt}`;
    for (const chunk of log.chunks) {
      const done = cursor.printedBytes.get(chunk.uri) ?? 0;
      if (chunk.size <= done) continue;
      const bytes = await store.getBytes(chunk.uri);
      if (bytes.length <= done) continue;
      if (!cursor.nextLine.has(id)) write(header(log.stageId, log.attempt));
      const expected = cursor.nextLine.get(id) ?? 0;
      if (done === 0 && chunk.firstLine > expected) {
        write(`[fineflow] ${chunk.firstLine - expected} line(s) of this log never reached the store\n`);
      }
      write(bytes.subarray(done).toString('utf8'));
      cursor.printedBytes.set(chunk.uri, bytes.length);
      cursor.nextLine.set(id, Math.max(expected, chunk.firstLine + countLines(bytes)));
    }
  }
  return cursor;
}

/**
 * Attempts the run made that have no log in the store, except one still running (its first lines
 * may not be written yet). A worker that stopped with unwritten lines leaves such a hole.
 */
export function attemptsWithoutLogs(
  state: RunState,
  logs: readonly StageLogFile[],
  stageId?: string,
): { readonly stageId: string; readonly attempt: number }[] {
  const present = new Set(logs.map((log) => `${log.stageId}\n${log.attempt}`));
  const missing: { stageId: string; attempt: number }[] = [];
  for (const stage of state.stages) {
    if (stageId !== undefined && stage.id !== stageId) continue;
    for (let attempt = 1; attempt <= stage.attempts; attempt += 1) {
      if (stage.status === 'running' && attempt === stage.attempts) continue;
      if (!present.has(`${stage.id}\n${attempt}`)) missing.push({ stageId: stage.id, attempt });
    }
  }
  return missing;
}

/** Say, once per attempt, that its log is missing. */
export function printMissingLogs(
  missing: readonly { readonly stageId: string; readonly attempt: number }[],
  write: (text: string) => void,
  cursor: LogCursor,
): void {
  for (const { stageId, attempt } of missing) {
    const id = `${stageId}\n${attempt}`;
    if (cursor.notedMissing.has(id) || cursor.nextLine.has(id)) continue;
    cursor.notedMissing.add(id);
    write(header(stageId, attempt));
    write(
      '[fineflow] no log in the store for this attempt: its worker stopped before the store took any line (see the ' +
        "worker's own output)\n",
    );
  }
}

/**
 * The last attempt of each stage the run failed (or paused) because Temporal timed the attempt out: its stage
 * runner never wrote how it ended (a killed worker's log stops at its last progress line), so the reader says it.
 * An earlier attempt that timed out is said by the next attempt's own log (activities/previous-attempt.ts).
 */
export function unfinishedLastAttempts(
  state: RunState,
  stageId?: string,
): { readonly stageId: string; readonly attempt: number; readonly line: string }[] {
  const found: { stageId: string; attempt: number; line: string }[] = [];
  for (const stage of state.stages) {
    if (stageId !== undefined && stage.id !== stageId) continue;
    const givenUp = givenUpAttempt(stage);
    if (givenUp) found.push({ stageId: stage.id, ...givenUp });
  }
  return found;
}

/** Say, once per attempt, after its log, that Temporal timed out a stage's last attempt. */
export function printUnfinishedAttempts(
  unfinished: readonly { readonly stageId: string; readonly attempt: number; readonly line: string }[],
  write: (text: string) => void,
  cursor: LogCursor,
): void {
  for (const { stageId, attempt, line } of unfinished) {
    const id = `${stageId}\n${attempt}`;
    if (cursor.notedUnfinished.has(id)) continue;
    cursor.notedUnfinished.add(id);
    if (!cursor.nextLine.has(id) && !cursor.notedMissing.has(id)) write(header(stageId, attempt));
    write(`[fineflow] ${line}\n`);
  }
}

/** The text of one attempt's log from byte `from` of the concatenated chunks, at most `maxBytes` of its end. */
export async function readStageLog(
  store: ObjectStore,
  log: StageLogFile,
  from: number,
  maxBytes: number,
): Promise<{ readonly text: string; readonly size: number }> {
  const start = Math.max(from, log.size - maxBytes);
  const parts: Buffer[] = [];
  let offset = 0;
  let size = 0;
  for (const chunk of log.chunks) {
    const end = offset + chunk.size;
    if (end > start) {
      const bytes = await store.getBytes(chunk.uri);
      parts.push(bytes.subarray(Math.max(0, start - offset)));
      size = offset + bytes.length;
    } else {
      size = end;
    }
    offset = end;
  }
  return { text: Buffer.concat(parts).toString('utf8'), size: Math.max(size, from) };
}

function countLines(bytes: Buffer): number {
  let lines = 0;
  for (const byte of bytes) if (byte === 0x0a) lines += 1;
  return lines;
}

/** The whole text of one attempt's log. */
export async function stageLogText(store: ObjectStore, log: StageLogFile): Promise<string> {
  return (await readStageLog(store, log, 0, Number.POSITIVE_INFINITY)).text;
}
