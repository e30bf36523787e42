/**
 * `fineflow gc`: gathers the facts the retention rules need (src/retention/gc-plan.ts) from the
 * object store (runs, cache entries, sweep history), Temporal and the model registry, and deletes
 * what the plan lists. Any failure to learn a fact (Temporal unreachable, an unreadable cache entry)
 * fails the whole collection: nothing is deleted on a guess.
 */
import { InvalidInputError } from '../core/errors';
import { formatS3Uri } from '../core/storage/uri';
import { readCacheEntry, readJsonIfExists, type CacheIndexPointer } from '../cache/cache-store';
import { listModels, showModel } from '../ml/models/registry';
import type { ObjectInfo, ObjectStore } from '../storage/object-store';
import type { RunClient } from '../client/run-client';
import { planGc, type GcFacts, type GcObject, type GcPlan, type GcPolicy, type GcRunStatus } from './gc-plan';

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

async function runStatus(runs: Pick<RunClient, 'execution'>, runId: string): Promise<GcRunStatus> {
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

async function modelRuns(store: ObjectStore, bucket: string): Promise<Set<string>> {
  const runIds = new Set<string>();
  for (const model of await listModels(store, bucket)) {
    for (const card of (await showModel(store, bucket, model.name)).versions) {
      if (card.lineage.runId) runIds.add(card.lineage.runId);
    }
  }
  return runIds;
}

/** Every fact the plan needs, read now. */
export async function gatherGcFacts(
  store: ObjectStore,
  bucket: string,
  runs: Pick<RunClient, 'execution'>,
  nowMs: number,
): Promise<GcFacts> {
  const runObjects = groupBy(await store.list(formatS3Uri({ bucket, key: 'runs/' })), /^runs\/([^/]+)\//);
  const runStatusById = new Map<string, GcRunStatus>();
  for (const runId of runObjects.keys()) runStatusById.set(runId, await runStatus(runs, runId));
  return {
    nowMs,
    runObjects,
    runStatus: runStatusById,
    modelRuns: await modelRuns(store, bucket),
    cacheEntries: await cacheFacts(store, bucket),
    sweepObjects: (await store.list(formatS3Uri({ bucket, key: 'sweeps/' }))).map(toGcObject),
  };
}

export async function planCollection(
  store: ObjectStore,
  bucket: string,
  runs: Pick<RunClient, 'execution'>,
  policy: GcPolicy,
  nowMs = Date.now(),
): Promise<GcPlan> {
  return planGc(await gatherGcFacts(store, bucket, runs, nowMs), policy);
}

/** Delete what the plan lists, a few objects at a time; returns how many were deleted. */
export async function executeGc(store: ObjectStore, plan: GcPlan, concurrency = 8): Promise<number> {
  const uris = plan.remove.flatMap((entry) => entry.objects.map((object) => object.uri));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < uris.length) {
      const uri = uris[next++] as string;
      await store.remove(uri);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, uris.length) }, worker));
  return uris.length;
}
