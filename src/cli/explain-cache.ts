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
import type { LastEntryComparison, StageKey } from '../cache/cache-service';
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

/** What the walk over the plan knows so far; each stage's prediction reads the stages before it. */
interface ExplainContext {
  readonly plan: Plan;
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly options: ExplainCacheOptions;
  readonly now: Date;
  readonly params: { readonly [name: string]: JsonValue };
  /** Predicted outputs + digest of every stage that would hit. */
  readonly hits: Map<string, { outputs: JsonObject; digest: string }>;
  /** Stages a run would skip (their `when` is false, or they read a skipped stage). */
  readonly skipped: Set<string>;
}

export async function explainCache(
  plan: Plan,
  store: ObjectStore,
  bucket: string,
  options: ExplainCacheOptions = {},
): Promise<StageCacheExplanation[]> {
  const context: ExplainContext = {
    plan,
    store,
    bucket,
    options,
    now: options.now ?? new Date(),
    params: Object.fromEntries(Object.entries(plan.params).map(([name, param]) => [name, param.value])),
    hits: new Map(),
    skipped: new Set(),
  };
  const explanations: StageCacheExplanation[] = [];
  for (const stage of plan.stages) explanations.push(await explainStage(context, stage));
  return explanations;
}

/** An explanation without a key or changes. */
function plainExplanation(stage: PlannedStage, prediction: CachePrediction, reason: string): StageCacheExplanation {
  return { stageId: stage.id, prediction, reason, changes: [] };
}

async function explainStage(context: ExplainContext, stage: PlannedStage): Promise<StageCacheExplanation> {
  const { plan, store, bucket, options, params, hits } = context;
  const skip = skipReason(context, stage);
  if (skip !== undefined) {
    context.skipped.add(stage.id);
    return plainExplanation(stage, 'skip', skip);
  }
  if (!stage.cache.enabled) return plainExplanation(stage, 'disabled', 'cache disabled for this stage');
  let resolvedInputs: JsonObject;
  try {
    resolvedInputs = resolveStatically(stage, params, plan.secrets);
  } catch (error) {
    return plainExplanation(
      stage,
      'unknown',
      `inputs cannot be resolved before the run: ${ensureError(error).message}`,
    );
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
    return { stageId: stage.id, prediction: 'miss', reason: stageKey.uncacheable, key: stageKey.key, changes: [] };
  }
  const last = await compareWithLastEntry(store, bucket, plan.pipeline.name, stage.id, stageKey.document);
  return pendingUpstreams.length > 0
    ? explainPendingUpstreams(context, stage, pendingUpstreams, stageKey, last)
    : explainStoredEntry(context, stage, stageKey, last);
}

/** Why a run would skip the stage: it reads a skipped stage, or its `when` is false now. */
function skipReason(context: ExplainContext, stage: PlannedStage): string | undefined {
  const { hits, skipped } = context;
  const readsSkipped = [...stagesReadBy(stage)].filter((id) => skipped.has(id)).sort();
  if (readsSkipped.length > 0) return `reads outputs of skipped stage ${readsSkipped.join(', ')}`;
  // A condition can be decided now when every stage it reads would be served by the cache.
  if (stage.when === undefined || !stage.needs.every((id) => hits.has(id) || skipped.has(id))) return undefined;
  let pass: boolean | undefined;
  try {
    pass = evaluateCondition(stage.when, {
      params: context.params,
      stages: Object.fromEntries([...hits].map(([id, hit]) => [id, { outputs: hit.outputs }])),
    });
  } catch {
    pass = undefined;
  }
  return pass === false ? `when is false: ${stage.when}` : undefined;
}

/** Some upstream will run: a certain miss when another part of the key changed, else `depends`. */
function explainPendingUpstreams(
  context: ExplainContext,
  stage: PlannedStage,
  pendingUpstreams: readonly string[],
  stageKey: StageKey,
  last: LastEntryComparison | undefined,
): StageCacheExplanation {
  const upstreamParts = new Set(pendingUpstreams.map((id) => `upstream ${id}`));
  const runs = `upstream ${pendingUpstreams.join(', ')} will run`;
  if (!last?.previous) {
    return plainExplanation(
      stage,
      'miss',
      `${runs}, and no earlier run of ${context.plan.pipeline.name} recorded this stage`,
    );
  }
  const otherChanges = explainKeyChanges(last.previous, stageKey.document).filter((c) => !upstreamParts.has(c.part));
  if (otherChanges.length > 0) {
    return {
      stageId: stage.id,
      prediction: 'miss',
      reason: `changed since run ${last.pointer.runId}: ${formatKeyChanges(otherChanges)}`,
      fromRunId: last.pointer.runId,
      changes: otherChanges,
    };
  }
  const reproduces = pendingUpstreams.length > 1 ? 'they reproduce' : 'it reproduces';
  return {
    stageId: stage.id,
    prediction: 'depends',
    reason: `${runs}; hits only if ${reproduces} the outputs of run ${last.pointer.runId}`,
    fromRunId: last.pointer.runId,
    changes: [],
  };
}

/** Every upstream would hit: the stage's own entry in the store decides (and a hit feeds later stages). */
async function explainStoredEntry(
  context: ExplainContext,
  stage: PlannedStage,
  stageKey: StageKey,
  last: LastEntryComparison | undefined,
): Promise<StageCacheExplanation> {
  const check = await checkCacheEntry(context.store, context.bucket, stageKey, stage, context.now);
  if (check.usable) {
    context.hits.set(stage.id, { outputs: check.entry.outputs, digest: check.entry.digest });
    return {
      stageId: stage.id,
      prediction: 'hit',
      reason: `cached by run ${check.entry.runId} (${check.entry.createdAt})`,
      key: stageKey.key,
      fromRunId: check.entry.runId,
      changes: [],
    };
  }
  const changes = last?.changes ?? [];
  let reason = check.reason;
  if (!check.entry) {
    if (!last) reason = `no earlier run of ${context.plan.pipeline.name} recorded this stage`;
    else if (changes.length > 0) reason = `changed since run ${last.pointer.runId}: ${formatKeyChanges(changes)}`;
  }
  return {
    stageId: stage.id,
    prediction: 'miss',
    reason,
    key: stageKey.key,
    ...(check.entry ? { fromRunId: check.entry.runId } : last ? { fromRunId: last.pointer.runId } : {}),
    changes,
  };
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
