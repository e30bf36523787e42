/**
 * What `fineflow gc` deletes, decided from facts gathered elsewhere (src/retention/gc.ts): pure, so
 * every rule is unit-tested. Rules, in order:
 * 1. A run that is running or waiting (a waiting run can be retried and resume) keeps everything.
 * 2. A cache entry older than `olderThanMs` that no pipeline stage's index points at is removed;
 *    the artifacts of every entry kept are protected wherever they live (under a run's prefix).
 * 3. A run that ended more than `olderThanMs` ago loses its prefix, unless a registered model names
 *    it as lineage (then only its checkpoints go); protected objects stay.
 * 4. A run that ended more than `checkpointsAfterMs` ago loses its checkpoints (resume needs them
 *    only while the run can still be retried).
 * 5. A sweep stage's history (`sweeps/<pipeline>/<stageId>/`) keeps its newest `keepSweeps` records (by end time,
 *    which starts the key); older records go. Anything else under `sweeps/` is not a record and stays.
 */
import { parseSweepHistoryKey } from '../core/storage/layout';
import { parseS3Uri } from '../core/storage/uri';

export interface GcPolicy {
  /** Age after which an ended run's prefix and an unindexed cache entry are removed. */
  readonly olderThanMs: number;
  /** Age after which an ended run's checkpoints are removed. */
  readonly checkpointsAfterMs: number;
  /** Sweep history records kept per pipeline stage, newest first (`SWEEP_HISTORY_RETENTION`). */
  readonly keepSweeps: number;
}

export interface GcObject {
  readonly uri: string;
  readonly size: number;
  readonly lastModifiedMs: number;
}

/** What Temporal says about a run; `unknown` when it has no record (its history expired or it never existed). */
export type GcRunStatus = 'active' | 'ended' | 'unknown';

export interface GcFacts {
  readonly nowMs: number;
  /** Objects under `runs/<runId>/`, by run id. */
  readonly runObjects: ReadonlyMap<string, readonly GcObject[]>;
  readonly runStatus: ReadonlyMap<string, GcRunStatus>;
  /** Runs a registered model's lineage names. */
  readonly modelRuns: ReadonlySet<string>;
  readonly cacheEntries: readonly {
    readonly key: string;
    readonly createdAtMs: number;
    /** A pipeline stage's `latest.json` points at it. */
    readonly indexed: boolean;
    readonly artifacts: readonly string[];
    readonly objects: readonly GcObject[];
  }[];
  /** Objects under `sweeps/`. */
  readonly sweepObjects: readonly GcObject[];
}

export interface GcItem {
  readonly kind: 'run' | 'checkpoints' | 'cache-entry' | 'sweep-history';
  /** Run id, cache key, or `<pipeline>/<stageId>` of a sweep history. */
  readonly id: string;
  readonly reason: string;
  readonly objects: readonly GcObject[];
  readonly bytes: number;
}

export interface GcPlan {
  readonly remove: readonly GcItem[];
  readonly bytes: number;
  readonly objects: number;
}

const DAY_MS = 86_400_000;

/**
 * The checkpoints Fineflow writes under a run: a stage's (`runs/<run>/<stage>/checkpoints/…`, evaluate's from-scratch
 * baseline included) and a sweep trial's (`runs/<run>/<stage>/trials/trial-NNNN/checkpoints/…`, every epoch of every
 * trial). Not any folder a command names `checkpoints`: that is an output.
 */
const RUN_CHECKPOINT = /^s3:\/\/[^/]+\/runs\/[^/]+\/[^/]+\/(?:trials\/trial-\d+\/)?checkpoints\//;

function item(kind: GcItem['kind'], id: string, reason: string, objects: readonly GcObject[]): GcItem | undefined {
  if (objects.length === 0) return undefined;
  return { kind, id, reason, objects, bytes: objects.reduce((sum, object) => sum + object.size, 0) };
}

function age(nowMs: number, thenMs: number): string {
  return `${((nowMs - thenMs) / DAY_MS).toFixed(1)} days`;
}

export function planGc(facts: GcFacts, policy: GcPolicy): GcPlan {
  const remove: GcItem[] = [];
  const protectedUris = new Set<string>();
  for (const entry of facts.cacheEntries) {
    const old = facts.nowMs - entry.createdAtMs > policy.olderThanMs;
    if (entry.indexed || !old) {
      for (const uri of entry.artifacts) protectedUris.add(uri);
      continue;
    }
    const reason = `cache entry ${age(facts.nowMs, entry.createdAtMs)} old, no pipeline stage's latest`;
    const removed = item('cache-entry', entry.key, reason, entry.objects);
    if (removed) remove.push(removed);
  }
  for (const [runId, objects] of [...facts.runObjects].sort(([a], [b]) => a.localeCompare(b))) {
    const status = facts.runStatus.get(runId) ?? 'unknown';
    if (status === 'active') continue;
    const endedMs = Math.max(...objects.map((object) => object.lastModifiedMs));
    const free = objects.filter((object) => !protectedUris.has(object.uri));
    const record = status === 'unknown' ? ' (no record in Temporal)' : '';
    if (facts.nowMs - endedMs > policy.olderThanMs && !facts.modelRuns.has(runId)) {
      const removed = item('run', runId, `run ended ${age(facts.nowMs, endedMs)} ago${record}`, free);
      if (removed) remove.push(removed);
      continue;
    }
    if (facts.nowMs - endedMs > policy.checkpointsAfterMs) {
      const checkpoints = free.filter((object) => RUN_CHECKPOINT.test(object.uri));
      const removed = item(
        'checkpoints',
        runId,
        `checkpoints of a run ended ${age(facts.nowMs, endedMs)} ago`,
        checkpoints,
      );
      if (removed) remove.push(removed);
    }
  }
  remove.push(...sweepHistoryItems(facts.sweepObjects, policy.keepSweeps));
  return {
    remove,
    bytes: remove.reduce((sum, entry) => sum + entry.bytes, 0),
    objects: remove.reduce((sum, entry) => sum + entry.objects.length, 0),
  };
}

/** Per pipeline stage, the records older than the newest `keep`; stages in name order. */
function sweepHistoryItems(objects: readonly GcObject[], keep: number): GcItem[] {
  const byStage = new Map<string, { readonly name: string; readonly object: GcObject }[]>();
  for (const object of objects) {
    const key = parseSweepHistoryKey(parseS3Uri(object.uri).key);
    if (!key) continue;
    const stage = `${key.pipeline}/${key.stage}`;
    const name = object.uri.slice(object.uri.lastIndexOf('/') + 1);
    const records = byStage.get(stage) ?? [];
    records.push({ name, object });
    byStage.set(stage, records);
  }
  const items: GcItem[] = [];
  for (const [stage, records] of [...byStage].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const oldest = records
      .sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0))
      .slice(keep)
      .map((record) => record.object);
    const reason = `sweep records older than this stage's newest ${keep} (of ${records.length})`;
    const removed = item('sweep-history', stage, reason, oldest);
    if (removed) items.push(removed);
  }
  return items;
}
