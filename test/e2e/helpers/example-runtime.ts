/**
 * Runs the example pipelines in pipelines/ on the real stack (Temporal + MinIO started by
 * scripts/test.sh), the way `fineflow submit` does: compilePlan with `--set` overrides, then
 * RunClient.submit. Workers are in-process: the harness's control and cpu pools plus a train
 * pool, each with the ML stage types. The examples name pools `cpu` and `train`; the plan's
 * pools are renamed to this runtime's suffixed ones (as the harness does), so its tasks never
 * reach another test's or a developer's workers. Every runtime has its own bucket, so its
 * registry, datasets, cache and runs start empty.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { evaluateStage } from '../../../activities/evaluate';
import { fineTuneStage } from '../../../activities/fine-tune';
import { predictStage } from '../../../activities/predict';
import { prepareDataStage } from '../../../activities/prepare-data';
import { registerModelStage } from '../../../activities/register-model';
import { selectModelStage } from '../../../activities/select-model';
import { RunClient } from '../../../src/client/run-client';
import type { PipelineRunResult, RunState, StageState } from '../../../src/core/run/run-types';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { compilePlan } from '../../../src/spec/compile';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';
import type { Plan } from '../../../src/core/spec/plan-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';

export const REPO = path.resolve(__dirname, '../../..');

/** The ML stage types, given explicitly so the workers run them whatever activities/index.ts registers. */
export const ML_STAGES = {
  'select-model': selectModelStage,
  'prepare-data': prepareDataStage,
  'fine-tune': fineTuneStage,
  evaluate: evaluateStage,
  'register-model': registerModelStage,
  predict: predictStage,
};

/** A finished run: its id, its result, and its final state (stage outputs). */
export interface FinishedRun {
  readonly runId: string;
  readonly result: PipelineRunResult;
  /** The state it ended in; for a run that paused (onFailure: pause), the state while paused. */
  readonly state: RunState;
  /** It paused after a stage failed and was cancelled by `run`. */
  readonly paused: boolean;
  stage(id: string): StageState;
}

export interface ExampleRuntime {
  readonly harness: RuntimeHarness;
  /** The bucket of this runtime's runs, registry and datasets. */
  readonly bucket: string;
  readonly runs: RunClient;
  /** Compile a pipeline file (relative to the repository) or YAML text with `--set` overrides, pools renamed. */
  plan(
    source: { readonly file: string } | { readonly yaml: string; readonly name: string },
    set?: Readonly<Record<string, string>>,
  ): Plan;
  /** Submit and wait until the run ends; a run that pauses (onFailure: pause) is cancelled and returned at once. */
  run(plan: Plan, options?: { readonly timeoutMs?: number }): Promise<FinishedRun>;
  close(): Promise<void>;
}

function summary(stages: readonly StageState[]): string {
  return JSON.stringify(
    stages.map((s) => ({
      id: s.id,
      status: s.status,
      attempts: s.attempts,
      ...(s.error ? { error: s.error } : {}),
      ...(s.reason ? { reason: s.reason } : {}),
    })),
    null,
    1,
  );
}

/** The python of the examples' virtual environment (created once by pipelines/python/setup-venv.sh, then cached). */
export function examplesPython(): string {
  const printed = execFileSync('bash', [path.join(REPO, 'pipelines/python/setup-venv.sh')], { encoding: 'utf8' });
  return printed.trim().split('\n').pop() as string;
}

export async function startExampleRuntime(): Promise<ExampleRuntime> {
  const harness = await startRuntimeHarness({ cpuWorker: false });
  const trainPool = `train-${randomSuffix()}`;
  // cpu: prepare/select/evaluate/register, two at once; train: one training at a time per
  // worker, two workers so a sweep's `parallelism: 2` really runs two trials side by side.
  // `command` examples run Python from the venv scripts/bootstrap.sh made, as an operator would allow it.
  const config = { ...harness.config, command: { ...harness.config.command, allow: { python: examplesPython() } } };
  await harness.addWorker({ pool: harness.pools.cpu, extraStages: ML_STAGES, concurrency: 2, config });
  await harness.addWorker({ pool: trainPool, extraStages: ML_STAGES, concurrency: 2, config });
  const bucket = `ff-e2e-examples-${randomSuffix()}`;
  await harness.store.ensureBucket(bucket);
  const runs = new RunClient(harness.client, { bucket, workflowTaskQueue: taskQueueForPool(harness.pools.control) });
  const pools: Record<string, string> = { cpu: harness.pools.cpu, train: trainPool };

  return {
    harness,
    bucket,
    runs,
    plan(source, set = {}) {
      const [text, file] =
        'file' in source
          ? [readFileSync(path.join(REPO, source.file), 'utf8'), source.file]
          : [source.yaml, source.name];
      // `pipeline` stages read their files next to the example, as `fineflow submit pipelines/…` does.
      const compiled = compilePlan(text, file, { set, pipelineFiles: pipelineFileSource(file, REPO) });
      assert.ok(
        compiled.plan,
        `${file} does not compile with --set ${JSON.stringify(set)}: ${JSON.stringify(compiled.diagnostics, null, 1)}`,
      );
      // The stages of sub-pipelines' plans too (src/core/spec/plan-types.ts, PlannedStage.subPipeline).
      const renamePools = (plan: Plan): Plan => {
        const unknownPools = plan.stages.filter((stage) => !(stage.pool in pools));
        assert.deepEqual(
          unknownPools.map((s) => `${s.id}: ${s.pool}`),
          [],
          'every example stage runs on pool cpu or train',
        );
        return {
          ...plan,
          stages: plan.stages.map((stage) => ({
            ...stage,
            pool: pools[stage.pool] as string,
            ...(stage.subPipeline
              ? { subPipeline: { ...stage.subPipeline, plan: renamePools(stage.subPipeline.plan) } }
              : {}),
          })),
        };
      };
      return renamePools(compiled.plan);
    },
    async run(plan, options = {}) {
      const runId = await runs.submit(plan);
      const finished = (result: PipelineRunResult, state: RunState, paused: boolean): FinishedRun => ({
        runId,
        result,
        state,
        paused,
        stage(id) {
          const found = state.stages.find((s) => s.id === id);
          assert.ok(found, `run ${runId} has no stage ${id}`);
          return found;
        },
      });
      const deadline = Date.now() + (options.timeoutMs ?? 300_000);
      const ended = runs.result(runId).then((result) => ({ result }));
      for (;;) {
        const outcome = await Promise.race([
          ended,
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1_000)),
        ]);
        if (outcome) return finished(outcome.result, await runs.state(runId), false);
        const state = await runs.state(runId).catch(() => undefined);
        if (state?.status === 'waiting') {
          // A paused run waits for `fineflow retry` forever: keep its state (the failed
          // stage's error), cancel it, and hand it back as not succeeded.
          await harness.client.workflow.getHandle(runId).cancel();
          return finished((await ended).result, state, true);
        }
        if (Date.now() > deadline) {
          await harness.client.workflow
            .getHandle(runId)
            .cancel()
            .catch(() => undefined);
          assert.fail(
            `run ${runId} of ${plan.pipeline.name} did not end in ${options.timeoutMs ?? 300_000} ms: ${summary(state?.stages ?? [])}`,
          );
        }
      }
    },
    close: () => harness.close(),
  };
}

/** Assert the run succeeded, with every stage summarised in the message when it did not. */
export function assertSucceeded(run: FinishedRun): void {
  assert.equal(
    run.paused ? 'paused' : run.result.status,
    'succeeded',
    `run ${run.runId}: ${summary(run.state.stages)}`,
  );
}

/** Assert the status of each named stage (e.g. `{prepare: 'succeeded', register: 'skipped'}`). */
export function assertStages(run: FinishedRun, expected: Readonly<Record<string, StageState['status']>>): void {
  const actual = Object.fromEntries(Object.keys(expected).map((id) => [id, run.stage(id).status]));
  assert.deepEqual(actual, expected, `run ${run.runId}: ${summary(run.state.stages)}`);
}
