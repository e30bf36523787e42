/**
 * The stage panel's checkpoint and cache sections. Nothing here decides a rule: checkpoints are listed,
 * verified and retained by src/ml/train/checkpoint.ts (the functions training, resume and pruning use),
 * the cache entry is judged by `checkCacheEntry` (the run's own lookup), the lookups are the run's
 * recorded `lookupStageCache` answers, and "what a rerun reuses" is `previewRerun` (what `fineflow rerun`
 * starts). A stage served from the cache, or reused by a rerun, shows the run that produced it.
 */
import { InvalidInputError, ensureError } from '../core/errors';
import { checkCacheEntry } from '../cache/cache-service';
import { readCacheEntry } from '../cache/cache-store';
import { previewRerun } from '../client/rerun';
import { producerOf } from '../core/run/stage-producer';
import { listStageLogs, type StageLogFile } from '../client/run-logs';
import { readRunInput } from '../client/run-input';
import type { PlannedStage, JsonObject } from '../core/spec/plan-types';
import type { StageState } from '../core/run/run-types';
import { checkpointPrefix } from '../core/storage/layout';
import { checkpointInventory, resumePointInLog, retainedEpochs } from '../ml/train/checkpoint';
import { applyDefaults } from '../spec/schema-language';
import { getStageType } from '../spec/stage-types';
import type { ObjectStore } from '../storage/object-store';
import type { RunClient } from '../client/run-client';
import type { RerunPreviewInfo, StageCacheInfo, StageCheckpoints } from './web/store-info-types';
import { readStageCacheLookups, readStageInputs, writesCheckpoints } from './run-plan';

/** Checkpoint directories listed per stage; a log's first chunk read for the resume line. */
export const STORE_INFO_LIMITS = { checkpoints: 50, logHeadBytes: 1024 * 1024 } as const;

/** What these sections read through (the UI server's services). */
export interface StoreInfoServices {
  readonly runs: RunClient;
  readonly store: ObjectStore;
  readonly bucket: string;
}

async function stageOf(services: StoreInfoServices, runId: string, stageId: string): Promise<StageState> {
  const state = await services.runs.state(runId);
  const stage = state.stages.find((s) => s.id === stageId);
  if (!stage) throw new InvalidInputError(`run ${runId} has no stage ${stageId}`, { code: 'not-found' });
  return stage;
}

/**
 * Where an attempt resumed: the resume line is logged before training starts, so only the log's head
 * (chunks up to `logHeadBytes`) is read.
 */
async function resumePoint(
  store: ObjectStore,
  log: StageLogFile,
): Promise<{ attempt: number; resumedFromEpoch?: number; directory?: string }> {
  let read = 0;
  let head = '';
  for (const chunk of log.chunks) {
    read += chunk.size;
    if (read > STORE_INFO_LIMITS.logHeadBytes) break;
    head += (await store.getBytes(chunk.uri)).toString('utf8');
    const found = resumePointInLog(head);
    if (found) return { attempt: log.attempt, resumedFromEpoch: found.epoch, directory: found.directory };
  }
  return { attempt: log.attempt };
}

/** `checkpoint:` of the newest attempt's resolved inputs with the stage type's defaults (what the stage used). */
function checkpointSettings(uses: string, inputs: unknown): { everyEpochs?: number; keepLast?: number } {
  const type = getStageType(uses);
  const given = inputs !== null && typeof inputs === 'object' && !Array.isArray(inputs) ? (inputs as JsonObject) : {};
  if (!type) return {};
  const filled = applyDefaults({ ...given, checkpoint: given.checkpoint ?? {} }, type.inputs) as JsonObject;
  const settings = filled.checkpoint as { everyEpochs?: unknown; keepLast?: unknown } | undefined;
  return {
    ...(typeof settings?.everyEpochs === 'number' ? { everyEpochs: settings.everyEpochs } : {}),
    ...(typeof settings?.keepLast === 'number' ? { keepLast: settings.keepLast } : {}),
  };
}

export async function stageCheckpoints(
  services: StoreInfoServices,
  runId: string,
  stageId: string,
): Promise<StageCheckpoints> {
  const stage = await stageOf(services, runId, stageId);
  if (!writesCheckpoints(stage.uses)) return { applies: false, note: `a ${stage.uses} stage writes no checkpoints` };
  const producer = producerOf(services.bucket, runId, stage);
  const prefix = checkpointPrefix(services.bucket, producer.runId, producer.stageId).replace(/\/$/, '');
  const [inventory, logs, inputs] = await Promise.all([
    checkpointInventory(services.store, prefix, { limit: STORE_INFO_LIMITS.checkpoints }),
    listStageLogs(services.store, services.bucket, producer.runId, producer.stageId),
    readStageInputs(services.runs.client, producer.runId, producer.stageId),
  ]);
  const policy = checkpointSettings(stage.uses, inputs[inputs.length - 1]?.inputs);
  const retained =
    policy.keepLast !== undefined
      ? retainedEpochs(
          inventory.checkpoints.map((c) => c.epoch),
          { keepLast: policy.keepLast, keep: inventory.bestEpoch !== undefined ? [inventory.bestEpoch] : [] },
        )
      : undefined;
  return {
    applies: true,
    ...(producer.runId !== runId ? { fromRunId: producer.runId } : {}),
    ...inventory,
    checkpoints: inventory.checkpoints.map((c) => ({
      ...c,
      best: c.epoch === inventory.bestEpoch,
      latest: c.epoch === inventory.latestEpoch,
      resume: c.epoch === inventory.resumeEpoch,
      ...(retained ? { keptByPolicy: retained.has(c.epoch) } : {}),
    })),
    policy,
    attempts: await Promise.all(logs.map((log) => resumePoint(services.store, log))),
  };
}

/** Whether a run now, with the same key, would reuse the entry: the lookup's own check, without a rerun's refresh. */
async function entryNow(
  services: StoreInfoServices,
  key: string,
  planned: PlannedStage,
): Promise<{ usable: boolean; reason?: string; runId?: string; createdAt?: string }> {
  const stage: PlannedStage = { ...planned, cache: { ...planned.cache, refresh: false } };
  const check = await checkCacheEntry(services.store, services.bucket, key, stage, new Date());
  const entry = check.usable
    ? check.entry
    : (check.entry ?? (await readCacheEntry(services.store, services.bucket, key)));
  return {
    usable: check.usable,
    ...(check.usable ? {} : { reason: check.reason }),
    ...(entry ? { runId: entry.runId, createdAt: entry.createdAt } : {}),
  };
}

/**
 * A rerun from this stage: what it would run again and reuse, and why; only an ended run can be rerun.
 * A reused stage that was itself a cache hit names the run that computed it.
 */
export async function rerunPreviewOf(
  services: StoreInfoServices,
  runId: string,
  stageId: string,
): Promise<RerunPreviewInfo> {
  try {
    const { original, selection } = await previewRerun(services.runs, services.store, { runId, fromStage: stageId });
    const states = new Map(original.stages.map((s) => [s.id, s]));
    return {
      rerun: selection.rerun,
      reuse: selection.reuse.map((r) => {
        const state = states.get(r.stageId);
        const producer = state ? producerOf(services.bucket, r.fromRunId, state).runId : r.fromRunId;
        return {
          stageId: r.stageId,
          fromRunId: r.fromRunId,
          ...(producer !== r.fromRunId ? { producedBy: producer } : {}),
        };
      }),
      why: selection.why,
      notes: selection.notes,
    };
  } catch (thrown) {
    const error = ensureError(thrown);
    if (error instanceof InvalidInputError) return { unavailable: error.message };
    throw error;
  }
}

export async function stageCache(services: StoreInfoServices, runId: string, stageId: string): Promise<StageCacheInfo> {
  const stage = await stageOf(services, runId, stageId);
  const input = await readRunInput(services.runs.client, runId);
  const planned = input.plan.stages.find((s) => s.id === stageId);
  const lookups = await readStageCacheLookups(services.runs.client, runId, stageId);
  const reused = input.reuse?.find((r) => r.stageId === stageId);
  const key = lookups[lookups.length - 1]?.key;
  return {
    enabled: planned?.cache.enabled ?? false,
    ...(planned?.cache.maxAgeMs !== undefined ? { maxAgeMs: planned.cache.maxAgeMs } : {}),
    ...(planned?.cache.refresh ? { refresh: true } : {}),
    lookups,
    ...(reused ? { reusedFrom: reused.fromRunId } : {}),
    ...(key && planned?.cache.enabled ? { entry: { key, ...(await entryNow(services, key, planned)) } } : {}),
    rerunFromHere: await rerunPreviewOf(services, runId, stage.id),
  };
}
