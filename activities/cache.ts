/**
 * Stage cache activities. The `pipelineRun` workflow calls `lookupStageCache` before running a
 * stage whose cache is enabled, and `recordStageCache` after it succeeded. Entries live in the
 * object store (s3://<bucket>/cache/<key>/), never in workflow history; see
 * src/cache/cache-key.ts for what the key covers.
 */
import type { JsonValue } from '../src/core/spec/plan-types';
import type { ObjectStore } from '../src/storage/object-store';
import {
  checkCacheEntry,
  compareWithLastEntry,
  computeStageKey,
  describeMiss,
  recordCacheEntry,
  storeKeyDocument,
} from '../src/cache/cache-service';
import type {
  CacheLookupInput,
  CacheLookupResult,
  CacheRecordInput,
  CacheRecordResult,
} from '../src/core/run/run-types';
import type { CacheLookupOutcome, FineflowMetrics } from '../src/observability/metrics';

/**
 * Optional context beyond the contract: the pipeline name keys the "last entry" index that
 * explains a miss, and the run's params make keys of mixed templates run-independent.
 */
export interface CacheRunContext {
  readonly pipeline?: string;
  readonly params?: { readonly [name: string]: JsonValue };
}

export type StageCacheLookupInput = CacheLookupInput & CacheRunContext;
export type StageCacheRecordInput = CacheRecordInput & Pick<CacheRunContext, 'pipeline'>;

export interface CacheActivityOptions {
  /** Clock for maxAge and createdAt; tests pass a fixed one. */
  readonly now?: () => Date;
  /** Counts lookups by stage type and result (src/observability/metrics.ts). */
  readonly metrics?: FineflowMetrics;
  /** Stage types this worker knows: a plan's `uses` is untrusted, so any other name is counted as `other`. */
  readonly knownStageTypes?: readonly string[];
}

function lookupOutcome(input: StageCacheLookupInput, result: CacheLookupResult): CacheLookupOutcome {
  if (result.hit) return 'hit';
  if (!input.stage.cache.enabled) return 'disabled';
  return result.bypassed ? 'bypassed' : 'miss';
}

export function createCacheActivities(store: ObjectStore, bucket: string, options: CacheActivityOptions = {}) {
  const now = options.now ?? (() => new Date());
  const known = new Set(options.knownStageTypes ?? []);
  const lookup = async (input: StageCacheLookupInput): Promise<CacheLookupResult> => {
    const stageKey = await computeStageKey(store, bucket, {
      stage: input.stage,
      resolvedInputs: input.resolvedInputs,
      upstream: input.upstream,
      ...(input.datasetVersion === undefined ? {} : { datasetVersion: input.datasetVersion }),
      ...(input.params ? { params: input.params } : {}),
    });
    if (!input.stage.cache.enabled) {
      // Still recordable (its digest feeds downstream keys), so keep the document for the entry.
      await storeKeyDocument(store, bucket, stageKey);
      return { hit: false, key: stageKey.key, reason: 'cache disabled for this stage' };
    }
    // A refresh (rerun) or an unfingerprintable input answers before any entry is read.
    const check = await checkCacheEntry(store, bucket, stageKey, input.stage, now());
    if (check.usable) {
      const { entry } = check;
      return {
        hit: true,
        key: stageKey.key,
        outputs: entry.outputs,
        digest: entry.digest,
        fromRunId: entry.runId,
        createdAt: entry.createdAt,
      };
    }
    // Still recorded after the stage ran: a refresh replaces the entry, and every digest feeds downstream keys.
    await storeKeyDocument(store, bucket, stageKey);
    const bypassed = input.stage.cache.refresh === true || stageKey.uncacheable !== undefined;
    if (bypassed) return { hit: false, key: stageKey.key, reason: check.reason, bypassed };
    const comparison =
      check.entry || !input.pipeline
        ? undefined
        : await compareWithLastEntry(store, bucket, input.pipeline, input.stage.id, stageKey.document);
    return { hit: false, key: stageKey.key, reason: describeMiss(check.reason, comparison) };
  };
  return {
    async lookupStageCache(input: StageCacheLookupInput): Promise<CacheLookupResult> {
      const result = await lookup(input);
      options.metrics?.cacheLookup(
        known.has(input.stage.uses) ? input.stage.uses : 'other',
        lookupOutcome(input, result),
      );
      return result;
    },

    async recordStageCache(input: StageCacheRecordInput): Promise<CacheRecordResult> {
      const entry = await recordCacheEntry(store, bucket, {
        key: input.key,
        runId: input.runId,
        stage: input.stage,
        ...(input.pipeline ? { pipeline: input.pipeline } : {}),
        outputs: input.result.outputs,
        ...(input.result.artifacts ? { artifacts: input.result.artifacts } : {}),
        now: now(),
      });
      return { digest: entry.digest };
    },
  };
}

export type CacheActivities = ReturnType<typeof createCacheActivities>;
