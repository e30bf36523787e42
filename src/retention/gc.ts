/**
 * `fineflow gc`: gathers the facts the retention rules need (src/retention/gc-plan.ts) from the
 * object store (runs, cache entries, sweep history), Temporal and the model registry, and deletes
 * what the plan lists. Any failure to learn a fact (Temporal unreachable, an unreadable cache entry)
 * fails the whole collection: nothing is deleted on a guess. One exception keeps the rest of a collection going:
 * when what schedules, watchers and open runs need of dataset versions cannot be learned, the plan drops no dataset
 * version and says why (rule 6).
 */
import { InvalidInputError } from '../core/errors';
import { formatS3Uri } from '../core/storage/uri';
import { readCacheEntry, readJsonIfExists, type CacheIndexPointer } from '../cache/cache-store';
import { listModels, showModel } from '../ml/models/registry';
import type { ObjectInfo, ObjectStore } from '../storage/object-store';
import type { RunClient } from '../client/run-client';
import { checkDatasetManifest, parseDatasetVersionKey } from '../datasets/dataset-version';
import { ensureError } from '../core/errors';
import { gatherDatasetNeeds, type DatasetNeeds } from './dataset-needs';
import {
  objectVersionKey,
  planGc,
  type GcDatasetVersion,
  type GcFacts,
  type GcObject,
  type GcObjectVersion,
  type GcPlan,
  type GcPolicy,
  type GcRunStatus,
} from './gc-plan';

const toGcObject = (info: ObjectInfo): GcObject => ({
  uri: formatS3Uri(info),
  size: info.size,
  lastModifiedMs: info.lastModified.getTime(),
});

function groupBy(objects: readonly ObjectInfo[], pattern: RegExp): Map<string, GcObject[]> {
  const groups = new Map<string, GcObject[]>();
  for (const info of objects) {
    const id = pattern.exec(info.key)?.[1];
    if (id === undefined) continue;
    groups.set(id, [...(groups.get(id) ?? []), toGcObject(info)]);
  }
  return groups;
}

async function runStatus(runs: GcRuns, runId: string): Promise<GcRunStatus> {
  try {
    return (await runs.execution(runId)).ended === undefined ? 'active' : 'ended';
  } catch (thrown) {
    // "no run X": Temporal has no record. Anything else (unreachable) must stop the collection.
    if (thrown instanceof InvalidInputError) return 'unknown';
    throw thrown;
  }
}

async function cacheFacts(store: ObjectStore, bucket: string): Promise<GcFacts['cacheEntries']> {
  const listed = await store.list(formatS3Uri({ bucket, key: 'cache/' }));
  const indexed = new Set<string>();
  for (const info of listed.filter((object) => /^cache\/index\/.+\/latest\.json$/.test(object.key))) {
    const pointer = await readJsonIfExists<CacheIndexPointer>(store, formatS3Uri(info));
    if (pointer) indexed.add(pointer.key);
  }
  const entries: GcFacts['cacheEntries'][number][] = [];
  for (const [key, objects] of groupBy(listed, /^cache\/([0-9a-f]{64})\//)) {
    const entry = await readCacheEntry(store, bucket, key);
    const createdAtMs = entry ? Date.parse(entry.createdAt) : Math.max(...objects.map((o) => o.lastModifiedMs));
    entries.push({
      key,
      createdAtMs,
      indexed: indexed.has(key),
      artifacts: entry?.artifacts.map((artifact) => artifact.uri) ?? [],
      objects,
    });
  }
  return entries;
}

/** The runs and dataset versions registered models name in their lineage. */
async function modelLineage(
  store: ObjectStore,
  bucket: string,
): Promise<{ readonly runs: Set<string>; readonly datasetVersions: Set<string> }> {
  const runs = new Set<string>();
  const datasetVersions = new Set<string>();
  for (const model of await listModels(store, bucket)) {
    for (const card of (await showModel(store, bucket, model.name)).versions) {
      if (card.lineage.runId) runs.add(card.lineage.runId);
      if (card.lineage.datasetVersion) datasetVersions.add(card.lineage.datasetVersion);
    }
  }
  return { runs, datasetVersions };
}

/** Every sealed dataset version: the manifests under `datasets/` in Fineflow's bucket. */
async function datasetVersionFacts(store: ObjectStore, bucket: string): Promise<GcDatasetVersion[]> {
  const versions: GcDatasetVersion[] = [];
  const listed = await store.list(formatS3Uri({ bucket, key: 'datasets/' }));
  for (const info of listed) {
    if (parseDatasetVersionKey(info.key)?.kind !== 'manifest') continue;
    const reads = `${info.key.slice(0, -'.json'.length)}.reads/`;
    const uri = formatS3Uri(info);
    const manifest = checkDatasetManifest(await store.getJson(uri), uri);
    versions.push({
      prefix: manifest.prefix,
      id: manifest.id,
      createdAtMs: Date.parse(manifest.createdAt),
      manifest: toGcObject(info),
      readRecords: listed.filter((other) => other.key.startsWith(reads)).map(toGcObject),
      objects: manifest.objects.map(({ key, versionId }) => ({ key, ...(versionId ? { versionId } : {}) })),
    });
  }
  return versions;
}

/** The prefixes not under another of them: listing those lists every object version of them all, once. */
function outermostPrefixes(prefixes: readonly string[]): Set<string> {
  const sorted = [...new Set(prefixes)].sort();
  return new Set(sorted.filter((prefix) => !sorted.some((other) => other !== prefix && prefix.startsWith(other))));
}

/**
 * The object versions under each dataset prefix (rule 6 never guesses which one is current; rule 7 collects those no
 * kept version names).
 */
async function objectVersionFacts(
  store: ObjectStore,
  prefixes: ReadonlySet<string>,
): Promise<Map<string, GcObjectVersion>> {
  const found = new Map<string, GcObjectVersion>();
  if (prefixes.size === 0) return found;
  if (!store.listVersions)
    throw new InvalidInputError('this object store cannot list object versions, so gc cannot collect dataset versions');
  for (const prefix of [...prefixes].sort()) {
    const listed = await store.listVersions(prefix);
    const byUri = new Map<string, number[]>();
    for (const version of listed) {
      const uri = formatS3Uri(version);
      byUri.set(uri, [...(byUri.get(uri) ?? []), version.lastModified.getTime()]);
    }
    for (const version of listed) {
      if (version.isDeleteMarker) continue;
      const lastModifiedMs = version.lastModified.getTime();
      const replacedAtMs = version.isLatest
        ? undefined
        : replacedAt(byUri.get(formatS3Uri(version)) ?? [], lastModifiedMs);
      found.set(objectVersionKey(formatS3Uri(version), version.versionId), {
        isLatest: version.isLatest,
        size: version.size,
        lastModifiedMs,
        ...(replacedAtMs !== undefined ? { replacedAtMs } : {}),
      });
    }
  }
  return found;
}

/**
 * When a noncurrent version stopped being current: the upload (or delete marker) that came next, i.e. the earliest of
 * the key's versions written at or after it other than itself (with a tie, its own time: the latest it can be).
 * Undefined when none is listed (then gc takes it as replaced just now).
 */
function replacedAt(times: readonly number[], ownMs: number): number | undefined {
  const later = [...times].sort((a, b) => a - b).filter((time) => time >= ownMs);
  // `later` holds its own time once; a second entry is the next write (or a tie).
  return later.length > 1 ? later[1] : undefined;
}

/** What gc-plan needs to know from Temporal: how runs stand and, for rule 6, what schedules and open runs need. */
export type GcRuns = Pick<RunClient, 'execution' | 'openRuns' | 'client'>;

/** The needs of rule 6, or why they could not be learned. */
async function datasetNeedsOrWhyNot(
  runs: GcRuns,
  store: ObjectStore,
  bucket: string,
): Promise<{ readonly needs?: DatasetNeeds; readonly unknown?: string }> {
  try {
    return { needs: await gatherDatasetNeeds(runs.client, runs, { store, bucket }) };
  } catch (thrown) {
    return { unknown: `listing schedules, data watchers and open runs failed: ${ensureError(thrown).message}` };
  }
}

/** Every fact the plan needs, read now. */
export async function gatherGcFacts(
  store: ObjectStore,
  bucket: string,
  runs: GcRuns,
  nowMs: number,
  /** With `keepDatasetVersions`, the facts of rule 6 too (dataset manifests and object versions). */
  policy?: Pick<GcPolicy, 'keepDatasetVersions' | 'olderThanMs'>,
): Promise<GcFacts> {
  const runObjects = groupBy(await store.list(formatS3Uri({ bucket, key: 'runs/' })), /^runs\/([^/]+)\//);
  const runStatusById = new Map<string, GcRunStatus>();
  for (const runId of runObjects.keys()) runStatusById.set(runId, await runStatus(runs, runId));
  const lineage = await modelLineage(store, bucket);
  const facts: GcFacts = {
    nowMs,
    runObjects,
    runStatus: runStatusById,
    modelRuns: lineage.runs,
    cacheEntries: await cacheFacts(store, bucket),
    sweepObjects: (await store.list(formatS3Uri({ bucket, key: 'sweeps/' }))).map(toGcObject),
  };
  if (policy?.keepDatasetVersions === undefined) return facts;
  const datasetVersions = await datasetVersionFacts(store, bucket);
  const { needs, unknown } = await datasetNeedsOrWhyNot(runs, store, bucket);
  return {
    ...facts,
    datasetVersions,
    modelDatasetVersions: lineage.datasetVersions,
    ...(needs
      ? { datasetVersionNeeds: needs.pins, openRuns: needs.openRuns, openRunUnpinnedReads: needs.unpinnedReads }
      : {}),
    ...(unknown !== undefined ? { datasetNeedsUnknown: unknown } : {}),
    datasetObjectVersions: await objectVersionFacts(store, outermostPrefixes(datasetVersions.map((v) => v.prefix))),
  };
}

export async function planCollection(
  store: ObjectStore,
  bucket: string,
  runs: GcRuns,
  policy: GcPolicy,
  nowMs = Date.now(),
): Promise<GcPlan> {
  return planGc(await gatherGcFacts(store, bucket, runs, nowMs, policy), policy);
}

/** Delete what the plan lists, a few objects at a time; returns how many were deleted. */
export async function executeGc(store: ObjectStore, plan: Pick<GcPlan, 'remove'>, concurrency = 8): Promise<number> {
  const objects = plan.remove.flatMap((entry) => entry.objects);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const object = objects[next++] as GcObject;
      await store.remove(object.uri, object.versionId ? { versionId: object.versionId } : undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, worker));
  return objects.length;
}
