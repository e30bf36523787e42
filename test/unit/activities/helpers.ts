/**
 * Runs a stage implementation the way a worker does (wrapped by the runtime's stage runner)
 * inside Temporal's MockActivityEnvironment, against the in-memory object store: no server,
 * no MinIO. Heartbeats are collected for assertions.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { DefaultLogger } from '@temporalio/worker';
import { stageActivity, type MlSettings, type StageImplementation } from '../../../activities/stage-runner';
import type {
  StageActivityInput,
  StageActivityResult,
  StageContext,
  StageProgress,
} from '../../../src/core/run/run-types';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import { createMemoryObjectStore, type MemoryObjectStore } from '../../../src/storage/memory-store';
import type { ObjectStore } from '../../../src/storage/object-store';

export const BUCKET = 'fineflow';

export function memoryStore(): MemoryObjectStore {
  return createMemoryObjectStore({ buckets: [BUCKET, 'datasets'] });
}

export function stageContext(stageId: string, overrides: Partial<StageContext> = {}): StageContext {
  const runId = overrides.runId ?? 'unit-run-1';
  return {
    runId,
    pipeline: 'unit',
    stageId,
    attempt: 1,
    outputPrefix: `s3://${BUCKET}/runs/${runId}/${stageId}/`,
    bucket: BUCKET,
    trigger: { kind: 'manual' },
    ...overrides,
  };
}

export interface StageRun {
  readonly result: StageActivityResult;
  readonly heartbeats: readonly StageProgress[];
}

export interface RunStageOptions {
  /** The worker's training settings (what run-worker takes from FINEFLOW_TF_BACKEND / FINEFLOW_TRAIN_ENGINE). */
  readonly ml?: MlSettings;
  readonly info?: Partial<Info>;
  /** Called with the environment before the stage starts (e.g. to cancel it later). */
  readonly onEnvironment?: (env: MockActivityEnvironment) => void;
  readonly onHeartbeat?: (progress: StageProgress) => void;
}

/** Run `implementation` as stage type `typeName`; rejects with the ApplicationFailure the worker would report. */
export async function runStage(
  typeName: string,
  implementation: StageImplementation,
  store: ObjectStore,
  context: StageContext,
  inputs: JsonObject,
  options: RunStageOptions = {},
): Promise<StageRun> {
  // Failures are asserted by the tests; the SDK's own warning for each would only add noise.
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: 30_000, ...options.info },
    { logger: new DefaultLogger('ERROR') },
  );
  const heartbeats: StageProgress[] = [];
  env.on('heartbeat', (details: unknown) => {
    if (details && typeof details === 'object') {
      heartbeats.push(details as StageProgress);
      options.onHeartbeat?.(details as StageProgress);
    }
  });
  options.onEnvironment?.(env);
  const activity = stageActivity(typeName, implementation, {
    store,
    logFlushIntervalMs: 20,
    progressIntervalMs: 10,
    ...(options.ml ? { ml: options.ml } : {}),
  });
  const input: StageActivityInput = { context, inputs };
  const result: StageActivityResult = await env.run<[StageActivityInput], StageActivityResult, typeof activity>(
    activity,
    input,
  );
  return { result, heartbeats };
}

/** The failure a stage threw, for assertions on its type, retryability and details. */
export async function stageFailure(
  run: Promise<unknown>,
): Promise<{ type?: string; nonRetryable?: boolean; message: string; details: Record<string, unknown> }> {
  try {
    await run;
  } catch (thrown) {
    const failure = thrown as { type?: string; nonRetryable?: boolean; message: string; details?: unknown[] };
    return {
      type: failure.type,
      nonRetryable: failure.nonRetryable,
      message: failure.message,
      details: (failure.details?.[0] as Record<string, unknown>) ?? {},
    };
  }
  throw new Error('the stage was expected to fail but succeeded');
}
