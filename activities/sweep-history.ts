/**
 * The sweep history's I/O (src/core/sweep/sweep-history.ts has the record, the checks and the caps):
 *
 * - {@link writeSweepHistory}, called by `writeSweepResults` once the results are written: one record per ended
 *   sweep under `s3://<bucket>/sweeps/<pipeline>/<stageId>/`. Best effort: a failure is logged on the worker and
 *   returned as a message, never thrown, so the stage's outcome never depends on it.
 * - `readSweepHistory` (a sweep activity, registered with the trial activities): the newest records of the same
 *   pipeline stage, each refused unread when it is larger than the cap, parsed and checked by
 *   `warmStartFromHistory`. An object that cannot be read is one more ignored record; only a failing listing
 *   (the store is down) throws, and the workflow then starts cold.
 *
 * The objects live in the worker's own bucket under a key built from the run's pipeline and stage (never a URI a
 * pipeline author wrote), so no outbound policy applies; every byte read is still treated as untrusted.
 */
import { NotFoundError } from '../src/core/errors';
import { sweepHistoryPrefix, sweepHistoryUri } from '../src/core/storage/layout';
import { parseS3Uri } from '../src/core/storage/uri';
import type { StageContext } from '../src/core/run/run-types';
import {
  SWEEP_HISTORY_LIMITS,
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
export async function readSweepHistory(store: ObjectStore, input: SweepHistoryReadInput): Promise<WarmStart> {
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
  const records = newestRecords(await store.list(prefix), prefix, sweeps);
  const objects = await Promise.all(records.map((info) => readObject(store, prefix, info)));
  return warmStartFromHistory(objects, expected, {
    sweeps,
    maxTrials: Math.min(input.settings.maxTrials, SWEEP_HISTORY_LIMITS.trials),
  });
}

/** Record objects directly under the prefix, newest first (keys start with the end time). */
function newestRecords(listed: readonly ObjectInfo[], prefix: string, count: number): ObjectInfo[] {
  const folder = parseS3Uri(prefix).key;
  return listed
    .filter((info) => info.key.startsWith(folder) && !info.key.slice(folder.length).includes('/'))
    .filter((info) => info.key.endsWith('.json'))
    .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0))
    .slice(0, count);
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
