/**
 * The README's screenshots of `fineflow ui` (docs/images/ui-*.png), from real runs on the dev
 * stack, not test fixtures:
 *   npm run demo                 # quickstart run + surface-defects model (leaves the dev stack up)
 *   npm run screenshots          # sweep run (first time, or with -- --new-sweep), then the screenshots
 *   npm run screenshots -- --only ui-evaluate-report.png   # some images only (comma-separated; no sweep unless named)
 * - run page: the newest succeeded `quickstart` run that trained (not cached or reused), its fine-tune stage
 *   (curves, two-phase marker);
 * - evaluate: the same run's evaluate stage with its report in the page's sandboxed frame;
 * - sweep: a TPE + ASHA sweep of surface-cnn on the demo's data (`ui-sweep-demo`, 8 trials), started
 *   with the demo's worker pools when no succeeded one exists, reused after that;
 * - lineage: the model the quickstart registered (dataset version → run → stage → version).
 * Whole-page captures go through screenshotWholePage (scripts/chromium.ts): Playwright's `fullPage` left the report
 * frame blank. Look at the images before committing them.
 */
import path from 'node:path';
import { RunClient } from '../src/client/run-client';
import type { RunState } from '../src/core/run/run-types';
import { connectClient } from '../src/client/temporal-connection';
import { loadConfig } from '../src/config';
import { taskQueueForPool } from '../src/core/run/task-queues';
import { startWorkers, stopWorkers, type WorkerProcess } from '../src/demo/worker-processes';
import { ScheduleService } from '../src/schedules/schedule-client';
import { compilePlan } from '../src/spec';
import { createObjectStoreFromConfig } from '../src/storage/minio-store';
import { startUiServer } from '../src/ui/server';
import { launchChromium, screenshotWholePage } from './chromium';

const REPO = path.resolve(__dirname, '..');
const IMAGES = path.join(REPO, 'docs/images');
const SWEEP_PIPELINE = 'ui-sweep-demo';

/** The sweep of the screenshot: the demo's base model and data, small enough for a laptop. */
function sweepYaml(dataset: string): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${SWEEP_PIPELINE}, description: TPE + ASHA sweep of surface-cnn on the demo's line-B images}
stages:
  prepare:
    uses: prepare-data
    with:
      source: ${JSON.stringify(dataset)}
      format: image-folder
      image: {size: [28, 28], channels: 1}
      limitPerClass: 20
      split: {train: 0.6, validation: 0.2, test: 0.2, stratify: true, seed: 7}
  sweep:
    uses: hyperparameter-sweep
    pool: train
    timeout: 1h
    cache: false
    with:
      model: registry://surface-cnn@latest
      data: \${{ stages.prepare.outputs.dataset }}
      objective: {metric: validation.accuracy, goal: maximize}
      algorithm: tpe
      tpe: {startupTrials: 4, candidates: 24}
      earlyStopping: {type: asha, reductionFactor: 3, minEpochs: 1, maxEpochs: 9}
      maxTrials: 8
      parallelism: 2
      seed: 3
      space:
        learningRate: {logUniform: [1.0e-3, 1.0e-1]}
        batchSize: {choice: [8, 16]}
        freeze: all
      trial: {epochs: 9}
`;
}

/**
 * The newest succeeded `quickstart` run whose finetune stage ran in it: a run served from the cache or a rerun that
 * reused the stage has no log or attempts of its own to show.
 */
async function newestTrained(runs: RunClient): Promise<RunState | undefined> {
  for (const summary of await runs.list({ pipeline: 'quickstart', status: 'succeeded', limit: 20 })) {
    const state = await runs.state(summary.runId);
    const finetune = state.stages.find((s) => s.id === 'finetune');
    if (finetune?.status === 'succeeded' && finetune.attempts > 0) return state;
  }
  return undefined;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const client = await connectClient(config.temporal);
  const store = createObjectStoreFromConfig(config);
  const runs = new RunClient(client, {
    bucket: config.s3.bucket,
    store,
    workflowTaskQueue: taskQueueForPool('control'),
  });
  const newest = async (pipeline: string) => (await runs.list({ pipeline, status: 'succeeded', limit: 1 }))[0]?.runId;
  const quickstartState = await newestTrained(runs);
  if (!quickstartState)
    throw new Error('no succeeded quickstart run that trained its finetune on this stack: run `npm run demo` first');
  const quickstart = quickstartState.runId;
  const only = onlyImages(process.argv);
  const wanted = (file: string): boolean => only === undefined || only.has(file);
  let sweep = process.argv.includes('--new-sweep') ? undefined : await newest(SWEEP_PIPELINE);
  if (!sweep && wanted('ui-sweep.png')) sweep = await runSweep(runs, String(quickstartState.params.dataset));
  const model = quickstartState.stages.find((s) => s.id === 'register')?.outputs;
  const modelName = typeof model?.name === 'string' ? model.name : 'surface-defects';

  const ui = await startUiServer({
    runs,
    store,
    bucket: config.s3.bucket,
    schedules: new ScheduleService(client, { bucket: config.s3.bucket }),
    namespace: config.temporal.namespace,
    temporalUiUrl: `http://127.0.0.1:${process.env.FINEFLOW_TEMPORAL_UI_PORT ?? '8233'}`,
  });
  const browser = await launchChromium();
  try {
    const shoot = async (hash: string, ready: string, file: string, scheme: 'light' | 'dark' = 'light') => {
      if (!wanted(file)) return;
      const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, colorScheme: scheme });
      const page = await context.newPage();
      await page.goto(`${ui.url}/#${hash}`);
      await page.locator(ready).first().waitFor({ timeout: 300_000 });
      // A run page's stage log streams in after the charts: shoot it with its lines.
      if (hash.startsWith('/runs/')) await page.locator('#stage-log', { hasText: /\S/ }).waitFor({ timeout: 300_000 });
      // A section that opens by itself (a training stage's checkpoints) fetches its content: shoot it loaded.
      await page
        .locator('details[data-section][open]:not([data-loaded="true"])', { hasText: 'Loading…' })
        .first()
        .waitFor({ state: 'detached', timeout: 300_000 });
      await screenshotWholePage(page, path.join(IMAGES, file));
      await context.close();
      console.log(`wrote docs/images/${file} (${hash})`);
    };
    await shoot(`/runs/${quickstart}?stage=finetune`, '[data-chart] canvas', 'ui-run-page.png');
    await shoot(`/runs/${quickstart}?stage=evaluate`, 'iframe.report', 'ui-evaluate-report.png');
    if (sweep) await shoot(`/runs/${sweep}?stage=sweep`, '[data-chart="best-so-far"] canvas', 'ui-sweep.png', 'dark');
    await shoot(`/models/${modelName}`, '#model-aliases', 'ui-model-lineage.png');
  } finally {
    await browser.close();
    await ui.close();
  }
}

const IMAGE_FILES = ['ui-run-page.png', 'ui-evaluate-report.png', 'ui-sweep.png', 'ui-model-lineage.png'];

/** `--only a.png,b.png`: the images to take (all when absent); an unknown name is refused with the known ones. */
function onlyImages(argv: readonly string[]): Set<string> | undefined {
  const at = argv.indexOf('--only');
  if (at < 0) return undefined;
  const names = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !IMAGE_FILES.includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new Error(`--only ${unknown.join(',') || '(nothing)'}: expected some of ${IMAGE_FILES.join(', ')}`);
  return new Set(names);
}

/** Start the demo's pools, run the sweep to its end, stop the pools. */
async function runSweep(runs: RunClient, dataset: string): Promise<string> {
  const compiled = compilePlan(sweepYaml(dataset), `${SWEEP_PIPELINE}.yaml`);
  if (!compiled.plan) throw new Error(compiled.diagnostics.map((d) => `${d.path}: ${d.message}`).join('\n'));
  const stateDir = process.env.FINEFLOW_STACK_DIR ?? path.join(REPO, '.fineflow/dev');
  const pidFile = path.join(stateDir, 'screenshot-workers.json');
  let workers: WorkerProcess[] = [];
  try {
    workers = await startWorkers({
      repoDir: REPO,
      pools: ['control', 'cpu', 'train'],
      logDir: path.join(stateDir, 'logs'),
      pidFile,
      env: process.env,
    });
    const runId = await runs.submit(compiled.plan);
    console.log(`sweep run ${runId} started; waiting for it to end`);
    const result = await runs.result(runId);
    if (result.status !== 'succeeded') throw new Error(`sweep run ${runId} ended ${result.status}`);
    return runId;
  } finally {
    await stopWorkers(workers, pidFile);
  }
}

// Exit rather than close the Temporal connection: an event stream's last poll may still be in flight,
// and the SDK's retry timer throws once its channel is closed.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
