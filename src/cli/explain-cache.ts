/**
 * `fineflow plan FILE --explain-cache`: for each stage, would a run submitted now reuse a
 * cached result, and if not, which part of its key changed since the last recorded run of
 * that pipeline stage. Uses the same key and checks as the run's cache activities, so the
 * prediction is what the run will do (unless the store changes in between).
 *
 * A stage that reads upstream outputs can be predicted only when every upstream would hit
 * (their cached digests are then known). When an upstream will run, the stage hits only if the
 * upstream reproduces identical outputs: `depends`, unless another part of its key already
 * changed, which makes it a certain miss.
 */
import { renderTable } from '../client/text-table';
import type { KeyChange } from '../cache/cache-key';
import { explainKeyChanges, formatKeyChanges } from '../cache/cache-key';
import { checkCacheEntry, compareWithLastEntry, computeStageKey } from '../cache/cache-service';
import { stagesReadBy } from '../core/run/dag';
import { collectReferences, evaluateCondition, hasExpression, resolveStageInputs } from '../core/spec/expressions';
import type { JsonObject, JsonValue, Plan, PlannedStage } from '../core/spec/plan-types';
import type { ObjectStore } from '../storage/object-store';
import type * as MinioStoreModule from '../storage/minio-store';
import { loadConfig } from '../config';
import { createOutboundPolicy, installOutboundPolicy } from '../security/outbound';
import { DependencyUnavailableError, ensureError } from '../core/errors';
import type { CliIo } from './command';

export type CachePrediction = 'hit' | 'miss' | 'depends' | 'skip' | 'disabled' | 'unknown';

export interface StageCacheExplanation {
  readonly stageId: string;
  readonly prediction: CachePrediction;
  /** One line: why. */
  readonly reason: string;
  /** The key the stage would use, when it can be computed now. */
  readonly key?: string;
  /** Run whose result would be reused (hit) or that recorded the last entry (miss). */
  readonly fromRunId?: string;
  /** Parts of the key that differ from the last entry of this pipeline stage. */
  readonly changes: readonly KeyChange[];
}

export interface ExplainCacheOptions {
  /** Dataset version a new-data trigger would pass; absent for a manual submit. */
  readonly datasetVersion?: string;
  readonly now?: Date;
}

/** Resolve params in `with:`; strings reading upstream outputs become null (the key replaces them anyway). */
function resolveStatically(
  stage: PlannedStage,
  params: { readonly [name: string]: JsonValue },
  secrets: Plan['secrets'],
): JsonObject {
  const blank = (value: JsonValue): JsonValue => {
    if (typeof value === 'string')
      return hasExpression(value) && collectReferences(value).some((ref) => ref.kind === 'stage-output') ? null : value;
    if (Array.isArray(value)) return value.map((item: JsonValue) => blank(item));
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value as JsonObject).map(([k, v]) => [k, blank(v)]));
    return value;
  };
  return resolveStageInputs(blank(stage.with) as JsonObject, { params, stages: {}, ...(secrets ? { secrets } : {}) });
}

export async function explainCache(
  plan: Plan,
  store: ObjectStore,
  bucket: string,
  options: ExplainCacheOptions = {},
): Promise<StageCacheExplanation[]> {
  const now = options.now ?? new Date();
  const params = Object.fromEntries(Object.entries(plan.params).map(([name, param]) => [name, param.value]));
  /** Predicted outputs + digest of every stage that would hit. */
  const hits = new Map<string, { outputs: JsonObject; digest: string }>();
  const explanations: StageCacheExplanation[] = [];

  /** Stages a run would skip (their `when` is false, or they read a skipped stage). */
  const skipped = new Set<string>();

  for (const stage of plan.stages) {
    const readsSkipped = [...stagesReadBy(stage)].filter((id) => skipped.has(id)).sort();
    if (readsSkipped.length > 0) {
      skipped.add(stage.id);
      explanations.push({
        stageId: stage.id,
        prediction: 'skip',
        reason: `reads outputs of skipped stage ${readsSkipped.join(', ')}`,
        changes: [],
      });
      continue;
    }
    // A condition can be decided now when every stage it reads would be served by the cache.
    if (stage.when !== undefined && stage.needs.every((id) => hits.has(id) || skipped.has(id))) {
      let pass: boolean | undefined;
      try {
        pass = evaluateCondition(stage.when, {
          params,
          stages: Object.fromEntries([...hits].map(([id, hit]) => [id, { outputs: hit.outputs }])),
        });
      } catch {
        pass = undefined;
      }
      if (pass === false) {
        skipped.add(stage.id);
        explanations.push({
          stageId: stage.id,
          prediction: 'skip',
          reason: `when is false: ${stage.when}`,
          changes: [],
        });
        continue;
      }
    }
    if (!stage.cache.enabled) {
      explanations.push({
        stageId: stage.id,
        prediction: 'disabled',
        reason: 'cache disabled for this stage',
        changes: [],
      });
      continue;
    }
    let resolvedInputs: JsonObject;
    try {
      resolvedInputs = resolveStatically(stage, params, plan.secrets);
    } catch (error) {
      explanations.push({
        stageId: stage.id,
        prediction: 'unknown',
        reason: `inputs cannot be resolved before the run: ${ensureError(error).message}`,
        changes: [],
      });
      continue;
    }
    const pendingUpstreams = stage.needs.filter((id) => !hits.has(id));
    const upstream = Object.fromEntries([...hits].filter(([id]) => stage.needs.includes(id)));
    const stageKey = await computeStageKey(store, bucket, {
      stage,
      resolvedInputs,
      upstream,
      params,
      ...(options.datasetVersion === undefined ? {} : { datasetVersion: options.datasetVersion }),
    });
    if (stageKey.uncacheable) {
      explanations.push({
        stageId: stage.id,
        prediction: 'miss',
        reason: stageKey.uncacheable,
        key: stageKey.key,
        changes: [],
      });
      continue;
    }
    const last = await compareWithLastEntry(store, bucket, plan.pipeline.name, stage.id, stageKey.document);

    if (pendingUpstreams.length > 0) {
      const upstreamParts = new Set(pendingUpstreams.map((id) => `upstream ${id}`));
      const otherChanges = last?.previous
        ? explainKeyChanges(last.previous, stageKey.document).filter((c) => !upstreamParts.has(c.part))
        : [];
      const runs = `upstream ${pendingUpstreams.join(', ')} will run`;
      if (!last?.previous) {
        explanations.push({
          stageId: stage.id,
          prediction: 'miss',
          reason: `${runs}, and no earlier run of ${plan.pipeline.name} recorded this stage`,
          changes: [],
        });
      } else if (otherChanges.length > 0) {
        explanations.push({
          stageId: stage.id,
          prediction: 'miss',
          reason: `changed since run ${last.pointer.runId}: ${formatKeyChanges(otherChanges)}`,
          fromRunId: last.pointer.runId,
          changes: otherChanges,
        });
      } else {
        explanations.push({
          stageId: stage.id,
          prediction: 'depends',
          reason: `${runs}; hits only if ${pendingUpstreams.length > 1 ? 'they reproduce' : 'it reproduces'} the outputs of run ${last.pointer.runId}`,
          fromRunId: last.pointer.runId,
          changes: [],
        });
      }
      continue;
    }

    const check = await checkCacheEntry(store, bucket, stageKey, stage, now);
    if (check.usable) {
      hits.set(stage.id, { outputs: check.entry.outputs, digest: check.entry.digest });
      explanations.push({
        stageId: stage.id,
        prediction: 'hit',
        reason: `cached by run ${check.entry.runId} (${check.entry.createdAt})`,
        key: stageKey.key,
        fromRunId: check.entry.runId,
        changes: [],
      });
      continue;
    }
    const changes = last?.changes ?? [];
    let reason = check.reason;
    if (!check.entry) {
      if (!last) reason = `no earlier run of ${plan.pipeline.name} recorded this stage`;
      else if (changes.length > 0) reason = `changed since run ${last.pointer.runId}: ${formatKeyChanges(changes)}`;
    }
    explanations.push({
      stageId: stage.id,
      prediction: 'miss',
      reason,
      key: stageKey.key,
      ...(check.entry ? { fromRunId: check.entry.runId } : last ? { fromRunId: last.pointer.runId } : {}),
      changes,
    });
  }
  return explanations;
}

const SYMBOL: { readonly [p in CachePrediction]: string } = {
  hit: 'hit',
  miss: 'run',
  depends: 'run?',
  skip: 'skip',
  disabled: 'run',
  unknown: '?',
};

/** A table for the terminal: `stage  cache  why`. */
export function formatCacheExplanation(explanations: readonly StageCacheExplanation[]): string {
  const lines = renderTable(
    [{ title: 'stage' }, { title: 'cache' }, { title: 'why' }],
    explanations.map((e) => [e.stageId, SYMBOL[e.prediction], e.reason]),
  );
  return `${lines.join('\n')}\n`;
}

function noteFor(explanation: StageCacheExplanation): string {
  switch (explanation.prediction) {
    case 'hit':
      return `cache hit (run ${explanation.fromRunId ?? '?'})`;
    case 'depends':
      return `runs unless upstream reproduces its outputs: ${explanation.reason}`;
    case 'skip':
      return `skipped: ${explanation.reason}`;
    case 'disabled':
      return 'runs: cache disabled';
    case 'unknown':
      return `cache unknown: ${explanation.reason}`;
    case 'miss':
      return `runs: ${explanation.reason}`;
  }
}

/**
 * The plan command's annotator: stage id → one-line cache note drawn next to the DAG. Reads the
 * store named by the environment (FINEFLOW_S3_*, FINEFLOW_BUCKET); when it cannot be reached
 * the plan still prints, with a warning.
 */
export async function annotateCache(plan: Plan, io: CliIo): Promise<ReadonlyMap<string, string>> {
  const config = loadConfig(io.env);
  // Fingerprints of file/http inputs obey the same outbound policy as the workers.
  installOutboundPolicy(createOutboundPolicy(config.outbound));
  // Loaded here so `fineflow plan` without the option never loads the MinIO client.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createObjectStoreFromConfig } = require('../storage/minio-store') as typeof MinioStoreModule;
  try {
    const explained = await explainCache(plan, createObjectStoreFromConfig(config), config.s3.bucket);
    return new Map(explained.map((e) => [e.stageId, noteFor(e)]));
  } catch (thrown) {
    if (!(thrown instanceof DependencyUnavailableError)) throw thrown;
    io.stderr.write(`fineflow plan: --explain-cache: ${thrown.message}\n`);
    return new Map(plan.stages.map((stage) => [stage.id, 'cache unknown: the object store did not answer']));
  }
}
