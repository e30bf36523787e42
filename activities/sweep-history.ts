/**
 * The sweep history's I/O (src/core/sweep/sweep-history.ts has the record, the checks and the caps):
 *
 * - {@link writeSweepHistory}, called by `writeSweepResults` once the results are written: one record per ended
 *   sweep under `s3://<bucket>/sweeps/<pipeline>/<stageId>/`. Best effort: a failure is logged on the worker and
 *   returned as a message, never thrown, so the stage's outcome never depends on it.
 * - `readSweepHistory` (a sweep activity, registered with the trial activities): the newest records of the same
 *   pipeline stage, found by a few bounded listings (`newestHistoryObjects`, which `fineflow sweep-history` shares),
 * each refused unread when it is larger than
 *   the cap, parsed and checked by `warmStartFromHistory`. An object that cannot be read is one more ignored
 *   record; only a failing listing (the store is down) throws, and the workflow then starts cold.
 *
 * The objects live in the worker's own bucket under a key built from the run's pipeline and stage (never a URI a
 * pipeline author wrote), so no outbound policy applies; every byte read is still treated as untrusted.
 */
import { NotFoundError } from '../src/core/errors';
import { parseSweepHistoryKey, sweepHistoryPrefix, sweepHistoryUri } from '../src/core/storage/layout';
import { parseS3Uri } from '../src/core/storage/uri';
import type { StageContext } from '../src/core/run/run-types';
import {
  SWEEP_HISTORY_LIMITS,
  SWEEP_HISTORY_RETENTION,
  sweepHistoryRecord,
  warmStartFromHistory,
  type SweepHistoryObject,
  type SweepHistorySubject,
  type WarmStart,
  type WarmStartSettings,
} from '../src/core/sweep/sweep-history';
import type { RecordedResultsTable, SweepOutcome } from '../src/core/sweep/sweep-types';
import { confineWrites } from '../src/storage/confined-store';
import type { ObjectInfo, ObjectStore } from '../src/storage/object-store';

/** Input of the `readSweepHistory` activity. */
export interface SweepHistoryReadInput {
  readonly context: StageContext;
  readonly subject: SweepHistorySubject;
  readonly settings: WarmStartSettings;
}

/** Writes the record of an ended sweep; returns its URI, or why it was not written (it never throws). */
export async function writeSweepHistory(
  store: ObjectStore,
  input: {
    readonly context: StageContext;
    readonly subject: SweepHistorySubject;
    readonly table: RecordedResultsTable;
    readonly outcome: SweepOutcome;
    /** When the sweep ended; the first attempt's scheduling time keeps a retried write on the same key. */
    readonly endedAtMs: number;
  },
): Promise<{ readonly uri: string } | { readonly error: string }> {
  const { bucket, pipeline, stageId, runId, attempt } = input.context;
  try {
    const endedAt = new Date(input.endedAtMs).toISOString();
    const uri = sweepHistoryUri(bucket, pipeline, stageId, { endedAt, runId, attempt });
    const record = sweepHistoryRecord(
      { pipeline, stage: stageId, runId, attempt, endedAt, outcome: input.outcome },
      input.subject,
      input.table,
    );
    await confineWrites(store, sweepHistoryPrefix(bucket, pipeline, stageId)).putJson(uri, record);
    return { uri };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** The newest records of this pipeline stage, checked: the prior trials a warm-started sweep begins with. */
export async function readSweepHistory(
  store: ObjectStore,
  input: SweepHistoryReadInput,
  nowMs = Date.now(),
): Promise<WarmStart> {
  const { bucket, pipeline, stageId } = input.context;
  const expected = { ...input.subject, pipeline, stage: stageId };
  let prefix: string;
  try {
    prefix = sweepHistoryPrefix(bucket, pipeline, stageId);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return warmStartFromHistory([{ name: `${pipeline}/${stageId}`, unreadable: reason }], expected, input.settings);
  }
  const sweeps = Math.min(input.settings.sweeps, SWEEP_HISTORY_LIMITS.sweeps);
  const { objects, overflow } = await newestHistoryObjects(store, prefix, sweeps, nowMs);
  const warm = warmStartFromHistory(objects, expected, {
    sweeps,
    maxTrials: Math.min(input.settings.maxTrials, SWEEP_HISTORY_LIMITS.trials),
  });
  return overflow === undefined ? warm : { ...warm, summary: { ...warm.summary, overflow } };
}

/**
 * The newest `count` history objects under a stage's prefix (`sweepHistoryPrefix`), newest first, each read (or why
 * not) within the record cap: what a warm start reads, and what `fineflow sweep-history` shows. `overflow` says why
 * fewer were found than exist (see `newestRecords`).
 */
export async function newestHistoryObjects(
  store: ObjectStore,
  prefix: string,
  count: number,
  nowMs = Date.now(),
): Promise<{ readonly objects: readonly SweepHistoryObject[]; readonly overflow?: string }> {
  const { records, overflow } = await newestRecords(store, prefix, count, nowMs);
  const objects = await Promise.all(records.map((info) => readObject(store, prefix, info)));
  return overflow === undefined ? { objects } : { objects, overflow };
}

const HOUR_MS = 3_600_000;

/**
 * How far back each listing of a stage's history reaches: S3 lists oldest first and keys start with the end time,
 * so the newest records are those after a recent key (`start-after`); a stage that sweeps rarely needs a longer look
 * back. Each listing stops at `SWEEP_HISTORY_LIMITS.listedKeys`, so a stage with tens of thousands of records never
 * costs more than a few bounded listings.
 */
const LOOK_BACK: readonly { readonly ms: number; readonly label: string }[] = [
  { ms: HOUR_MS, label: 'hour' },
  { ms: 24 * HOUR_MS, label: 'day' },
  { ms: 7 * 24 * HOUR_MS, label: 'week' },
  { ms: 30 * 24 * HOUR_MS, label: '30 days' },
  { ms: 365 * 24 * HOUR_MS, label: 'year' },
  { ms: Number.POSITIVE_INFINITY, label: 'history' },
];

/**
 * The newest `count` records directly under the prefix, newest first; with `overflow` when a look-back held more
 * objects than one listing returns, so the newest could not be told apart: then the records of the previous (shorter)
 * look-back, all of them newer, are what the sweep starts from (none: cold).
 */
async function newestRecords(
  store: ObjectStore,
  prefix: string,
  count: number,
  nowMs: number,
): Promise<{ readonly records: readonly ObjectInfo[]; readonly overflow?: string }> {
  const folder = parseS3Uri(prefix).key;
  const cap = SWEEP_HISTORY_LIMITS.listedKeys;
  let newer: ObjectInfo[] = [];
  for (const [index, { ms, label }] of LOOK_BACK.entries()) {
    const since = nowMs - ms;
    const startAfter = Number.isFinite(since) && since > 0 ? `${folder}${new Date(since).toISOString()}` : undefined;
    const listed = await store.list(prefix, { maxKeys: cap + 1, ...(startAfter ? { startAfter } : {}) });
    if (listed.length > cap) {
      const previous = LOOK_BACK[index - 1]?.label;
      const read = previous ? `read the ${newer.length} of the last ${previous} only` : 'read none';
      const overflow =
        `more than ${cap} objects under ${prefix} in the last ${label}, too many to find the newest: ${read}; ` +
        `run \`fineflow gc\` to keep each stage's newest ${SWEEP_HISTORY_RETENTION.default} records`;
      return { records: newer.slice(0, count), overflow };
    }
    newer = listed
      .filter((info) => info.key.startsWith(folder) && parseSweepHistoryKey(info.key) !== undefined)
      .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    if (newer.length >= count) break;
  }
  return { records: newer.slice(0, count) };
}

/** One record's text, or why it is not read: too large (refused before reading), vanished, corrupt. */
async function readObject(store: ObjectStore, prefix: string, info: ObjectInfo): Promise<SweepHistoryObject> {
  const name = info.key.slice(info.key.lastIndexOf('/') + 1);
  const maxBytes = SWEEP_HISTORY_LIMITS.recordBytes;
  if (info.size > maxBytes)
    return { name, unreadable: `${info.size} bytes, more than a record may hold (${maxBytes})` };
  try {
    const bytes = await store.getBytes(`${prefix}${name}`, { maxBytes });
    return { name, text: bytes.toString('utf8') };
  } catch (error) {
    if (error instanceof NotFoundError) return { name, unreadable: 'removed while it was being read' };
    const message = error instanceof Error ? error.message : String(error);
    return { name, unreadable: `could not be read: ${message}` };
  }
}
