/**
 * `npm run bench -- --only ui`: how fast `fineflow ui` shows a 500-stage run, against the CLI's
 * `fineflow status RUN --json` for the same run, in the same invocation.
 *
 * The run: `start` → 20 parallel stages → `gate` (fails, onFailure: pause, so the run waits) →
 * 478 stages in layers of 20, each needing two stages of the layer before (about 1,000 edges:
 * a layout that a chain or a flat fan-out would make too easy). 22 stages ran, one waits, 478
 * are pending: the page has every state class to draw.
 *
 * Measured, each the median of --repeats (default 5) after one warm-up:
 *   - page: headless Chromium opens `#/runs/RUN` in a fresh context, until all 500 DAG nodes are
 *     drawn with their live state (the gate shows `waiting`);
 *   - api: GET /api/runs/RUN (state, plan graph, sweeps), what the page fetches first;
 *   - cli: `node bin/fineflow.js status RUN --json` as a process, what a terminal user waits for.
 * Ratios page/cli and api/cli. On a shared machine all three are noisy; the medians are printed.
 * Options: --stages N (500), --repeats N (5), --screenshot FILE (the run page, to look at it).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { StageImplementation } from '../activities/stage-runner';
import { connectClient, connectWorker } from '../src/client/temporal-connection';
import { RunClient } from '../src/client/run-client';
import { loadConfig } from '../src/config';
import { InvalidInputError } from '../src/core/errors';
import { taskQueueForPool } from '../src/core/run/task-queues';
import { ScheduleService } from '../src/schedules/schedule-client';
import { createObjectStoreFromConfig } from '../src/storage/minio-store';
import { startUiServer } from '../src/ui/server';
import { createWorker } from '../src/worker/run-worker';
import { launchChromium } from '../scripts/chromium';
import { gatedPlan } from './ui-bench-plan';
import type { Plan } from '../src/core/spec/plan-types';
import { LARGE_GRAPH, layeredLayout } from '../src/ui/web/layered-layout';
import dagre from '@dagrejs/dagre';
import { guardSectionArgs } from './bench-flags';

const root = path.resolve(__dirname, '..');
const execFileAsync = promisify(execFile);

function flag(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(name);
  const value = index >= 0 ? Number(argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} takes a positive integer`);
  return value;
}

/** The page's layout of this run against dagre's (what the page used before), in Node, same graph. */
function layoutComparison(plan: Plan, stageCount: number): void {
  const nodes = plan.stages.map((s) => ({ id: s.id }));
  const edges = plan.stages.flatMap((s) => s.needs.map((from) => ({ from, to: s.id })));
  const started = performance.now();
  layeredLayout({ nodes, edges, nodeWidth: 168, nodeHeight: 46, nodeGap: 18, rankGap: 46, margin: 8 });
  const layered = performance.now() - started;
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 46 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.id, { width: 168, height: 46 });
  for (const edge of edges) graph.setEdge(edge.from, edge.to);
  const dagreStarted = performance.now();
  dagre.layout(graph);
  const dagreMs = performance.now() - dagreStarted;
  console.log(
    `  layout of the ${stageCount}-stage DAG in Node: layered ${layered.toFixed(0)} ms vs dagre ${dagreMs.toFixed(0)} ms (${(layered / dagreMs).toFixed(3)}×; the page uses dagre up to ${LARGE_GRAPH} stages)`,
  );
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function main(argv: readonly string[]): Promise<void> {
  const stageCount = flag(argv, '--stages', 500);
  const repeats = flag(argv, '--repeats', 5);
  // `--screenshot FILE`: the page as the last timed load left it, to look at the layout.
  const screenshotAt = argv.indexOf('--screenshot');
  const screenshot = screenshotAt >= 0 ? argv[screenshotAt + 1] : undefined;
  const config = loadConfig(process.env);
  // The gate's failure is expected: keep the SDK's warning about it out of the report.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const suffix = Math.random().toString(36).slice(2, 8);
  const pools = { control: `bench-ui-control-${suffix}`, stages: `bench-ui-${suffix}` };
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const connection = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);
  const noop: StageImplementation = async () => ({ outputs: {} });
  const gate: StageImplementation = async () => {
    throw new InvalidInputError('the benchmark holds its run here (onFailure: pause)');
  };
  const common = { config, store, connection, extraStages: { 'bench-noop': noop, 'bench-gate': gate } };
  const workers = [
    await createWorker({ ...common, pool: pools.control, runsWorkflows: true, shutdownGraceMs: 1_000 }),
    await createWorker({ ...common, pool: pools.stages, concurrency: 20, shutdownGraceMs: 1_000 }),
  ];
  const running = workers.map((w) => w.run());
  const runs = new RunClient(client, {
    bucket: config.s3.bucket,
    store,
    workflowTaskQueue: taskQueueForPool(pools.control),
  });
  const ui = await startUiServer(
    {
      runs,
      store,
      bucket: config.s3.bucket,
      schedules: new ScheduleService(client, { bucket: config.s3.bucket }),
      namespace: config.temporal.namespace,
    },
    { pollMs: 500 },
  );
  const browser = await launchChromium();
  let runId = '';
  const plan = gatedPlan(stageCount, pools.stages);
  try {
    runId = await runs.submit(plan, { runId: `bench-ui-${suffix}` });
    const held = await runs.watch(runId, () => undefined, {
      intervalMs: 250,
      until: (s) => s.stages.some((stage) => stage.id === 'gate' && stage.status === 'waiting'),
    });
    // The run is quiet once no workflow task is pending (the gate's failure has been processed);
    // measuring earlier would time a query queued behind that task.
    const settleStarted = performance.now();
    while ((await client.workflow.getHandle(runId).describe()).raw.pendingWorkflowTask) {
      if (performance.now() - settleStarted > 300_000) throw new Error(`run ${runId} did not settle in 5 min`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    console.log(`run settled ${((performance.now() - settleStarted) / 1000).toFixed(1)} s after the gate paused`);
    const counts = new Map<string, number>();
    for (const s of held.stages) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    console.log(
      `run ${runId}: ${held.stages.length} stages (${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}), ${plan.stages.reduce((n, s) => n + s.needs.length, 0)} edges`,
    );

    const page = async (): Promise<number> => {
      const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
      const tab = await context.newPage();
      const started = performance.now();
      await tab.goto(`${ui.url}/#/runs/${encodeURIComponent(runId)}`);
      // drawDag inserts the whole SVG at once, then the live states: the gate's state comes last.
      await tab.locator('svg.dag g.node[data-stage="gate"][data-status="waiting"]').waitFor({ timeout: 120_000 });
      const elapsed = performance.now() - started;
      const drawn = await tab.locator('svg.dag g.node').count();
      if (drawn !== stageCount) throw new Error(`the page drew ${drawn} of ${stageCount} stages`);
      if (screenshot) await tab.screenshot({ path: screenshot });
      await context.close();
      return elapsed;
    };
    const api = async (): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${ui.url}/api/runs/${encodeURIComponent(runId)}`);
      const body = (await response.json()) as { graph?: { nodes?: unknown[] } };
      if (!response.ok || body.graph?.nodes?.length !== stageCount) throw new Error(`API answered ${response.status}`);
      return performance.now() - started;
    };
    const cli = async (): Promise<number> => {
      // Asynchronous: the run's workers live in this process and must answer the CLI's query.
      const started = performance.now();
      const { stdout } = await execFileAsync(
        process.execPath,
        [path.join(root, 'bin/fineflow.js'), 'status', runId, '--json'],
        { cwd: root, env: process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const elapsed = performance.now() - started;
      const stages = (JSON.parse(stdout) as { stages?: unknown[] }).stages?.length;
      if (stages !== stageCount) throw new Error(`fineflow status --json showed ${stages} stages`);
      return elapsed;
    };

    await page();
    await api();
    await cli();
    const times = { page: [] as number[], api: [] as number[], cli: [] as number[] };
    for (let i = 0; i < repeats; i++) {
      times.page.push(await page());
      times.api.push(await api());
      times.cli.push(await cli());
    }
    const m = { page: median(times.page), api: median(times.api), cli: median(times.cli) };
    const row = (name: string, values: number[], value: number) =>
      `  ${name.padEnd(34)} median ${value.toFixed(0).padStart(6)} ms   (runs: ${values.map((v) => v.toFixed(0)).join(', ')})`;
    console.log(`${stageCount}-stage run, ${repeats} timed repeats each (shared machine: noisy)`);
    console.log(row('run page until the DAG is drawn', times.page, m.page));
    console.log(row('API GET /api/runs/RUN', times.api, m.api));
    console.log(row('CLI status --json (process)', times.cli, m.cli));
    console.log(`  ratio page / cli: ${(m.page / m.cli).toFixed(2)}×   api / cli: ${(m.api / m.cli).toFixed(2)}×`);
    layoutComparison(plan, stageCount);
  } finally {
    await browser.close();
    await ui.close();
    if (runId) await runs.cancel(runId).catch(() => undefined);
    for (const worker of workers) worker.worker.shutdown();
    await Promise.allSettled(running);
    await client.connection.close();
    await connection.close();
  }
}

guardSectionArgs('ui', process.argv.slice(2));
main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
