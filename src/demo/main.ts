/**
 * The demo (`npm run demo`, after scripts/demo.sh started the stack): worker pools in the
 * background, the base model pretrained if the registry lacks it, the small target dataset
 * pushed, pipelines/quickstart.yaml submitted and watched, and the headline printed: the
 * fine-tuned model against one trained from scratch on the same examples, accuracy and time,
 * with the backend named and the report's location. Workers stop at the end; the stack stays up.
 *
 * Idempotent: a second run finds the base model, pushes the same files (same dataset version)
 * and runs the quickstart again.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunClient } from '../client/run-client';
import { loadConfig, type FineflowConfig } from '../config';
import { ensureError } from '../core/errors';
import { listVersions, parseRegistryUri } from '../ml/models/registry';
import { connectClient } from '../client/temporal-connection';
import type { RunState, StageState } from '../core/run/run-types';
import { compilePlan } from '../spec/compile';
import type { JsonObject, JsonValue, Plan } from '../core/spec/plan-types';
import { createObjectStoreFromConfig } from '../storage/minio-store';
import type { ObjectStore } from '../storage/object-store';
import { runFineflow } from './cli-runner';
import { writeBaseDataset, writeTargetDataset, type DemoDataset } from './datasets';
import { startWorkers, stopRecordedWorkers, stopWorkers, type WorkerProcess } from './worker-processes';

const REPO_DIR = path.resolve(__dirname, '../..');
const QUICKSTART = 'pipelines/quickstart.yaml';
const POOLS = ['control', 'cpu', 'train'] as const;

function say(line: string): void {
  process.stdout.write(`\n==> ${line}\n`);
}

function compile(file: string): Plan {
  const compiled = compilePlan(readFileSync(path.join(REPO_DIR, file), 'utf8'), file);
  if (!compiled.plan)
    throw new Error(
      `${file} does not validate: ${compiled.diagnostics.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
    );
  return compiled.plan;
}

/** registry:// base models the pipeline's select-model and fine-tune stages start from. */
export function baseModelsOf(plan: Plan): string[] {
  const found = new Set<string>();
  const visit = (value: JsonValue): void => {
    if (typeof value === 'string' && value.startsWith('registry://')) found.add(parseRegistryUri(value).name);
    else if (Array.isArray(value)) value.forEach(visit);
  };
  for (const stage of plan.stages) {
    if (stage.uses === 'select-model') visit(stage.with.candidates ?? null);
    if (stage.uses === 'fine-tune') visit(stage.with.model ?? null);
  }
  return [...found].sort();
}

/** The pipelines/pretrain-*.yaml that registers model `name`, with the dataset param it reads. */
export function pretrainPipelineFor(name: string): { file: string; plan: Plan; dataset: string } | undefined {
  for (const file of readdirSync(path.join(REPO_DIR, 'pipelines'))
    .filter((f) => /^pretrain-.*\.ya?ml$/.test(f))
    .sort()) {
    const plan = compile(`pipelines/${file}`);
    if (plan.stages.some((stage) => stage.uses === 'register-model' && stage.with.name === name)) {
      const dataset = plan.params.dataset?.value;
      if (typeof dataset !== 'string') throw new Error(`pipelines/${file} has no string param \`dataset\``);
      return { file: `pipelines/${file}`, plan, dataset };
    }
  }
  return undefined;
}

async function pushDataset(dataset: DemoDataset, target: string, env: NodeJS.ProcessEnv): Promise<void> {
  const directory = mkdtempSync(path.join(tmpdir(), 'fineflow-demo-'));
  try {
    const written = await dataset.write(directory);
    say(`pushing ${dataset.description} (${written} files) to ${target} with \`fineflow data push\``);
    const pushed = await runFineflow(REPO_DIR, ['data', 'push', directory, target], env, { echo: false });
    if (pushed.code !== 0)
      throw new Error(
        `fineflow data push failed (exit ${pushed.code}): ${pushed.stderr.trim().split('\n').slice(-3).join(' ')}`,
      );
    process.stdout.write(pushed.stdout);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function submitAndWatch(file: string, env: NodeJS.ProcessEnv): Promise<string> {
  say(`fineflow submit ${file} --watch`);
  const submitted = await runFineflow(REPO_DIR, ['submit', file, '--watch'], env);
  const runId = /started run (\S+)/.exec(submitted.stdout)?.[1];
  if (!runId) throw new Error(`fineflow submit ${file} did not start a run (exit ${submitted.code})`);
  if (submitted.code !== 0)
    throw new Error(
      `run ${runId} of ${file} did not succeed (exit ${submitted.code}); ` +
        `see \`fineflow status ${runId}\` and \`fineflow logs ${runId}\``,
    );
  return runId;
}

function stageOf(state: RunState, uses: string): StageState | undefined {
  return state.stages.find((stage) => stage.uses === uses);
}

function num(value: JsonValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function obj(value: JsonValue | undefined): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

const pct = (value: number | undefined): string => (value === undefined ? 'n/a' : `${(value * 100).toFixed(1)}%`);
const secs = (value: number | undefined): string => (value === undefined ? 'n/a' : `${value.toFixed(1)} s`);

/** The headline, from the outputs of the quickstart's fine-tune and evaluate stages. */
export function headline(state: RunState): string {
  const finetune = stageOf(state, 'fine-tune');
  const evaluate = stageOf(state, 'evaluate');
  const register = stageOf(state, 'register-model');
  const ftOutputs = finetune?.outputs ?? {};
  const evalOutputs = evaluate?.outputs ?? {};
  const fineTuned = obj(evalOutputs.metrics);
  const scratch = obj(obj(evalOutputs.comparison).fromScratch);
  const ftMetrics = obj(ftOutputs.metrics);
  const ftAccuracy = num(fineTuned.accuracy);
  const scratchAccuracy = num(obj(scratch.metrics).accuracy ?? scratch.accuracy);
  const ftSeconds = num(ftMetrics.trainSeconds);
  const scratchSeconds = num(scratch.trainSeconds);
  const examples = num(ftMetrics.trainExamples);
  const lines = [
    '',
    '================================================================================',
    ` Fineflow quickstart — run ${state.runId} (${state.status})`,
    '================================================================================',
    ` Same ${examples ?? '?'} labelled training examples, same held-out test split:`,
    `   fine-tuned from ${String(stageOf(state, 'select-model')?.outputs?.model ?? 'the pretrained base model')}`,
    `     accuracy ${pct(ftAccuracy).padStart(6)}   training time ${secs(ftSeconds)}`,
    '   trained from scratch (same architecture, random weights)',
    `     accuracy ${pct(scratchAccuracy).padStart(6)}   training time ${secs(scratchSeconds)}`,
  ];
  if (ftAccuracy !== undefined && scratchAccuracy !== undefined) {
    const points = (ftAccuracy - scratchAccuracy) * 100;
    const difference =
      points >= 0 ? `${points.toFixed(1)} accuracy points better` : `${(-points).toFixed(1)} points WORSE`;
    lines.push(` → fine-tuning is ${difference} than training from scratch.`);
  }
  const engine = typeof ftOutputs.engine === 'string' ? ` (${ftOutputs.engine} engine)` : '';
  lines.push(` TensorFlow backend: ${String(ftOutputs.backend ?? 'unknown')}${engine}`);
  if (finetune?.status === 'cached' || evaluate?.status === 'cached')
    lines.push(` (stages reused from the cache: ${finetune?.reason ?? evaluate?.reason ?? ''})`);
  lines.push(` Gate: ${evalOutputs.passed === true ? 'passed' : evalOutputs.passed === false ? 'NOT passed' : 'n/a'}`);
  if (typeof evalOutputs.report === 'string')
    lines.push(` Report: ${evalOutputs.report}  (HTML: report.html, JSON: report.json beside it)`);
  if (register?.status === 'succeeded' || register?.status === 'cached') {
    const model = String(register.outputs?.model ?? '');
    const name = /^registry:\/\/([^@]+)@/.exec(model)?.[1];
    lines.push(` Registered: ${model}${name ? `  (fineflow models show ${name}@champion)` : ''}`);
  } else if (register)
    lines.push(` Registered: no (register stage ${register.status}${register.reason ? `: ${register.reason}` : ''})`);
  lines.push('================================================================================');
  return lines.join('\n');
}

async function ensureBaseModels(
  plan: Plan,
  store: ObjectStore,
  config: FineflowConfig,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  for (const name of baseModelsOf(plan)) {
    const versions = await listVersions(store, config.s3.bucket, name);
    if (versions.length > 0) {
      say(`base model registry://${name} is in the registry (versions ${versions.join(', ')}); no pretraining needed`);
      continue;
    }
    const pretrain = pretrainPipelineFor(name);
    if (!pretrain)
      throw new Error(`base model ${name} is not in the registry and no pipelines/pretrain-*.yaml registers it`);
    say(`base model registry://${name} is missing: pretraining it with ${pretrain.file}`);
    await pushDataset(writeBaseDataset(name), pretrain.dataset, env);
    await submitAndWatch(pretrain.file, env);
    if ((await listVersions(store, config.s3.bucket, name)).length === 0)
      throw new Error(`${pretrain.file} succeeded but did not register ${name} (its evaluate gate failed?)`);
  }
}

export async function runDemo(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(env);
  const store = createObjectStoreFromConfig(config);
  await store.ensureBucket(config.s3.bucket);
  const stateDir = env.FINEFLOW_STACK_DIR ?? path.join(REPO_DIR, '.fineflow/dev');
  const pidFile = path.join(stateDir, 'demo-workers.json');
  await stopRecordedWorkers(pidFile, (line) => say(line));
  say(`starting worker pools ${POOLS.join(', ')} (logs in ${path.relative(REPO_DIR, path.join(stateDir, 'logs'))}/)`);
  let workers: WorkerProcess[] = [];
  const started = Date.now();
  try {
    workers = await startWorkers({
      repoDir: REPO_DIR,
      pools: POOLS,
      logDir: path.join(stateDir, 'logs'),
      pidFile,
      env,
      onLine: (line) => process.stdout.write(`    ${line}\n`),
    });
    const quickstart = compile(QUICKSTART);
    await ensureBaseModels(quickstart, store, config, env);
    const target = quickstart.params.dataset?.value;
    if (typeof target !== 'string') throw new Error(`${QUICKSTART} has no string param \`dataset\``);
    await pushDataset(writeTargetDataset(), target, env);
    const runId = await submitAndWatch(QUICKSTART, env);
    const client = await connectClient(config.temporal);
    try {
      const state = await new RunClient(client, { bucket: config.s3.bucket, store }).state(runId);
      process.stdout.write(`${headline(state)}\n`);
      const report = stageOf(state, 'evaluate')?.outputs?.report;
      if (typeof report === 'string') {
        // A local copy, to open in a browser without MinIO credentials.
        const local = path.join(stateDir, 'reports', `${runId}.html`);
        mkdirSync(path.dirname(local), { recursive: true });
        writeFileSync(local, await store.getBytes(report));
        const shown = path.relative(process.cwd(), local);
        process.stdout.write(` Report copied to ${shown.startsWith('..') ? local : shown} (open it in a browser)\n`);
      }
    } finally {
      await client.connection.close();
    }
    process.stdout.write(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(0)} s.\n`);
    process.stdout.write(
      'The other examples in pipelines/ need their own data and base models: ' +
        '`source infra/stack-env.sh && npx fineflow dev seed` pushes the data (to this stack: stack-env.sh sets its ' +
        'endpoints and CLI credentials) and lists what to submit first (README.md, "Trying the other examples").\n',
    );
    return 0;
  } catch (thrown) {
    process.stderr.write(`\ndemo failed: ${ensureError(thrown).message}\n`);
    return 1;
  } finally {
    if (workers.length > 0) {
      say('stopping the workers');
      await stopWorkers(workers, pidFile);
    }
    process.stdout.write(
      'The local stack (Temporal + MinIO) is still running: `npx fineflow dev status`; ' +
        'stop it with `npx fineflow dev down`.\n',
    );
  }
}

if (require.main === module) {
  runDemo().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${ensureError(error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
