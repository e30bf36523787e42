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
 * 6. Only with `keepDatasetVersions` (absent: dataset versions are never collected): a dataset prefix keeps its newest
 *    `keepDatasetVersions` versions, every version a registered model's lineage names, every version sealed within
 *    `olderThanMs`, every version a live schedule's or data watcher's pipeline pins, every version a run that has not
 *    ended pins, was triggered by or has a read record of (prepare-data writes one as soon as it has resolved the
 *    version, before it reads; for a version it seals, before the manifest, so gc never sees that version without
 *    it and a second stage of the run reading the same prefix leaves no gap; the record completes as read or failed:
 *    src/datasets/version-reads.ts; a failed read's stage may still be retried while its run is open), and, while
 *    such a run reads a prefix unpinned and has
 *    no record under it yet (it has not resolved its version), every version of it sealed since the run started.
 *    Another version loses its manifest and the S3 object versions only it names: never an object's current version
 *    (what the prefix holds now), never one a kept version of any prefix names. When gc could not learn what
 *    schedules, watchers and open runs need, no version is dropped. Every version kept past its prefix's newest N is
 *    listed with why.
 * 7. With `keepDatasetVersions`, under each dataset prefix: the noncurrent S3 object versions no kept version names,
 *    uploaded more than `olderThanMs` ago (a file overwritten twice between two seals left one no manifest ever
 *    named), never an object's current version. Rules 6 and 7 delete a noncurrent object version only once it was
 *    replaced more than `SEAL_SETTLED_MS` ago, whatever `olderThanMs` says: a seal in progress that saw it current
 *    could still write a manifest naming it until then (seals are time-bounded, src/datasets/version-store.ts). Rule 7
 *    needs nothing from Temporal (no schedule, watcher or run can pin an object version no version names), so it
 *    collects even when rule 6 drops nothing because Temporal could not be read.
 */
import { formatHumanDuration } from '../core/spec/durations';
import { parseSweepHistoryKey } from '../core/storage/layout';
import { parseS3Uri } from '../core/storage/uri';
import { parseVersionReadUri } from '../datasets/version-reads';
import { SEAL_SETTLED_MS } from '../datasets/dataset-version';

export interface GcPolicy {
  /** Dataset versions kept per prefix, newest first (rule 6); absent = no dataset version is collected. */
  readonly keepDatasetVersions?: number;
  /** Age after which an ended run's prefix, an unindexed cache entry and an unneeded dataset version are removed. */
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
  /** One S3 version of the object (rule 6): that version is deleted for good, not the object. */
  readonly versionId?: string;
}

/** A sealed dataset version, as rule 6 needs it. */
export interface GcDatasetVersion {
  /** The data's prefix, `s3://bucket/prefix/`. */
  readonly prefix: string;
  readonly id: string;
  readonly createdAtMs: number;
  /** Its manifest (in Fineflow's bucket, `datasets/<bucket>/<prefix>_versions/<id>.json`). */
  readonly manifest: GcObject;
  /** Records of the runs that read it, beside the manifest (`<id>.reads/…`, src/datasets/version-reads.ts). */
  readonly readRecords?: readonly GcObject[];
  /** The objects it names: key relative to the prefix, and the S3 version when the bucket was versioned. */
  readonly objects: readonly { readonly key: string; readonly versionId?: string }[];
}

/** One S3 object version under a dataset prefix (rule 6). */
export interface GcObjectVersion {
  readonly isLatest: boolean;
  readonly size: number;
  readonly lastModifiedMs: number;
  /**
   * A noncurrent version: when the next upload or delete marker replaced it (absent: unknown, taken as just now). A
   * seal in progress may name it until {@link SEAL_SETTLED_MS} after that, so it is never deleted sooner.
   */
  readonly replacedAtMs?: number;
}

/**
 * A noncurrent object version that no seal in progress can name any more: any seal that saw it current began before
 * it was replaced, and has written its manifest (gc listed manifests after `nowMs`) or given up
 * (src/datasets/version-store.ts bounds a seal's time). Whatever `--older-than` says.
 */
function settled(listed: GcObjectVersion, nowMs: number): boolean {
  return !listed.isLatest && listed.replacedAtMs !== undefined && nowMs - listed.replacedAtMs > SEAL_SETTLED_MS;
}

/** `uri` + version id: how rule 6 names one object version. */
export function objectVersionKey(uri: string, versionId: string): string {
  return `${uri}\n${versionId}`;
}

/** The uri and version id of an {@link objectVersionKey} (a uri holds no newline: S3 keys given it are refused). */
function parseObjectVersionKey(key: string): { readonly uri: string; readonly versionId: string } {
  const cut = key.lastIndexOf('\n');
  return { uri: key.slice(0, cut), versionId: key.slice(cut + 1) };
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
  /** Rule 6 only (gathered when the policy sets `keepDatasetVersions`): every sealed dataset version. */
  readonly datasetVersions?: readonly GcDatasetVersion[];
  /** Rule 6: dataset version ids a registered model's lineage names. */
  readonly modelDatasetVersions?: ReadonlySet<string>;
  /** Rules 6 and 7: the object versions under every dataset prefix, by {@link objectVersionKey}. */
  readonly datasetObjectVersions?: ReadonlyMap<string, GcObjectVersion>;
  /**
   * Rule 6: why a live schedule, data watcher or open run needs a dataset version (each a sentence naming it), by
   * version id (src/retention/dataset-needs.ts).
   */
  readonly datasetVersionNeeds?: ReadonlyMap<string, readonly string[]>;
  /** Rule 6: runs that have not ended; a version with a read record of one of them is being read. */
  readonly openRuns?: ReadonlySet<string>;
  /** Rule 6: what open runs read unpinned, and since when (a version of it sealed since may be theirs). */
  readonly openRunUnpinnedReads?: readonly OpenRunUnpinnedReads[];
  /** Rule 6: why gc could not learn what schedules, watchers and open runs need; then no dataset version is dropped. */
  readonly datasetNeedsUnknown?: string;
}

export interface GcItem {
  readonly kind: 'run' | 'checkpoints' | 'cache-entry' | 'sweep-history' | 'dataset-version' | 'dataset-objects';
  /**
   * Run id, cache key, `<pipeline>/<stageId>` of a sweep history, `<prefix>@<id start>` of a dataset version, or the
   * prefix whose unnamed object versions go (`dataset-objects`).
   */
  readonly id: string;
  readonly reason: string;
  readonly objects: readonly GcObject[];
  readonly bytes: number;
}

/** Something a rule kept although its age or rank alone would have let it go, and why. */
export interface GcKept {
  readonly kind: 'dataset-version';
  /** `<prefix>@<id start>`, as {@link GcItem} names a dataset version. */
  readonly id: string;
  readonly reason: string;
}

export interface GcPlan {
  readonly remove: readonly GcItem[];
  /** Dataset versions kept past their prefix's newest N (rule 6), each with every reason it is kept. */
  readonly kept: readonly GcKept[];
  /** Set when rule 6 dropped no dataset version because it could not learn what needs them: why. */
  readonly datasetVersionsRefused?: string;
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

/** `40.0 days`; under a day, as people write it (`3h 5m`, `12 s`), not `0.0 days`. */
function age(nowMs: number, thenMs: number): string {
  const ms = nowMs - thenMs;
  return ms < DAY_MS ? formatHumanDuration(ms) : `${(ms / DAY_MS).toFixed(1)} days`;
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
  const datasets = datasetVersionItems(facts, policy);
  remove.push(...datasets.remove);
  return {
    remove,
    kept: datasets.kept,
    ...(policy.keepDatasetVersions !== undefined && facts.datasetNeedsUnknown !== undefined
      ? { datasetVersionsRefused: facts.datasetNeedsUnknown }
      : {}),
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

/** An open run and the `s3://` locations it reads unpinned (src/retention/dataset-needs.ts). */
export interface OpenRunUnpinnedReads {
  readonly runId: string;
  readonly startedAtMs: number;
  readonly locations: readonly string[];
}

/** Seals this close before a run's start may still be its own (clocks of the worker and Temporal differ). */
const CLOCK_SKEW_MS = 60_000;

/** What rule 6 knows needs a dataset version, besides its rank and age. */
export interface DatasetVersionNeeds {
  /** Version ids a registered model's lineage names. */
  readonly models: ReadonlySet<string>;
  /** Why a live schedule, watcher or open run needs a version, by version id. */
  readonly pins?: ReadonlyMap<string, readonly string[]>;
  /** Runs that have not ended (their read records, `reading`, `read` or `failed`, mark a version they need). */
  readonly openRuns?: ReadonlySet<string>;
  /** What open runs read unpinned: each version of such a prefix sealed since the run started is kept. */
  readonly unpinnedReads?: readonly OpenRunUnpinnedReads[];
  /** Set when the pins and open runs could not be learned: nothing is dropped, and this says why. */
  readonly unknown?: string;
}

/** One version of a prefix, ranked newest first (0 = newest) among the `of` versions of its prefix. */
export interface RankedDatasetVersion {
  readonly version: GcDatasetVersion;
  readonly rank: number;
  readonly of: number;
}

/** The prefixes under which each run has a read record: the versions it resolved there are named exactly. */
function recordedReads(versions: readonly GcDatasetVersion[]): Map<string, string[]> {
  const byRun = new Map<string, string[]>();
  for (const version of versions)
    for (const record of version.readRecords ?? []) {
      const read = parseVersionReadUri(record.uri);
      if (read) byRun.set(read.runId, [...(byRun.get(read.runId) ?? []), version.prefix]);
    }
  return byRun;
}

/**
 * Every reason, beyond rank, that `version` must stay (none: it may go). `resolved`: the prefixes under which each
 * open run has a read record ({@link recordedReads}).
 */
function whyKeep(
  version: GcDatasetVersion,
  needs: DatasetVersionNeeds,
  resolved: ReadonlyMap<string, readonly string[]>,
  olderThanMs: number,
  nowMs: number,
): string[] {
  const why: string[] = [];
  if (nowMs - version.createdAtMs <= olderThanMs)
    why.push(`sealed ${age(nowMs, version.createdAtMs)} ago, within --older-than`);
  if (needs.models.has(version.id)) why.push("a registered model's lineage names it");
  why.push(...(needs.pins?.get(version.id) ?? []));
  for (const record of version.readRecords ?? []) {
    const read = parseVersionReadUri(record.uri);
    if (read && needs.openRuns?.has(read.runId))
      why.push(`run ${read.runId} (not ended) has a read record of it (stage ${read.stage}: reading, read or failed)`);
  }
  for (const run of needs.unpinnedReads ?? []) {
    const recorded = resolved.get(run.runId) ?? [];
    // Resolved: its records under the location name what it reads. Not yet: any version sealed since it started may be.
    const location = run.locations.find(
      (uri) => uri.startsWith(version.prefix) && !recorded.some((prefix) => uri.startsWith(prefix)),
    );
    if (location !== undefined && version.createdAtMs >= run.startedAtMs - CLOCK_SKEW_MS)
      why.push(
        `run ${run.runId} (not ended) reads ${location} unpinned and has not resolved its version yet: every ` +
          'version sealed since it started is kept',
      );
  }
  if (needs.unknown !== undefined) why.push('what schedules, data watchers and open runs need is unknown (below)');
  return why;
}

/**
 * Rule 6, per dataset prefix: the versions to keep (newest `keepDatasetVersions`, or with a reason from
 * {@link whyKeep}) and those to drop. `gatherGcFacts` (gc.ts) lists object versions only under the prefixes with a
 * version to drop.
 */
export function datasetVersionsToDrop(
  versions: readonly GcDatasetVersion[],
  policy: Pick<GcPolicy, 'keepDatasetVersions' | 'olderThanMs'>,
  needs: DatasetVersionNeeds,
  nowMs: number,
): {
  readonly kept: (RankedDatasetVersion & { readonly why: readonly string[] })[];
  readonly dropped: RankedDatasetVersion[];
} {
  const keep = policy.keepDatasetVersions;
  const byPrefix = new Map<string, GcDatasetVersion[]>();
  for (const version of versions) byPrefix.set(version.prefix, [...(byPrefix.get(version.prefix) ?? []), version]);
  const kept: (RankedDatasetVersion & { readonly why: readonly string[] })[] = [];
  const dropped: RankedDatasetVersion[] = [];
  const resolved = recordedReads(versions);
  for (const [, list] of [...byPrefix].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const newestFirst = [...list].sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? -1 : 1));
    newestFirst.forEach((version, rank) => {
      const ranked = { version, rank, of: newestFirst.length };
      if (keep === undefined || rank < keep) return void kept.push({ ...ranked, why: [] });
      const why = whyKeep(version, needs, resolved, policy.olderThanMs, nowMs);
      if (why.length > 0) kept.push({ ...ranked, why });
      else dropped.push(ranked);
    });
  }
  return { kept, dropped };
}

/** `<prefix>@<id start>`: how the table names a dataset version. */
function datasetVersionName(version: GcDatasetVersion): string {
  return `${version.prefix}@${version.id.slice(0, 12)}`;
}

function datasetVersionItems(facts: GcFacts, policy: GcPolicy): { remove: GcItem[]; kept: GcKept[] } {
  if (policy.keepDatasetVersions === undefined || !facts.datasetVersions) return { remove: [], kept: [] };
  const needs: DatasetVersionNeeds = {
    models: facts.modelDatasetVersions ?? new Set<string>(),
    ...(facts.datasetVersionNeeds ? { pins: facts.datasetVersionNeeds } : {}),
    ...(facts.openRuns ? { openRuns: facts.openRuns } : {}),
    ...(facts.openRunUnpinnedReads ? { unpinnedReads: facts.openRunUnpinnedReads } : {}),
    ...(facts.datasetNeedsUnknown !== undefined ? { unknown: facts.datasetNeedsUnknown } : {}),
  };
  const { kept, dropped } = datasetVersionsToDrop(facts.datasetVersions, policy, needs, facts.nowMs);
  const needed = new Set<string>();
  for (const { version } of kept)
    for (const object of version.objects)
      if (object.versionId) needed.add(objectVersionKey(`${version.prefix}${object.key}`, object.versionId));
  const scheduled = new Set<string>();
  const items: GcItem[] = [];
  for (const { version, rank, of } of dropped) {
    const objects: GcObject[] = [version.manifest, ...(version.readRecords ?? [])];
    for (const object of version.objects) {
      if (!object.versionId) continue; // an unversioned bucket: the object is the prefix's current data
      const uri = `${version.prefix}${object.key}`;
      const key = objectVersionKey(uri, object.versionId);
      const listed = facts.datasetObjectVersions?.get(key);
      if (!listed || !settled(listed, facts.nowMs) || needed.has(key) || scheduled.has(key)) continue;
      scheduled.add(key);
      objects.push({ uri, size: listed.size, lastModifiedMs: listed.lastModifiedMs, versionId: object.versionId });
    }
    const reason =
      `dataset version sealed ${age(facts.nowMs, version.createdAtMs)} ago, number ${rank + 1} of ${of} by age ` +
      `(the prefix keeps its newest ${policy.keepDatasetVersions}); no registered model, live schedule, data ` +
      'watcher or open run needs it';
    const removed = item('dataset-version', datasetVersionName(version), reason, objects);
    if (removed) items.push(removed);
  }
  items.push(...unnamedObjectVersionItems(facts, policy, needed, scheduled));
  const keptRows = kept
    .filter(({ why }) => why.length > 0)
    .map(({ version, rank, of, why }) => ({
      kind: 'dataset-version' as const,
      id: datasetVersionName(version),
      reason: `number ${rank + 1} of ${of} by age, kept: ${why.join('; ')}`,
    }));
  return { remove: items, kept: keptRows };
}

/**
 * Rule 7, per dataset prefix (the innermost holding the object): its noncurrent object versions that no kept version
 * names and no dropped version already lists, uploaded over `olderThanMs` ago.
 */
function unnamedObjectVersionItems(
  facts: GcFacts,
  policy: GcPolicy,
  needed: ReadonlySet<string>,
  scheduled: ReadonlySet<string>,
): GcItem[] {
  const prefixes = [...new Set((facts.datasetVersions ?? []).map((version) => version.prefix))].sort(
    (a, b) => b.length - a.length,
  );
  const byPrefix = new Map<string, GcObject[]>();
  for (const [key, listed] of facts.datasetObjectVersions ?? []) {
    if (!settled(listed, facts.nowMs) || needed.has(key) || scheduled.has(key)) continue;
    if (facts.nowMs - listed.lastModifiedMs <= policy.olderThanMs) continue;
    const { uri, versionId } = parseObjectVersionKey(key);
    const prefix = prefixes.find((candidate) => uri.startsWith(candidate));
    if (prefix === undefined) continue; // not under a dataset prefix: not Fineflow's to collect
    const objects = byPrefix.get(prefix) ?? [];
    objects.push({ uri, size: listed.size, lastModifiedMs: listed.lastModifiedMs, versionId });
    byPrefix.set(prefix, objects);
  }
  const items: GcItem[] = [];
  for (const [prefix, objects] of [...byPrefix].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    objects.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : a.lastModifiedMs - b.lastModifiedMs));
    const newest = Math.max(...objects.map((object) => object.lastModifiedMs));
    const reason =
      'replaced object versions no dataset version names (overwritten before a seal named them), the newest ' +
      `uploaded ${age(facts.nowMs, newest)} ago; each replaced over ${formatHumanDuration(SEAL_SETTLED_MS)} ago, ` +
      'so no seal in progress can name it; never what the prefix holds now';
    const removed = item('dataset-objects', prefix, reason, objects);
    if (removed) items.push(removed);
  }
  return items;
}
