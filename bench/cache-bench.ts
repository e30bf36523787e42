/**
 * Stage cache benchmark: the wall time of a pipeline's first run against a resubmit of the same
 * plan served by the cache, on the Temporal dev server and MinIO named by the environment.
 *
 * The first run bypasses the cache (every stage gets a 1 ms maxAge, as `rerun --from` does),
 * so it computes every stage and records fresh entries, without deleting anybody's cache. The
 * resubmit uses the plan as compiled, so every stage whose entry verifies is a hit.
 *
 * By default the workers run in this process on pools with a random suffix (so the bench
 * never feeds a developer's workers); `useRunningWorkers` submits to the real pools instead.
 *
 *     node --import tsx bench/cache-bench.ts [PIPELINE.yaml] [--set k=v]…
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { RunClient } from '../src/client/run-client';
import { loadConfig, type FineflowConfig } from '../src/config';
import { refreshCache } from '../src/cache/cache-rerun';
import type { PipelineRunResult, StageStatus } from '../src/core/run/run-types';
import { CONTROL_POOL, taskQueueForPool } from '../src/core/run/task-queues';
import { connectClient, connectWorker } from '../src/client/temporal-connection';
import { compilePlan, formatDiagnostics } from '../src/spec';
import type { Plan } from '../src/core/spec/plan-types';
import { createObjectStoreFromConfig } from '../src/storage/minio-store';
import { createWorker, type FineflowWorker } from '../src/worker/run-worker';
import { guardSectionArgs } from './bench-flags';

/** The pipeline the issue asks about; any pipeline file can be given instead. */
export const DEFAULT_CACHE_BENCH_PIPELINE = path.resolve(__dirname, '../pipelines/quickstart.yaml');

export interface CacheBenchOptions {
  /** The pipeline YAML to run; default pipelines/quickstart.yaml. */
  readonly pipelineFile?: string;
  /** `--set` overrides, e.g. `['epochs=2']`. */
  readonly set?: readonly string[];
  /** Submit to the real pools and rely on running workers instead of starting them here. */
  readonly useRunningWorkers?: boolean;
  /** Modules with extra stage implementations for the in-process workers. */
  readonly stageModules?: readonly string[];
  readonly config?: FineflowConfig;
  readonly log?: (line: string) => void;
}

export interface CacheBenchResult {
  readonly pipeline: string;
  readonly stages: number;
  readonly firstRunMs: number;
  readonly cachedRunMs: number;
  /** firstRunMs / cachedRunMs. */
  readonly speedup: number;
  /** Status of every stage in the resubmit: all `cached` when the cache did its job. */
  readonly cachedRunStatuses: { readonly [stageId: string]: StageStatus };
  /** Stages of the resubmit that ran anyway, with why. */
  readonly recomputed: readonly { readonly stageId: string; readonly status: StageStatus; readonly reason?: string }[];
  readonly runIds: { readonly first: string; readonly cached: string };
}

function withPools(plan: Plan, poolName: (pool: string) => string): Plan {
  return { ...plan, stages: plan.stages.map((stage) => ({ ...stage, pool: poolName(stage.pool) })) };
}

function refreshed(plan: Plan): Plan {
  return { ...plan, stages: plan.stages.map(refreshCache) };
}

async function timedRun(
  runs: RunClient,
  plan: Plan,
): Promise<{ runId: string; ms: number; result: PipelineRunResult }> {
  const started = performance.now();
  const runId = await runs.submit(plan);
  const result = await runs.result(runId);
  const ms = performance.now() - started;
  if (result.status !== 'succeeded') {
    const failed = result.stages.find((s) => s.status === 'failed');
    throw new Error(
      `run ${runId} of ${plan.pipeline.name} ended ${result.status}${failed ? `: stage ${failed.id}: ${failed.error?.message ?? ''}` : ''}`,
    );
  }
  return { runId, ms, result };
}

export async function benchCache(options: CacheBenchOptions = {}): Promise<CacheBenchResult> {
  const log = options.log ?? (() => undefined);
  const config = options.config ?? loadConfig(process.env);
  const pipelineFile = options.pipelineFile ?? DEFAULT_CACHE_BENCH_PIPELINE;
  const compiled = compilePlan(await readFile(pipelineFile), pipelineFile, { set: options.set ?? [] });
  if (!compiled.plan) throw new Error(`${pipelineFile} does not compile:\n${formatDiagnostics(compiled.diagnostics)}`);
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already in this process.
  }
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const client = await connectClient(config.temporal);
  const workers: FineflowWorker[] = [];
  const running: Promise<void>[] = [];
  const connection = options.useRunningWorkers ? undefined : await connectWorker(config.temporal);
  try {
    let plan = compiled.plan;
    let workflowTaskQueue = taskQueueForPool(CONTROL_POOL);
    if (connection) {
      const suffix = randomBytes(4).toString('hex');
      const poolName = (pool: string): string => `${pool}-bench-${suffix}`;
      plan = withPools(plan, poolName);
      workflowTaskQueue = taskQueueForPool(poolName(CONTROL_POOL));
      const stagePools = [...new Set(compiled.plan.stages.map((stage) => stage.pool))];
      for (const [pool, runsWorkflows] of [
        [CONTROL_POOL, true] as const,
        ...stagePools.map((p) => [p, false] as const),
      ]) {
        const worker = await createWorker({
          config,
          store,
          connection,
          pool: poolName(pool),
          runsWorkflows,
          stageModules: options.stageModules ?? [],
          shutdownGraceMs: 2_000,
        });
        workers.push(worker);
        running.push(worker.run());
      }
      log(`in-process workers: ${workers.map((w) => w.taskQueue).join(', ')}`);
    }
    const runs = new RunClient(client, { bucket: config.s3.bucket, store, workflowTaskQueue });
    log(`first run of ${plan.pipeline.name} (${plan.stages.length} stages, cache bypassed)…`);
    const first = await timedRun(runs, refreshed(plan));
    log(`  ${first.runId}: ${(first.ms / 1000).toFixed(2)} s`);
    log('cached resubmit…');
    const cached = await timedRun(runs, plan);
    log(`  ${cached.runId}: ${(cached.ms / 1000).toFixed(2)} s`);
    const cachedRunStatuses = Object.fromEntries(cached.result.stages.map((s) => [s.id, s.status]));
    return {
      pipeline: plan.pipeline.name,
      stages: plan.stages.length,
      firstRunMs: Math.round(first.ms),
      cachedRunMs: Math.round(cached.ms),
      speedup: Number((first.ms / cached.ms).toFixed(1)),
      cachedRunStatuses,
      recomputed: cached.result.stages
        .filter((s) => s.status !== 'cached')
        .map((s) => ({ stageId: s.id, status: s.status, ...(s.reason ? { reason: s.reason } : {}) })),
      runIds: { first: first.runId, cached: cached.runId },
    };
  } finally {
    await Promise.all(workers.map((w) => w.shutdown()));
    await Promise.allSettled(running);
    await connection?.close();
    await client.connection.close();
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  guardSectionArgs('cache', args);
  const set: string[] = [];
  let pipelineFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--set' && args[i + 1] !== undefined) set.push(args[++i] as string);
    else pipelineFile ??= args[i];
  }
  benchCache({ ...(pipelineFile ? { pipelineFile } : {}), set, log: (line) => process.stderr.write(`${line}\n`) })
    .then((result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`cache bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
}
