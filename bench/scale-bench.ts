/**
 * Scale (issue 17): many concurrent small runs and one wide fan-out, each done by Fineflow's
 * `pipelineRun` and by the hand-written Temporal workflow of bench/orchestration-workflows.ts
 * calling the same stage activity (`test-noop` through the stage runner: log write, cancel watch
 * and all), in the same process, on the same workers, against the stack named by the environment.
 *
 *   node --import tsx bench/scale-bench.ts [--full] [--runs 10,100,1000] [--fan-out 1000] [--chain 20] [--no-before]
 *
 * Default: 10 and 100 runs, a 300-stage fan-out, a 10-stage chain; `--full` (issue 17's shapes): 10, 100
 * and 1,000 runs, a 1,000-stage fan-out, a 20-stage chain. `npm run bench -- --only scale -- --full`.
 *
 * For each shape and variant: makespan (all runs submitted at once → all ended), sustained
 * stages/s, p50/p99 dispatch latency (run submitted → its first stage starts on the worker; in the
 * fan-out, → each of its stages starts, from the history), the peak RSS growth of this process
 * (client + both workers) over the phase, and the stage attempts that had to be retried (a lost
 * activity task shows up there, freed by a heartbeat or start-to-close timeout). Ratios are
 * Fineflow / hand-written. The chain shape also splits each stage's round trip by the run's
 * history (schedule-to-start, execution, completion → next schedule) to show where the time goes.
 * The machine is shared: figures are noisy; the ratios, taken in the same invocation, are the point.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { RunClient, retryCutLongPoll } from '../src/client/run-client';
import { loadConfig } from '../src/config';
import { taskQueueForPool } from '../src/core/run/task-queues';
import { connectClient, connectWorker } from '../src/client/temporal-connection';
import { RUN_WORKFLOW_TASK_TIMEOUT_MS, type StageActivityInput } from '../src/core/run/run-types';
import { createObjectStoreFromConfig } from '../src/storage/minio-store';
import { createWorker } from '../src/worker/run-worker';
import type { HandWrittenInput } from './orchestration-workflows';
import { benchPlan } from './orchestration-bench';
import type { StageImplementation } from '../activities/stage-runner';
import { guardSectionArgs } from './bench-flags';

/**
 * `bare` is the hand-written workflow calling an activity that returns at once (no stage runner):
 * Temporal's own round trip, the floor the chain's per-stage latency is compared with.
 */
type Variant = 'fineflow' | 'hand-written' | 'bare';

const BARE_ACTIVITY = 'scale-bare-noop';
const RUN_PREFIX: { readonly [v in Variant]: string } = { fineflow: 'ff', 'hand-written': 'hw', bare: 'bare' };
type Shape = 'chain' | 'fan-out';

interface PhaseResult {
  readonly makespanMs: number;
  readonly stagesPerSecond: number;
  readonly dispatchP50Ms: number;
  readonly dispatchP99Ms: number;
  readonly peakRssGrowthMb: number;
  readonly retried: RetriedAttempts;
}

/**
 * Stage attempts after the first, from the runs' histories, by what ended the attempt before: a
 * "lost" activity task (taken from the queue, never run) is only freed by a timeout, the heartbeat
 * timeout if the stage has one (Fineflow's default 30 s), else start-to-close (120 s here).
 */
interface RetriedAttempts {
  readonly heartbeat: number;
  readonly startToClose: number;
  readonly other: number;
  /** Longest time from an activity's scheduling to the start of a retried attempt. */
  readonly longestWaitMs: number;
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

async function startHarness(env: NodeJS.ProcessEnv = process.env): Promise<Harness> {
  const config = loadConfig(env);
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
    await createWorker({
      ...common,
      pool: pools.cpu,
      concurrency: 200,
      extraActivities: {
        [BARE_ACTIVITY]: async (input: StageActivityInput) => {
          if (!firstStart.has(input.context.runId)) firstStart.set(input.context.runId, Date.now());
          return { outputs: {} };
        },
      },
    }),
  ];
  const running = workers.map((w) => w.run());
  return {
    client,
    runs: new RunClient(client, {
      bucket: config.s3.bucket,
      store,
      workflowTaskQueue: taskQueueForPool(pools.control),
    }),
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
  const id = `scale-${RUN_PREFIX[variant]}-${process.pid}-${sequence++}`;
  const at = Date.now();
  if (variant === 'fineflow') {
    await h.runs.submit(benchPlan(shape, stages, h.stagePool, 'test-noop', STAGE_TIMEOUT_MS), { runId: id });
    return { id, at };
  }
  const input: HandWrittenInput = {
    shape,
    stages,
    activityType: variant === 'bare' ? BARE_ACTIVITY : 'test-noop',
    taskQueue: taskQueueForPool(h.stagePool),
    runId: id,
    bucket: h.bucket,
    timeoutMs: STAGE_TIMEOUT_MS,
  };
  await h.client.workflow.start('handWrittenPipeline', {
    taskQueue: h.runs.workflowTaskQueue,
    workflowId: id,
    // The same workflow task timeout as Fineflow's runs, as a Temporal user at this scale would set.
    workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT_MS,
    args: [input],
  });
  return { id, at };
}

/** A cut `result()` long poll is asked again, by the product's own retry: the run goes on regardless. */
async function waitRun(h: Harness, variant: Variant, id: string): Promise<void> {
  const onCut = (cut: { attempt: number; message: string }): void =>
    console.error(
      `scale: the result long poll of ${id} was cut (attempt ${cut.attempt}): ${cut.message}; asking again`,
    );
  if (variant === 'fineflow') {
    const result = await h.runs.result(id, { onCut });
    if (result.status !== 'succeeded') throw new Error(`run ${id} ended ${result.status}`);
  } else {
    await retryCutLongPoll(() => h.client.workflow.getHandle(id).result(), { onCut });
  }
}

/**
 * From the histories of the submitted runs (a few fetched at a time): the retried stage attempts,
 * and every stage's start (its last attempt) after its run was submitted.
 */
async function scanHistories(
  h: Harness,
  submitted: readonly { id: string; at: number }[],
): Promise<{ retried: RetriedAttempts; stageStartMs: number[] }> {
  const { TimeoutType } = temporal.api.enums.v1;
  const counts = { heartbeat: 0, startToClose: 0, other: 0, longestWaitMs: 0 };
  const stageStartMs: number[] = [];
  const queue = [...submitted];
  const fetchOne = async (): Promise<void> => {
    for (let run = queue.pop(); run !== undefined; run = queue.pop()) {
      const events = (await h.client.workflow.getHandle(run.id).fetchHistory()).events ?? [];
      const scheduledAt = new Map<string, number>();
      for (const event of events) {
        if (event.activityTaskScheduledEventAttributes) scheduledAt.set(String(event.eventId), eventMs(event));
        const started = event.activityTaskStartedEventAttributes;
        if (started) stageStartMs.push(eventMs(event) - run.at);
        if (!started || (started.attempt ?? 1) <= 1) continue;
        const timeout = started.lastFailure?.timeoutFailureInfo?.timeoutType;
        if (timeout === TimeoutType.TIMEOUT_TYPE_HEARTBEAT) counts.heartbeat += 1;
        else if (timeout === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) counts.startToClose += 1;
        else counts.other += 1;
        const wait = eventMs(event) - (scheduledAt.get(String(started.scheduledEventId)) ?? eventMs(event));
        counts.longestWaitMs = Math.max(counts.longestWaitMs, wait);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, fetchOne));
  return { retried: counts, stageStartMs };
}

/** `count` runs of `stages` stages each, all submitted at once. */
async function phase(h: Harness, variant: Variant, shape: Shape, count: number, stages: number): Promise<PhaseResult> {
  const rss = rssSampler();
  const started = Date.now();
  const submitted = await Promise.all(Array.from({ length: count }, () => oneRun(h, variant, shape, stages)));
  await Promise.all(submitted.map((s) => waitRun(h, variant, s.id)));
  const makespanMs = Date.now() - started;
  const peakRssGrowthMb = rss.stop();
  const scanned = await scanHistories(h, submitted);
  // One wide run: every stage's dispatch (submitted → started) counts; many runs: each run's first stage.
  const dispatch =
    shape === 'fan-out' ? scanned.stageStartMs : submitted.map((s) => (h.firstStart.get(s.id) ?? Number.NaN) - s.at);
  return {
    makespanMs,
    stagesPerSecond: (count * stages) / (makespanMs / 1000),
    dispatchP50Ms: quantile(dispatch, 0.5),
    dispatchP99Ms: quantile(dispatch, 0.99),
    peakRssGrowthMb,
    retried: scanned.retried,
  };
}

function describeRetried(r: RetriedAttempts): string {
  const total = r.heartbeat + r.startToClose + r.other;
  if (total === 0) return 'none';
  const wait = (r.longestWaitMs / 1000).toFixed(1);
  return (
    `${total} (after a heartbeat timeout ${r.heartbeat}, start-to-close ${r.startToClose}, other ${r.other}; ` +
    `longest wait ${wait} s)`
  );
}

function describe(label: string, ff: PhaseResult, hw: PhaseResult): string {
  const r = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  return (
    describePhase(label, ff, hw, r) +
    `; retried stage attempts: fineflow ${describeRetried(ff.retried)} vs hand-written ${describeRetried(hw.retried)}`
  );
}

function describePhase(label: string, ff: PhaseResult, hw: PhaseResult, r: (a: number, b: number) => string): string {
  return (
    `scale ${label}: makespan ${ff.makespanMs} vs ${hw.makespanMs} ms (${r(ff.makespanMs, hw.makespanMs)}); ` +
    `stages/s ${ff.stagesPerSecond.toFixed(1)} vs ${hw.stagesPerSecond.toFixed(1)} (${r(ff.stagesPerSecond, hw.stagesPerSecond)}); ` +
    `dispatch p50 ${ff.dispatchP50Ms} vs ${hw.dispatchP50Ms} ms, p99 ${ff.dispatchP99Ms} vs ${hw.dispatchP99Ms} ms ` +
    `(${r(ff.dispatchP99Ms, hw.dispatchP99Ms)}); peak RSS growth ${ff.peakRssGrowthMb.toFixed(0)} vs ${hw.peakRssGrowthMb.toFixed(0)} MiB`
  );
}

/** Mean ms per segment of one chained stage's round trip, from the run's history. */
interface ChainSplit {
  readonly activities: number;
  readonly workflowTasks: number;
  /** Activity scheduled → started: matching hands the task to a poller of the stage pool. */
  readonly scheduleToStartMs: number;
  /** Activity started → completed: the stage runner's own work plus the completion RPC. */
  readonly executionMs: number;
  /** Activity completed → workflow task started: matching hands the workflow task to the (sticky) poller. */
  readonly workflowTaskDispatchMs: number;
  /** Workflow task started → completed: the worker runs the activation and answers. */
  readonly workflowTaskMs: number;
  /** Workflow task completed → next activity scheduled (0 unless the server commits them apart). */
  readonly commitToScheduleMs: number;
}

function eventMs(event: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  return Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
}

/** Where one chained stage's time goes, from the run's history: mean ms per segment. */
async function chainBreakdown(h: Harness, runId: string): Promise<ChainSplit> {
  const events = (await h.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  const sums = { scheduleToStart: 0, execution: 0, wftDispatch: 0, wft: 0, commit: 0 };
  const counts = { activities: 0, workflowTasks: 0, gaps: 0 };
  const scheduled = new Map<string, number>();
  const started = new Map<string, number>();
  let activityDone: number | undefined;
  let wftStarted: number | undefined;
  let wftCompleted: number | undefined;
  for (const event of events) {
    const at = eventMs(event);
    const activityStarted = event.activityTaskStartedEventAttributes;
    const activityCompleted = event.activityTaskCompletedEventAttributes;
    if (event.activityTaskScheduledEventAttributes) {
      counts.activities += 1;
      scheduled.set(String(event.eventId), at);
      if (wftCompleted !== undefined && activityDone !== undefined) sums.commit += at - wftCompleted;
    } else if (activityStarted) {
      const id = String(activityStarted.scheduledEventId);
      sums.scheduleToStart += at - (scheduled.get(id) ?? at);
      started.set(id, at);
    } else if (activityCompleted) {
      const id = String(activityCompleted.scheduledEventId);
      sums.execution += at - (started.get(id) ?? at);
      activityDone = at;
    } else if (event.workflowTaskStartedEventAttributes) {
      wftStarted = at;
      if (activityDone !== undefined) {
        sums.wftDispatch += at - activityDone;
        counts.gaps += 1;
      }
    } else if (event.workflowTaskCompletedEventAttributes) {
      counts.workflowTasks += 1;
      wftCompleted = at;
      if (activityDone !== undefined && wftStarted !== undefined) sums.wft += at - wftStarted;
    }
  }
  const n = Math.max(1, counts.activities);
  const gaps = Math.max(1, counts.gaps);
  return {
    activities: counts.activities,
    workflowTasks: counts.workflowTasks,
    scheduleToStartMs: sums.scheduleToStart / n,
    executionMs: sums.execution / n,
    workflowTaskDispatchMs: sums.wftDispatch / gaps,
    workflowTaskMs: sums.wft / gaps,
    commitToScheduleMs: sums.commit / Math.max(1, n - 1),
  };
}

/** Workflow tasks of a run from its history (started → completed): how many, the longest, the sum. */
async function workflowTaskTimes(
  h: Harness,
  runId: string,
): Promise<{ count: number; longestMs: number; totalMs: number }> {
  const events = (await h.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  let startedAt: number | undefined;
  const times: number[] = [];
  for (const event of events) {
    if (event.workflowTaskStartedEventAttributes) startedAt = eventMs(event);
    else if (event.workflowTaskCompletedEventAttributes && startedAt !== undefined)
      times.push(eventMs(event) - startedAt);
  }
  return { count: times.length, longestMs: Math.max(0, ...times), totalMs: times.reduce((a, b) => a + b, 0) };
}

async function chainLatency(h: Harness, stages: number, label = ''): Promise<Record<Variant, number>> {
  const perStage: Record<Variant, number> = { fineflow: 0, 'hand-written': 0, bare: 0 };
  for (const variant of ['fineflow', 'hand-written', 'bare'] as const) {
    await phase(h, variant, 'chain', 1, 3); // warm-up
    const best: number[] = [];
    let lastId = '';
    for (let i = 0; i < 3; i++) {
      const before = sequence;
      const result = await phase(h, variant, 'chain', 1, stages);
      best.push(result.makespanMs / stages);
      lastId = `scale-${RUN_PREFIX[variant]}-${process.pid}-${before}`;
    }
    perStage[variant] = Math.min(...best);
    const split = await chainBreakdown(h, lastId);
    console.log(
      `scale chain${label} ${stages} stages ${variant}: best ${perStage[variant].toFixed(1)} ms per stage ` +
        `(runs ${best.map((b) => b.toFixed(1)).join('/')}); history: activity schedule→start ${split.scheduleToStartMs.toFixed(1)} ms, ` +
        `execution ${split.executionMs.toFixed(1)} ms, completion→workflow task start ${split.workflowTaskDispatchMs.toFixed(1)} ms, ` +
        `workflow task ${split.workflowTaskMs.toFixed(1)} ms, task completed→next schedule ${split.commitToScheduleMs.toFixed(1)} ms, ` +
        `${split.workflowTasks} workflow tasks for ${split.activities} activities`,
    );
  }
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  console.log(
    `scale chain${label} per-stage latency: fineflow ${perStage.fineflow.toFixed(1)} ms vs hand-written ${perStage['hand-written'].toFixed(1)} ms ` +
      `(${ratio(perStage.fineflow, perStage['hand-written'])}) vs Temporal's bare round trip ${perStage.bare.toFixed(1)} ms ` +
      `(${ratio(perStage.fineflow, perStage.bare)})`,
  );
  return perStage;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * "Before": the chain again on a second dev server started as `infra/stack.sh` started it until
 * this bench found the fsyncs (SQLite's default pragmas), in its own state dir, so both figures come
 * from the same invocation and the same machine load.
 */
async function chainBeforeAfter(h: Harness, stages: number): Promise<void> {
  const after = await chainLatency(h, stages, ' [after: WAL]');
  const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-scale-before-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    FINEFLOW_STACK_DIR: dir,
    FINEFLOW_TEMPORAL_PORT: String(port),
    FINEFLOW_TEMPORAL_UI_PORT: String(uiPort),
    FINEFLOW_TEMPORAL_SQLITE_PRAGMAS: '',
  };
  const stack = (command: string): number =>
    spawnSync('bash', [path.join(__dirname, '..', 'infra', 'stack.sh'), command, 'temporal'], { env, stdio: 'inherit' })
      .status ?? 1;
  try {
    if (stack('up') !== 0) throw new Error('could not start the "before" Temporal dev server');
    const before = await startHarness({ ...env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    let perStage: Record<Variant, number>;
    try {
      perStage = await chainLatency(before, stages, ' [before: SQLite defaults]');
    } finally {
      await before.close();
    }
    const change = (v: Variant): string => `${perStage[v].toFixed(1)} → ${after[v].toFixed(1)} ms`;
    console.log(
      `scale chain before/after (SQLite defaults → WAL, synchronous=normal): fineflow ${change('fineflow')}, ` +
        `hand-written ${change('hand-written')}, bare ${change('bare')} per stage`,
    );
  } finally {
    stack('down');
    rmSync(dir, { recursive: true, force: true });
  }
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
  // Quick by default (a few minutes on a shared machine); --full is issue 17's shapes.
  const full = argv.includes('--full');
  const runCounts = listArg(argv, '--runs', full ? [10, 100, 1000] : [10, 100]);
  const [fanOut = 0] = listArg(argv, '--fan-out', [full ? 1000 : 300]);
  const [chain = 0] = listArg(argv, '--chain', [full ? 20 : 10]);
  // The before/after chain compares dev-server settings; the prod profile runs on PostgreSQL.
  const before = !argv.includes('--no-before') && process.env.FINEFLOW_STACK_PROFILE !== 'prod';
  const h = await startHarness();
  const ratios: number[] = [];
  try {
    if (chain > 0) await (before ? chainBeforeAfter(h, chain) : chainLatency(h, chain));
    // Small runs: a two-stage chain each, so every run schedules twice.
    for (const count of runCounts.filter((c) => c > 0)) {
      const hw = await phase(h, 'hand-written', 'chain', count, 2);
      const ff = await phase(h, 'fineflow', 'chain', count, 2);
      console.log(describe(`${count} concurrent 2-stage runs`, ff, hw));
      ratios.push(ff.makespanMs / hw.makespanMs);
    }
    if (fanOut > 0) {
      const hwId = `scale-${RUN_PREFIX['hand-written']}-${process.pid}-${sequence}`;
      const hw = await phase(h, 'hand-written', 'fan-out', 1, fanOut);
      const ffId = `scale-${RUN_PREFIX.fineflow}-${process.pid}-${sequence}`;
      const ff = await phase(h, 'fineflow', 'fan-out', 1, fanOut);
      console.log(describe(`${fanOut}-stage fan-out`, ff, hw));
      const [ffTasks, hwTasks] = [await workflowTaskTimes(h, ffId), await workflowTaskTimes(h, hwId)];
      console.log(
        `scale ${fanOut}-stage fan-out workflow tasks: fineflow ${ffTasks.count}, longest ${ffTasks.longestMs.toFixed(0)} ms, ` +
          `total ${ffTasks.totalMs.toFixed(0)} ms vs hand-written ${hwTasks.count}, longest ${hwTasks.longestMs.toFixed(0)} ms, ` +
          `total ${hwTasks.totalMs.toFixed(0)} ms (total ${(ffTasks.totalMs / hwTasks.totalMs).toFixed(2)}×)`,
      );
      ratios.push(ff.makespanMs / hw.makespanMs);
    }
  } finally {
    await h.close();
  }
  if (ratios.length > 0)
    console.log(
      `scale: worst makespan ratio ${Math.max(...ratios).toFixed(2)}× (Fineflow / hand-written; shared machine, noisy)`,
    );
  return 0;
}

if (require.main === module) {
  guardSectionArgs('scale', process.argv.slice(2));
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
