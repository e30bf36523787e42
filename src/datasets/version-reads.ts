/**
 * Which runs read a dataset version, and what prepare-data's quality checks said of it: one small record per run
 * and stage beside the version's manifest (`…/_versions/<id>.reads/<runId>/<stage>.json`), so the UI's datasets page
 * lists a version's readers by listing one prefix instead of scanning every run. prepare-data writes it twice: as
 * soon as it has resolved the version, before it reads an object, and for a version it seals, before its manifest
 * (state `reading`: gc keeps a version an open run's record names, so it must see the read before it happens), and
 * again when it finishes or its quality checks stop it
 * (state `read`, with the verdict), or when it fails for any other reason it can see: the store, a file it cannot
 * parse, a cancel, its worker shutting down (state `failed`, with the error's first line, redacted and bounded). A
 * record still `reading` whose run has ended was left by a worker that died without a word: it pins nothing (gc
 * judges it by the run's state) and the page says the read stopped. A stage served from the cache writes none (it read
 * nothing). Records are data written by stage code: {@link checkVersionRead} checks their shape before
 * anyone shows them.
 *
 * A record belongs to the attempt that wrote it last ({@link putVersionRead}): an attempt Temporal has given up on (its
 * heartbeats stopped, and a retry now reads) may still be running on its worker, and whatever it writes later must not
 * replace what the newer attempt wrote. Its write is refused (the caller logs it), so the record says what the newest
 * attempt did.
 */
import type { ObjectStore } from '../storage/object-store';
import { ConflictError, InvalidInputError, NotFoundError, ResourceLimitError } from '../core/errors';
import { datasetVersionsPrefix } from './dataset-version';

/** One quality check's outcome, as the data report has it (src/ml/data/quality.ts). */
export interface VersionReadCheck {
  readonly check: string;
  readonly outcome: 'ok' | 'warned' | 'failed';
  readonly count: number;
}

/** A prepare-data stage that has resolved the version and is reading it (or was, when its run has ended since). */
export interface VersionReading {
  readonly state: 'reading';
  readonly runId: string;
  readonly stage: string;
  /** When the stage resolved the version and began to read it, ISO 8601. */
  readonly at: string;
  /** The attempt reading (1-based, within the run); absent in records written before records were fenced. */
  readonly attempt?: number;
}

/** A prepare-data stage that read the version. */
export interface VersionRead {
  /** Absent in records written before prepare-data recorded its reads as they started. */
  readonly state?: 'read';
  readonly runId: string;
  readonly stage: string;
  /** When the stage finished (or its checks stopped it), ISO 8601. */
  readonly at: string;
  /** When it began to read (its `reading` record's time). */
  readonly startedAt?: string;
  /** The attempt that read it (1-based, within the run); absent in records written before records were fenced. */
  readonly attempt?: number;
  /**
   * The stage's data report (prepare-data's `report` output; when its checks stopped it, the report it wrote first).
   * Absent in records of stopped reads written before such a stage left a report.
   */
  readonly report?: string;
  /**
   * `passed`: every check found nothing; `warnings`: some found something the policy let through; `failed`: a check
   * whose policy is `fail` found something, and the stage stopped.
   */
  readonly verdict: 'passed' | 'warnings' | 'failed';
  readonly checks: readonly VersionReadCheck[];
  /** Records read and kept, and the classes found. */
  readonly records: number;
  readonly kept: number;
  readonly classes: number;
}

/**
 * A prepare-data stage that began to read the version and failed for a reason other than its quality checks (those
 * complete a {@link VersionRead} with the `failed` verdict). A retry of the stage writes `reading` over it.
 */
export interface VersionReadFailed {
  readonly state: 'failed';
  readonly runId: string;
  readonly stage: string;
  /** When it failed, ISO 8601. */
  readonly at: string;
  /** When it began to read (its `reading` record's time). */
  readonly startedAt: string;
  /** The attempt that failed (1-based, within the run). */
  readonly attempt: number;
  /** The error's type (`NotFound`, `Cancelled`, …; src/core/errors.ts), at most {@link READ_ERROR_TYPE_CHARS}. */
  readonly errorType: string;
  /** The error's first line, redacted as the stage log is, at most {@link READ_ERROR_CHARS} characters. */
  readonly error: string;
}

/** Characters of a failed read's error kept in its record (the stage log has the whole of it). */
export const READ_ERROR_CHARS = 300;
export const READ_ERROR_TYPE_CHARS = 64;

/**
 * What a failed read's record says of its error: the first non-empty line, cut to `chars` with an ellipsis. The text
 * must already be redacted (the stage runtime's `redact`): cutting first could leave half a secret unrecognised.
 */
export function readErrorLine(text: string, chars: number = READ_ERROR_CHARS): string {
  const line = (text.split('\n').find((l) => l.trim() !== '') ?? '').trim();
  return line.length <= chars ? line : `${line.slice(0, chars - 1)}…`;
}

/** Where the read records of version `id` of `dataPrefix` live. */
export function versionReadsPrefix(bucket: string, dataPrefix: string, id: string): string {
  return `${datasetVersionsPrefix(bucket, dataPrefix)}${id}.reads/`;
}

export function versionReadUri(bucket: string, dataPrefix: string, id: string, runId: string, stage: string): string {
  return `${versionReadsPrefix(bucket, dataPrefix, id)}${encodeURIComponent(runId)}/${encodeURIComponent(stage)}.json`;
}

/** The run and stage of a record's last two segments, decoded as versionReadUri encodes them. */
function decodeRunAndStage(run: string, stage: string): { readonly runId: string; readonly stage: string } | undefined {
  try {
    return { runId: decodeURIComponent(run), stage: decodeURIComponent(stage) };
  } catch {
    return undefined; // not percent-encoded as versionReadUri writes it: not a record
  }
}

/** The run and stage of a read record's URI (`…/<id>.reads/<run>/<stage>.json`); undefined for any other key. */
export function parseVersionReadUri(uri: string): { readonly runId: string; readonly stage: string } | undefined {
  const match = /\.reads\/([^/]+)\/([^/]+)\.json$/.exec(uri);
  if (!match?.[1] || !match[2]) return undefined;
  return decodeRunAndStage(match[1], match[2]);
}

/**
 * The version, run and stage of a read record named relative to its prefix's versions folder
 * (`<id>.reads/<run>/<stage>.json`, as {@link versionReadUri} writes it); undefined for any other name: a manifest, a
 * record of a deeper prefix (`sub/_versions/…`), a name that is not encoded as written.
 */
export function parseVersionReadName(
  name: string,
): { readonly id: string; readonly runId: string; readonly stage: string } | undefined {
  const match = /^([0-9a-f]{64})\.reads\/([^/]+)\/([^/]+)\.json$/.exec(name);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  const read = decodeRunAndStage(match[2], match[3]);
  return read && { id: match[1], ...read };
}

/** The verdict of a data report's checks: any failed check fails it. */
export function qualityVerdict(checks: readonly VersionReadCheck[]): VersionRead['verdict'] {
  if (checks.some((check) => check.outcome === 'failed')) return 'failed';
  return checks.some((check) => check.outcome !== 'ok') ? 'warnings' : 'passed';
}

/** A record of any state. */
export type VersionReadRecord = VersionReading | VersionRead | VersionReadFailed;

/** The record is of a read still under way (or cut short: its run's state says which). */
export function isReading(record: VersionReadRecord): record is VersionReading {
  return record.state === 'reading';
}

/** The record is of a read that failed for a reason other than its quality checks. */
export function isFailedRead(record: VersionReadRecord): record is VersionReadFailed {
  return record.state === 'failed';
}

const OUTCOMES = new Set(['ok', 'warned', 'failed']);
const VERDICTS = new Set<string>(['passed', 'warnings', 'failed']);

/** A record read from the store, checked (it is data, not code). */
export function checkVersionRead(value: unknown, uri: string): VersionReadRecord {
  const bad = (why: string): never => {
    throw new InvalidInputError(`${uri} is not a dataset version read record: ${why}`, {
      uri,
      code: 'invalid-version-read',
    });
  };
  if (value === null || typeof value !== 'object') return bad('not a JSON object');
  const read = value as Partial<VersionRead>;
  for (const field of ['runId', 'stage', 'at'] as const)
    if (typeof read[field] !== 'string') bad(`${field} is not text`);
  const state = (value as { state?: unknown }).state;
  if (state === 'failed') return checkFailedRead(value as Partial<VersionReadFailed>, bad);
  if (read.attempt !== undefined && !isAttempt(read.attempt)) bad('attempt is not a whole number from 1');
  if (state === 'reading') {
    const { runId, stage, at, attempt } = value as VersionReading;
    return { state, runId, stage, at, ...(attempt !== undefined ? { attempt } : {}) };
  }
  if (state !== undefined && state !== 'read') bad('state is not reading, read or failed');
  if (read.startedAt !== undefined && typeof read.startedAt !== 'string') bad('startedAt is not text');
  if (read.report !== undefined && typeof read.report !== 'string') bad('report is not text');
  for (const field of ['records', 'kept', 'classes'] as const)
    if (typeof read[field] !== 'number') bad(`${field} is not a number`);
  if (!VERDICTS.has(String(read.verdict))) bad('verdict is not passed, warnings or failed');
  if (!Array.isArray(read.checks)) return bad('checks is not a list');
  for (const check of read.checks as unknown[]) {
    const c = check as Partial<VersionReadCheck> | null;
    if (typeof c?.check !== 'string' || !OUTCOMES.has(String(c.outcome)) || typeof c.count !== 'number')
      bad('a check lacks check, outcome or count');
  }
  return read as VersionRead;
}

function checkFailedRead(read: Partial<VersionReadFailed>, bad: (why: string) => never): VersionReadFailed {
  if (typeof read.startedAt !== 'string') bad('startedAt is not text');
  if (!isAttempt(read.attempt)) bad('attempt is not a whole number from 1');
  if (typeof read.errorType !== 'string' || read.errorType.length > READ_ERROR_TYPE_CHARS)
    bad(`errorType is not text of at most ${READ_ERROR_TYPE_CHARS} characters`);
  if (typeof read.error !== 'string' || read.error.length > READ_ERROR_CHARS || read.error.includes('\n'))
    bad(`error is not one line of at most ${READ_ERROR_CHARS} characters`);
  const { runId, stage, at, startedAt, attempt, errorType, error } = read as VersionReadFailed;
  return { state: 'failed', runId, stage, at, startedAt, attempt, errorType, error };
}

function isAttempt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/**
 * The newer attempt that owns `current`, when an attempt `attempt` may not write over it; undefined when it may: no
 * record yet, one of its own or of an earlier attempt, or one written before records carried their attempt.
 */
export function newerOwnerOf(current: VersionReadRecord | undefined, attempt: number): number | undefined {
  return current?.attempt !== undefined && current.attempt > attempt ? current.attempt : undefined;
}

/** What became of a fenced write: written, or refused because a newer attempt owns the record. */
export type VersionReadWrite = { readonly written: true } | { readonly written: false; readonly ownedBy: number };

/** Most read-check-write rounds when other writers keep changing the record in between. */
const FENCED_WRITE_ROUNDS = 5;
/** A record is a few hundred bytes (its checks are a short list); anything larger is not one. */
const READ_RECORD_MAX_BYTES = 64 * 1024;

/** A record as a fenced writer read it: its etag (absent: no object) and content (absent: none, or not a record). */
interface CurrentRead {
  readonly etag?: string;
  readonly record?: VersionReadRecord;
}

/**
 * The record at `uri` as a fenced writer sees it, with the etag a conditional write must match. A record that is not
 * one (broken, too large) is no owner: it may be written over.
 */
async function currentRead(store: ObjectStore, uri: string): Promise<CurrentRead> {
  // stat first: a record replaced between the stat and the get fails the write's condition, so no decision is made on
  // one record and written over another.
  const info = await store.stat(uri);
  if (!info) return {};
  try {
    const record = checkVersionRead(await store.getJson(uri, { maxBytes: READ_RECORD_MAX_BYTES }), uri);
    return { etag: info.etag, record };
  } catch (thrown) {
    if (thrown instanceof NotFoundError) return {}; // removed since the stat: absent (a write then expects none)
    if (thrown instanceof InvalidInputError || thrown instanceof ResourceLimitError) return { etag: info.etag };
    throw thrown;
  }
}

/**
 * Write `record` at `uri` unless an attempt newer than the record's own owns what is there. The write is conditional
 * on what was read (S3 If-Match / If-None-Match), so one that lands in between is read and judged again. A store
 * error throws; a refusal is the caller's to log, not an error of the run.
 */
export async function putVersionRead(
  store: ObjectStore,
  uri: string,
  record: VersionReadRecord & { readonly attempt: number },
): Promise<VersionReadWrite> {
  for (let round = 1; ; round += 1) {
    const current = await currentRead(store, uri);
    const ownedBy = newerOwnerOf(current.record, record.attempt);
    if (ownedBy !== undefined) return { written: false, ownedBy };
    try {
      await store.putJson(uri, record, {
        condition: current.etag !== undefined ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
      });
      return { written: true };
    } catch (thrown) {
      if (!(thrown instanceof ConflictError) || round >= FENCED_WRITE_ROUNDS) throw thrown;
    }
  }
}

/**
 * Remove the record at `uri` unless an attempt newer than `attempt` owns it. S3 has no conditional delete here: a
 * newer attempt's write landing between the read and the removal is lost, a window of one request.
 */
export async function removeVersionRead(store: ObjectStore, uri: string, attempt: number): Promise<VersionReadWrite> {
  const current = await currentRead(store, uri);
  const ownedBy = newerOwnerOf(current.record, attempt);
  if (ownedBy !== undefined) return { written: false, ownedBy };
  if (current.etag !== undefined) await store.remove(uri);
  return { written: true };
}
