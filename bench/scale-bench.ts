/**
 * Scale (issue 17): many concurrent small runs and one wide fan-out, each done by Fineflow's
 * `pipelineRun` and by the hand-written Temporal workflow of bench/orchestration-workflows.ts
 * calling the same stage activity (`test-noop` through the stage runner: log write, cancel watch
 * and all), in the same process, on the same workers, against the stack named by the environment.
 *
 *   node --import tsx bench/scale-bench.ts [--runs 10,100,1000] [--fan-out 1000] [--chain 20]
 *
 * For each shape and variant: makespan (all runs submitted at once → all ended), sustained
 * stages/s, p50/p99 dispatch latency (run submitted → its first stage starts on the worker), and
 * the peak RSS growth of this process (client + both workers) over the phase. Ratios are
 * Fineflow / hand-written. The chain shape also splits each stage's round trip by the run's
 * history (schedule-to-start, execution, completion → next schedule) to show where the time goes.
 * The machine is shared: figures are noisy; the ratios, taken in the same invocation, are the point.
 */
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { RunClient } from '../src/client/run-client';
import { loadConfig } from '../src/config';
import { taskQueueForPool } from '../src/core/run/task-queues';
import { connectClient, connectWorker } from '../src/client/temporal-connection';
import type { StageActivityInput } from '../src/core/run/run-types';
import { createObjectStoreFromConfig } from '../src/storage/minio-store';
import { createWorker } from '../src/worker/run-worker';
import type { HandWrittenInput } from './orchestration-workflows';
import { benchPlan } from './orchestration-bench';
import type { StageImplementation } from '../activities/stage-runner';

type Variant = 'fineflow' | 'hand-written';
type Shape = 'chain' | 'fan-out';

interface PhaseResult {
  readonly makespanMs: number;
  readonly stagesPerSecond: number;
  readonly dispatchP50Ms: number;
  readonly dispatchP99Ms: number;
  readonly peakRssGrowthMb: number;
}

const STAGE_TIMEOUT_MS = 120_000;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Samples this process's RSS every 100 ms; `stop` gives the peak growth over the start value in MiB. */
function rssSampler(): { stop(): number } {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return (Math.max(peak, process.memoryUsage.rss()) - start) / 2 ** 20;
    },
  };
}

interface Harness {
  readonly client: Client;
  readonly runs: RunClient;
  readonly stagePool: string;
  readonly bucket: string;
  /** First-stage start time of each run id, filled by the stage activity. */
  readonly firstStart: Map<string, number>;
  close(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  const config = loadConfig(process.env);
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already
  }
  const suffix = Math.random().toString(36).slice(2, 8);
  const pools = { control: `scale-control-${suffix}`, cpu: `scale-cpu-${suffix}` };
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const firstStart = new Map<string, number>();
  const noop: StageImplementation = async (input: StageActivityInput) => {
    if (!firstStart.has(input.context.runId)) firstStart.set(input.context.runId, Date.now());
    return { outputs: {} };
  };
  const connection = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);
  const common = { config, store, connection, extraStages: { 'test-noop': noop }, shutdownGraceMs: 1_000 };
  const workers = [
    await createWorker({
      ...common,
      pool: pools.control,
      runsWorkflows: true,
      workflowsPath: path.join(__dirname, 'orchestration-workflows.ts'),
    }),
    await createWorker({ ...common, pool: pools.cpu, concurrency: 200 }),
  ];
  const running = workers.map((w) => w.run());
  return {
    client,
    runs: new RunClient(client, { bucket: config.s3.bucket, workflowTaskQueue: taskQueueForPool(pools.control) }),
    stagePool: pools.cpu,
    bucket: config.s3.bucket,
    firstStart,
    async close() {
      await Promise.all(workers.map((w) => w.shutdown()));
      await Promise.allSettled(running);
      await connection.close();
      await client.connection.close();
    },
  };
}

let sequence = 0;

async function oneRun(h: Harness, variant: Variant, shape: Shape, stages: number): Promise<{ id: string; at: number }> {
  const id = `scale-${variant === 'fineflow' ? 'ff' : 'hw'}-${process.pid}-${sequence++}`;
  const at = Date.now();
  if (variant === 'fineflow') {
    await h.runs.submit(benchPlan(shape, stages, h.stagePool, 'test-noop', STAGE_TIMEOUT_MS), { runId: id });
    return { id, at };
  }
  const input: HandWrittenInput = {
    shape,
    stages,
    activityType: 'test-noop',
    taskQueue: taskQueueForPool(h.stagePool),
    runId: id,
    bucket: h.bucket,
  };
  await h.client.workflow.start('handWrittenPipeline', {
    taskQueue: h.runs.workflowTaskQueue,
    workflowId: id,
    args: [input],
  });
  return { id, at };
}

async function waitRun(h: Harness, variant: Variant, id: string): Promise<void> {
  if (variant === 'fineflow') {
    const result = await h.runs.result(id);
    if (result.status !== 'succeeded') throw new Error(`run ${id} ended ${result.status}`);
  } else {
    await h.client.workflow.getHandle(id).result();
  }
}

/** `count` runs of `stages` stages each, all submitted at once. */
async function phase(h: Harness, variant: Variant, shape: Shape, count: number, stages: number): Promise<PhaseResult> {
  const rss = rssSampler();
  const started = Date.now();
  const submitted = await Promise.all(Array.from({ length: count }, () => oneRun(h, variant, shape, stages)));
  await Promise.all(submitted.map((s) => waitRun(h, variant, s.id)));
  const makespanMs = Date.now() - started;
  const dispatch = submitted.map((s) => (h.firstStart.get(s.id) ?? Number.NaN) - s.at);
  return {
    makespanMs,
    stagesPerSecond: (count * stages) / (makespanMs / 1000),
    dispatchP50Ms: quantile(dispatch, 0.5),
    dispatchP99Ms: quantile(dispatch, 0.99),
    peakRssGrowthMb: rss.stop(),
  };
}

function describe(label: string, ff: PhaseResult, hw: PhaseResult): string {
  const r = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  return (
    `scale ${label}: makespan ${ff.makespanMs} vs ${hw.makespanMs} ms (${r(ff.makespanMs, hw.makespanMs)}); ` +
    `stages/s ${ff.stagesPerSecond.toFixed(1)} vs ${hw.stagesPerSecond.toFixed(1)} (${r(ff.stagesPerSecond, hw.stagesPerSecond)}); ` +
    `dispatch p50 ${ff.dispatchP50Ms} vs ${hw.dispatchP50Ms} ms, p99 ${ff.dispatchP99Ms} vs ${hw.dispatchP99Ms} ms ` +
    `(${r(ff.dispatchP99Ms, hw.dispatchP99Ms)}); peak RSS growth ${ff.peakRssGrowthMb.toFixed(0)} vs ${hw.peakRssGrowthMb.toFixed(0)} MiB`
  );
}

/** Where one chained stage's time goes, from the run's history: mean ms per segment. */
async function chainBreakdown(h: Harness, runId: string): Promise<Record<string, number>> {
  const events = (await h.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  const ms = (e: (typeof events)[number]): number =>
    Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const sums = { scheduleToStart: 0, execution: 0, completionToNextSchedule: 0, workflowTasks: 0, activities: 0 };
  let lastCompleted: number | undefined;
  const startedAt = new Map<string, number>();
  for (const event of events) {
    const at = ms(event);
    if (event.activityTaskScheduledEventAttributes) {
      sums.activities += 1;
      if (lastCompleted !== undefined) sums.completionToNextSchedule += at - lastCompleted;
      startedAt.set(String(event.eventId), at);
    } else if (event.activityTaskStartedEventAttributes) {
      const scheduled = startedAt.get(String(event.activityTaskStartedEventAttributes.scheduledEventId));
      if (scheduled !== undefined) sums.scheduleToStart += at - scheduled;
      startedAt.set(`started-${String(event.activityTaskStartedEventAttributes.scheduledEventId)}`, at);
    } else if (event.activityTaskCompletedEventAttributes) {
      const began = startedAt.get(`started-${String(event.activityTaskCompletedEventAttributes.scheduledEventId)}`);
      if (began !== undefined) sums.execution += at - began;
      lastCompleted = at;
    } else if (event.workflowTaskCompletedEventAttributes) {
      sums.workflowTasks += 1;
    }
  }
  const n = Math.max(1, sums.activities);
  return {
    activities: sums.activities,
    workflowTasks: sums.workflowTasks,
    scheduleToStartMs: sums.scheduleToStart / n,
    executionMs: sums.execution / n,
    completionToNextScheduleMs: sums.completionToNextSchedule / Math.max(1, n - 1),
  };
}

async function chainLatency(h: Harness, stages: number): Promise<void> {
  const perStage: Record<Variant, number> = { fineflow: 0, 'hand-written': 0 };
  for (const variant of ['fineflow', 'hand-written'] as const) {
    await phase(h, variant, 'chain', 1, 3); // warm-up
    const best: number[] = [];
    let lastId = '';
    for (let i = 0; i < 3; i++) {
      const before = sequence;
      const result = await phase(h, variant, 'chain', 1, stages);
      best.push(result.makespanMs / stages);
      lastId = `scale-${variant === 'fineflow' ? 'ff' : 'hw'}-${process.pid}-${before}`;
    }
    perStage[variant] = Math.min(...best);
    const split = await chainBreakdown(h, lastId);
    console.log(
      `scale chain ${stages} stages ${variant}: best ${perStage[variant].toFixed(1)} ms per stage ` +
        `(runs ${best.map((b) => b.toFixed(1)).join('/')}); history: schedule→start ${split.scheduleToStartMs?.toFixed(1)} ms, ` +
        `execution ${split.executionMs?.toFixed(1)} ms, completion→next schedule ${split.completionToNextScheduleMs?.toFixed(1)} ms, ` +
        `${split.workflowTasks} workflow tasks for ${split.activities} activities`,
    );
  }
  console.log(
    `scale chain per-stage latency: fineflow ${perStage.fineflow.toFixed(1)} ms vs hand-written ${perStage['hand-written'].toFixed(1)} ms = ${(perStage.fineflow / perStage['hand-written']).toFixed(2)}×`,
  );
}

function listArg(argv: readonly string[], name: string, fallback: number[]): number[] {
  const index = argv.indexOf(name);
  if (index < 0) return fallback;
  return (argv[index + 1] ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0);
}

async function main(argv: readonly string[]): Promise<number> {
  const runCounts = listArg(argv, '--runs', [10, 100, 1000]);
  const [fanOut = 1000] = listArg(argv, '--fan-out', [1000]);
  const [chain = 20] = listArg(argv, '--chain', [20]);
  const h = await startHarness();
  const ratios: number[] = [];
  try {
    if (chain > 0) await chainLatency(h, chain);
    // Small runs: a two-stage chain each, so every run schedules twice.
    for (const count of runCounts.filter((c) => c > 0)) {
      const hw = await phase(h, 'hand-written', 'chain', count, 2);
      const ff = await phase(h, 'fineflow', 'chain', count, 2);
      console.log(describe(`${count} concurrent 2-stage runs`, ff, hw));
      ratios.push(ff.makespanMs / hw.makespanMs);
    }
    if (fanOut > 0) {
      const hw = await phase(h, 'hand-written', 'fan-out', 1, fanOut);
      const ff = await phase(h, 'fineflow', 'fan-out', 1, fanOut);
      console.log(describe(`${fanOut}-stage fan-out`, ff, hw));
      ratios.push(ff.makespanMs / hw.makespanMs);
    }
  } finally {
    await h.close();
  }
  console.log(
    `scale: worst makespan ratio ${Math.max(...ratios).toFixed(2)}× (Fineflow / hand-written; shared machine, noisy)`,
  );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
