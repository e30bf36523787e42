/**
 * Orchestration overhead: a 50-stage chain and a 200-stage fan-out of no-op stages, run by
 * Fineflow's `pipelineRun` and by a hand-written Temporal workflow calling the same stage
 * activity (`test-noop` through the stage runner, logs and all), in the same process, on the
 * same workers, against the Temporal dev server and MinIO named by the environment.
 * Alternates the two and reports, for each, the best and the median wall time of the timed
 * runs. The verdict (target ≤ 1.2×) uses the best-of-N ratio: on a shared machine the noise
 * only ever adds time, so the fastest run is the closest to each variant's real cost; the
 * median ratio is printed next to it.
 */
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { RunClient } from '../src/client/run-client';
import { loadConfig } from '../src/config';
import { WORKFLOW_TYPES } from '../src/core/run/run-types';
import { taskQueueForPool } from '../src/core/run/task-queues';
import { connectClient, connectWorker } from '../src/client/temporal-connection';
import type { Plan, PlannedStage } from '../src/core/spec/plan-types';
import { createObjectStoreFromConfig } from '../src/storage/minio-store';
import { createWorker } from '../src/worker/run-worker';
import type { HandWrittenInput } from './orchestration-workflows';
import type { StageImplementation } from '../activities/stage-runner';
import { guardSectionArgs } from './bench-flags';

export interface OrchestrationBenchOptions {
  /** Timed runs of each variant per shape (after one warm-up). Default 5. */
  readonly repeats?: number;
  readonly chainLength?: number;
  readonly fanOutWidth?: number;
  /**
   * The stage activity both sides call: `bare` (returns at once: pure orchestration cost) or
   * `stage-runner` (the `test-noop` stage through the stage runner, which also writes the
   * attempt's log to MinIO: what a real stage costs at least). Default both.
   */
  readonly activities?: readonly ActivityVariant[];
  readonly log?: (line: string) => void;
}

export type ActivityVariant = 'bare' | 'stage-runner';

/** Activity type name per variant; both are registered on the benchmark's stage pool. */
const ACTIVITY_TYPE: { readonly [variant in ActivityVariant]: string } = {
  bare: 'bench-bare-noop',
  'stage-runner': 'test-noop',
};

/** The `test-noop` stage's implementation: returns at once, so only the stage runner's own cost is measured. */
const noopStage: StageImplementation = async () => ({ outputs: {} });

export interface ShapeResult {
  readonly activity: ActivityVariant;
  readonly shape: 'chain' | 'fan-out';
  readonly stages: number;
  /** Best (fastest) timed run. */
  readonly fineflowMs: number;
  readonly handWrittenMs: number;
  /** fineflowMs / handWrittenMs: the verdict. */
  readonly ratio: number;
  readonly fineflowMedianMs: number;
  readonly handWrittenMedianMs: number;
  readonly medianRatio: number;
}

export interface OrchestrationBenchResult {
  readonly results: readonly ShapeResult[];
  /** Worst ratio over the shapes. */
  readonly worstRatio: number;
  readonly target: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Both sides use the same activity options. Under heavy machine load the dev server now and
 * then hands an activity task to a poll that already gave up; a short timeout plus retries
 * turns that lost task into a slow run instead of a failed benchmark.
 */
export const STAGE_TIMEOUT_MS = 10_000;

/** A chain or fan-out of `count` no-op stages of `activityType` on `pool` (also used by bench/scale-bench.ts). */
export function benchPlan(
  shape: 'chain' | 'fan-out',
  count: number,
  pool: string,
  activityType: string,
  timeoutMs = STAGE_TIMEOUT_MS,
): Plan {
  const stages: PlannedStage[] = Array.from({ length: count }, (_, index) => ({
    id: `s${index}`,
    uses: activityType,
    typeVersion: '1.0.0',
    with: { index },
    needs: shape === 'chain' && index > 0 ? [`s${index - 1}`] : [],
    pool,
    timeoutMs,
    retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 },
    onFailure: 'fail',
    cache: { enabled: false },
  }));
  const ids = stages.map((s) => s.id);
  return {
    apiVersion: 'fineflow/v1',
    pipeline: { name: `bench-${shape}` },
    params: {},
    stages,
    levels: shape === 'chain' ? ids.map((id) => [id]) : [ids],
    triggers: [],
  };
}

export async function benchOrchestration(options: OrchestrationBenchOptions = {}): Promise<OrchestrationBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const repeats = options.repeats ?? 5;
  const config = loadConfig(process.env);
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already (another benchmark in this process).
  }
  const suffix = Math.random().toString(36).slice(2, 8);
  const pools = { control: `bench-control-${suffix}`, cpu: `bench-cpu-${suffix}` };
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const connection = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);
  const common = { config, store, connection, extraStages: { 'test-noop': noopStage }, shutdownGraceMs: 1_000 };
  const workers = [
    await createWorker({
      ...common,
      pool: pools.control,
      runsWorkflows: true,
      workflowsPath: path.join(__dirname, 'orchestration-workflows.ts'),
    }),
    await createWorker({
      ...common,
      pool: pools.cpu,
      concurrency: 100,
      extraActivities: { [ACTIVITY_TYPE.bare]: async () => ({ outputs: {} }) },
    }),
  ];
  const running = workers.map((w) => w.run());
  const runs = new RunClient(client, {
    bucket: config.s3.bucket,
    store,
    workflowTaskQueue: taskQueueForPool(pools.control),
  });
  let sequence = 0;

  const fineflow = async (activity: ActivityVariant, shape: 'chain' | 'fan-out', count: number): Promise<number> => {
    const started = performance.now();
    const runId = await runs.submit(benchPlan(shape, count, pools.cpu, ACTIVITY_TYPE[activity]), {
      runId: `bench-ff-${suffix}-${sequence++}`,
    });
    const result = await runs.result(runId);
    if (result.status !== 'succeeded') throw new Error(`fineflow ${shape} run ${runId} ended ${result.status}`);
    return performance.now() - started;
  };
  const handWritten = async (activity: ActivityVariant, shape: 'chain' | 'fan-out', count: number): Promise<number> => {
    const started = performance.now();
    const runId = `bench-hw-${suffix}-${sequence++}`;
    const input: HandWrittenInput = {
      shape,
      stages: count,
      activityType: ACTIVITY_TYPE[activity],
      taskQueue: taskQueueForPool(pools.cpu),
      runId,
      bucket: config.s3.bucket,
    };
    await client.workflow.execute('handWrittenPipeline', {
      taskQueue: runs.workflowTaskQueue,
      workflowId: runId,
      args: [input],
    });
    return performance.now() - started;
  };

  const results: ShapeResult[] = [];
  try {
    for (const activity of options.activities ?? (['bare', 'stage-runner'] as const)) {
      for (const [shape, count] of [
        ['chain', options.chainLength ?? 50],
        ['fan-out', options.fanOutWidth ?? 200],
      ] as const) {
        await fineflow(activity, shape, count); // warm-up: workflow cache, connections
        await handWritten(activity, shape, count);
        const ff: number[] = [];
        const hw: number[] = [];
        for (let i = 0; i < repeats; i++) {
          // Alternate the order so drift in the machine's load hits both alike.
          if (i % 2 === 0) {
            ff.push(await fineflow(activity, shape, count));
            hw.push(await handWritten(activity, shape, count));
          } else {
            hw.push(await handWritten(activity, shape, count));
            ff.push(await fineflow(activity, shape, count));
          }
        }
        const best = { ff: Math.min(...ff), hw: Math.min(...hw) };
        const result: ShapeResult = {
          activity,
          shape,
          stages: count,
          fineflowMs: best.ff,
          handWrittenMs: best.hw,
          ratio: best.ff / best.hw,
          fineflowMedianMs: median(ff),
          handWrittenMedianMs: median(hw),
          medianRatio: median(ff) / median(hw),
        };
        results.push(result);
        log(
          `orchestration ${activity.padEnd(12)} ${shape.padEnd(7)} ${String(count).padStart(3)} stages: ` +
            `best fineflow ${best.ff.toFixed(0)} ms vs hand-written ${best.hw.toFixed(0)} ms = ${result.ratio.toFixed(2)}×; ` +
            `median ${result.fineflowMedianMs.toFixed(0)} vs ${result.handWrittenMedianMs.toFixed(0)} ms = ${result.medianRatio.toFixed(2)}× ` +
            `(runs ff ${ff.map((v) => v.toFixed(0)).join('/')}, hw ${hw.map((v) => v.toFixed(0)).join('/')})`,
        );
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.shutdown()));
    await Promise.allSettled(running);
    await connection.close();
    await client.connection.close();
  }
  const worstRatio = Math.max(...results.map((r) => r.ratio));
  log(
    `orchestration overhead: worst best-of-${repeats} ratio ${worstRatio.toFixed(2)}× (target ≤ 1.20×) — ${WORKFLOW_TYPES.pipelineRun} vs hand-written workflow`,
  );
  return { results, worstRatio, target: 1.2 };
}

if (require.main === module) {
  guardSectionArgs('orchestration', process.argv.slice(2));
  benchOrchestration().then(
    (result) => {
      process.exitCode = result.worstRatio <= result.target ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
