/**
 * Stage logs of a run, read from the object store where the stage runner writes them
 * (runs/<runId>/<stageId>/logs/attempt-<n>.log). `fineflow logs` prints them; `--follow`
 * polls and prints what was appended since.
 */
import type { ObjectStore } from '../storage/object-store';
import { runPrefix, stageLogPrefix } from '../core/storage/layout';

export interface StageLogFile {
  readonly stageId: string;
  readonly attempt: number;
  readonly uri: string;
  readonly size: number;
}

const LOG_KEY = /\/runs\/[^/]+\/([^/]+)\/logs\/attempt-(\d+)\.log$/;

/** Every log of a run (or of one stage), ordered by stage then attempt. */
export async function listStageLogs(
  store: ObjectStore,
  bucket: string,
  runId: string,
  stageId?: string,
): Promise<StageLogFile[]> {
  const prefix = stageId ? stageLogPrefix(bucket, runId, stageId) : runPrefix(bucket, runId);
  const objects = await store.list(prefix);
  const logs: StageLogFile[] = [];
  for (const object of objects) {
    const uri = `s3://${object.bucket}/${object.key}`;
    const match = LOG_KEY.exec(`/${object.key}`);
    if (!match?.[1] || !match[2]) continue;
    logs.push({ stageId: match[1], attempt: Number(match[2]), uri, size: object.size });
  }
  return logs.sort((a, b) => a.stageId.localeCompare(b.stageId) || a.attempt - b.attempt);
}

/**
 * Print logs through `write`; `printed` remembers how much of each file was shown, so a
 * follow loop calls it again and only new text appears.
 */
export async function printStageLogs(
  store: ObjectStore,
  logs: readonly StageLogFile[],
  write: (text: string) => void,
  printed: Map<string, number> = new Map(),
): Promise<Map<string, number>> {
  for (const log of logs) {
    const done = printed.get(log.uri) ?? 0;
    if (log.size <= done) continue;
    const bytes = await store.getBytes(log.uri);
    if (done === 0) write(`==> ${log.stageId} attempt ${log.attempt} <==\n`);
    write(bytes.subarray(done).toString('utf8'));
    printed.set(log.uri, bytes.length);
  }
  return printed;
}
