/**
 * The stage cache over an object store: compute a stage's key, decide hit or miss (with the
 * reason), and record a finished stage. `activities/cache.ts` exposes these to the workflow;
 * `fineflow plan --explain-cache` uses the same functions, so the plan predicts exactly what a
 * run would do.
 */
import type { JsonObject, JsonValue, PlannedStage } from '../core/spec/plan-types';
import type { ObjectStore } from '../storage/object-store';
import {
  buildKeyDocument,
  cacheKeyOf,
  CACHE_FORMAT_VERSION,
  digestOutputs,
  explainKeyChanges,
  externalUrisOf,
  formatKeyChanges,
  s3UrisIn,
  substituteUpstreamInputs,
  uncacheableReason,
  type CacheKeyDocument,
  type KeyChange,
} from './cache-key';
import {
  cacheEntryUri,
  cacheIndexUri,
  cacheKeyDocumentUri,
  fingerprintExternal,
  hashOutputContent,
  readCacheEntry,
  readIndexPointer,
  readJsonIfExists,
  tooOld,
  verifyArtifacts,
  type CachedArtifact,
  type CacheEntry,
  type CacheIndexPointer,
} from './cache-store';

export interface StageKeyRequest {
  readonly stage: PlannedStage;
  /** `with:` after resolution. Values read from upstream outputs are replaced in the key anyway. */
  readonly resolvedInputs: JsonObject;
  /** Outputs (and digest, when known) of the stages in `needs`. */
  readonly upstream: { readonly [stageId: string]: { readonly outputs: JsonObject; readonly digest?: string } };
  readonly datasetVersion?: string;
  /** The run's param values; without them param values are taken from the resolved inputs. */
  readonly params?: { readonly [name: string]: JsonValue };
}

export interface StageKey {
  readonly key: string;
  readonly document: CacheKeyDocument;
  /** Set when an external input has no stable fingerprint: the stage is never served from the cache. */
  readonly uncacheable?: string;
}

/** Why a stage with `cache.refresh` (set by `fineflow rerun`) runs although an entry may exist. */
export const REFRESH_REASON =
  'refresh requested by rerun: computed again, not served from the cache; its result replaces the cached one';

/** Digest of outputs whose artifacts were not declared: hash whatever their s3 strings name. */
export async function digestOfOutputs(
  store: ObjectStore,
  outputs: JsonObject,
  declared: readonly CachedArtifact[] = [],
): Promise<{ digest: string; artifacts: readonly CachedArtifact[] }> {
  const content = await hashOutputContent(store, s3UrisIn(outputs), declared);
  return { digest: digestOutputs(outputs, content.hashes), artifacts: content.artifacts };
}

export async function computeStageKey(store: ObjectStore, bucket: string, request: StageKeyRequest): Promise<StageKey> {
  const upstreamDigests: Record<string, string | undefined> = {};
  for (const need of request.stage.needs) {
    const upstream = request.upstream[need];
    if (!upstream) continue;
    upstreamDigests[need] = upstream.digest ?? (await digestOfOutputs(store, upstream.outputs)).digest;
  }
  const keyInputs = substituteUpstreamInputs(request.stage.with, request.resolvedInputs, request.params);
  const external: Record<string, string> = {};
  for (const uri of externalUrisOf(keyInputs.inputs)) external[uri] = await fingerprintExternal(store, bucket, uri);
  const document = buildKeyDocument({
    stage: request.stage,
    keyInputs,
    ...(request.params ? { params: request.params } : {}),
    upstreamDigests,
    ...(request.datasetVersion === undefined ? {} : { datasetVersion: request.datasetVersion }),
    external,
  });
  const uncacheable = uncacheableReason(document);
  return { key: cacheKeyOf(document), document, ...(uncacheable ? { uncacheable } : {}) };
}

export type EntryCheck =
  | { readonly usable: true; readonly entry: CacheEntry }
  | { readonly usable: false; readonly reason: string; readonly entry?: CacheEntry };

/**
 * Whether the entry at `key` may be reused now: not refreshed, every input fingerprinted,
 * present, young enough, every artifact intact. Pass the {@link StageKey} rather than its key
 * string, so an unfingerprintable input is reported even when no entry exists.
 */
export async function checkCacheEntry(
  store: ObjectStore,
  bucket: string,
  key: string | StageKey,
  stage: PlannedStage,
  now: Date,
): Promise<EntryCheck> {
  if (stage.cache.refresh === true) return { usable: false, reason: REFRESH_REASON };
  const stageKey = typeof key === 'string' ? undefined : key;
  if (stageKey?.uncacheable) return { usable: false, reason: stageKey.uncacheable };
  const keyText = typeof key === 'string' ? key : key.key;
  const entry = await readCacheEntry(store, bucket, keyText);
  if (!entry) return { usable: false, reason: `no cache entry for key ${keyText.slice(0, 12)}` };
  if (entry.formatVersion !== CACHE_FORMAT_VERSION)
    return {
      usable: false,
      reason: `entry has cache format ${entry.formatVersion}, this version reads ${CACHE_FORMAT_VERSION}`,
      entry,
    };
  // The same key from a caller that passed only the string: the entry's own document says it.
  const recordedUncacheable = entry.keyDocument ? uncacheableReason(entry.keyDocument) : undefined;
  if (recordedUncacheable) return { usable: false, reason: recordedUncacheable, entry };
  const old = tooOld(entry, stage.cache.maxAgeMs, now);
  if (old) return { usable: false, reason: old, entry };
  const broken = await verifyArtifacts(store, entry.artifacts);
  if (broken) return { usable: false, reason: broken, entry };
  return { usable: true, entry };
}

export interface LastEntryComparison {
  readonly pointer: CacheIndexPointer;
  /** Key document of the last recorded entry, when it was stored. */
  readonly previous?: CacheKeyDocument;
  readonly changes: readonly KeyChange[];
}

/** Compare a key with the last one recorded for this pipeline stage ("what changed since the last run"). */
export async function compareWithLastEntry(
  store: ObjectStore,
  bucket: string,
  pipeline: string,
  stageId: string,
  document: CacheKeyDocument,
): Promise<LastEntryComparison | undefined> {
  const pointer = await readIndexPointer(store, bucket, pipeline, stageId);
  if (!pointer) return undefined;
  const entry = await readCacheEntry(store, bucket, pointer.key);
  const previous =
    entry?.keyDocument ?? (await readJsonIfExists<CacheKeyDocument>(store, cacheKeyDocumentUri(bucket, pointer.key)));
  if (!previous) return { pointer, changes: [] };
  return { pointer, previous, changes: explainKeyChanges(previous, document) };
}

/** `no cache entry for key 3f2a…; changed since run R: params.minAccuracy 0.9 → 0.95` */
export function describeMiss(reason: string, comparison: LastEntryComparison | undefined): string {
  if (!comparison || comparison.changes.length === 0) return reason;
  return `${reason}; changed since run ${comparison.pointer.runId}: ${formatKeyChanges(comparison.changes)}`;
}

export interface RecordRequest {
  readonly key: string;
  readonly runId: string;
  readonly stage: PlannedStage;
  readonly pipeline?: string;
  readonly outputs: JsonObject;
  readonly artifacts?: readonly CachedArtifact[];
  readonly now: Date;
}

/**
 * Write a finished stage's entry. The key document (stored at lookup) is copied into the
 * entry; entry.json goes last, then the pipeline/stage index, so a reader that finds an index
 * pointer always finds its entry.
 */
export async function recordCacheEntry(
  store: ObjectStore,
  bucket: string,
  request: RecordRequest,
): Promise<CacheEntry> {
  const { digest, artifacts } = await digestOfOutputs(store, request.outputs, request.artifacts ?? []);
  const keyDocument =
    (await readJsonIfExists<CacheKeyDocument>(store, cacheKeyDocumentUri(bucket, request.key))) ?? null;
  const entry: CacheEntry = {
    formatVersion: CACHE_FORMAT_VERSION,
    key: request.key,
    keyDocument,
    outputs: request.outputs,
    artifacts,
    digest,
    runId: request.runId,
    stageId: request.stage.id,
    ...(request.pipeline ? { pipeline: request.pipeline } : {}),
    createdAt: request.now.toISOString(),
  };
  await store.putJson(cacheEntryUri(bucket, request.key), entry);
  if (request.pipeline) {
    const pointer: CacheIndexPointer = { key: request.key, runId: request.runId, digest, createdAt: entry.createdAt };
    await store.putJson(cacheIndexUri(bucket, request.pipeline, request.stage.id), pointer);
  }
  return entry;
}

/**
 * Store the key document next to where the entry will go, so the recorder can copy it. Idempotent: content-addressed.
 */
export async function storeKeyDocument(store: ObjectStore, bucket: string, stageKey: StageKey): Promise<void> {
  await store.putJson(cacheKeyDocumentUri(bucket, stageKey.key), stageKey.document);
}
