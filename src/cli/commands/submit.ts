/**
 * `fineflow submit FILE [--set NAME=VALUE] [--watch]`: validate the pipeline here (errors print
 * diagnostics, exit 1, nothing starts), start a run, print its id; `--watch` follows it.
 */
import { EXIT, STAGE_MODULE_OPTION, UsageError, stageModulePaths, type CliCommand } from '../command';
import type * as RunSupportModule from '../run-support';
import type * as SweepSectionsModule from '../sweep-sections';
import type * as RunClientModule from '../../client/run-client';
import { taskQueueForPool } from '../../core/run/task-queues';
import type * as CompileModule from '../../spec/compile';
import type * as DiagnosticsModule from '../../spec/diagnostics';
import type * as StageTypesModule from '../../spec/stage-types';
import type * as WorkerPresenceModule from '../../client/worker-presence';
import type * as PipelineFilesModule from '../../spec/pipeline-files';
import type * as PipelineArgumentModule from '../pipeline-argument';
import type * as ClientTracingModule from '../../observability/client-tracing';
import type { FineflowConfig } from '../../config';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../run-support') as typeof RunSupportModule;
  const m1 = require('../sweep-sections') as typeof SweepSectionsModule;
  const m2 = require('../../client/run-client') as typeof RunClientModule;
  const m3 = require('../../spec/compile') as typeof CompileModule;
  const m4 = require('../../spec/diagnostics') as typeof DiagnosticsModule;
  const m5 = require('../../spec/stage-types') as typeof StageTypesModule;
  const m6 = require('../../client/worker-presence') as typeof WorkerPresenceModule;
  const m7 = require('../../spec/pipeline-files') as typeof PipelineFilesModule;
  const m8 = require('../pipeline-argument') as typeof PipelineArgumentModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    exitCodeForRun: m0.exitCodeForRun,
    followRun: m0.followRun,
    watchNotices: m0.watchNotices,
    withRunClient: m0.withRunClient,
    sweepSections: m1.sweepSections,
    RunClient: m2.RunClient,
    compilePlan: m3.compilePlan,
    formatDiagnostics: m4.formatDiagnostics,
    loadStageTypeModules: m5.loadStageTypeModules,
    unfitStagesOf: m6.unfitStagesOf,
    pipelineFileSource: m7.pipelineFileSource,
    readPipelineArgument: m8.readPipelineArgument,
  };
}

/** The run client, with its workflows started on `--control-pool`'s queue. */
function onControlPool(
  { runs, config }: RunSupportModule.OpenedRunClient,
  pool: string,
  RunClient: typeof RunClientModule.RunClient,
): RunClientModule.RunClient {
  return new RunClient(runs.client, {
    bucket: config.s3.bucket,
    workflowTaskQueue: taskQueueForPool(pool),
    ...(runs.store ? { store: runs.store } : {}),
    ...(config.ui.url ? { uiUrl: config.ui.url } : {}),
  });
}

/**
 * `fineflow submit`'s span (src/observability/client-tracing.ts), made when the loaded config has an OTLP endpoint;
 * OpenTelemetry loads only then (tracing is off by default).
 */
function lazySubmitTracing() {
  let tracing: ClientTracingModule.SubmitTracing | undefined;
  return {
    interceptors: (config: FineflowConfig) => {
      const tracingConfig = config.observability.tracing;
      if (!tracingConfig) return undefined;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createSubmitTracing } = require('../../observability/client-tracing') as typeof ClientTracingModule;
      tracing = createSubmitTracing(tracingConfig);
      return tracing.interceptors;
    },
    current: () => tracing,
  };
}

export const command: CliCommand = {
  name: 'submit',
  summary: 'validate a pipeline and start a run',
  usage: 'submit FILE [--set NAME=VALUE]… [--watch] [--json] [--stage-module PATH]… [--control-pool P]',
  description: [
    'Validates FILE (the same checks as `fineflow validate`), then starts a run on the control',
    'pool and prints its run id. With --watch, shows the live stage table until the run ends:',
    'exit 0 when it succeeded, 1 when it failed, was cancelled or waits for `fineflow retry`.',
  ].join('\n'),
  examples: [
    {
      command: 'fineflow submit pipelines/quickstart.yaml --watch',
      explanation: 'start a run and follow it; exit 0 only if it succeeds',
    },
    {
      command: 'fineflow submit pipelines/quickstart.yaml --set epochs=20 --json',
      explanation: 'start a run with a param changed; print {submitted, runId}',
    },
  ],
  json: true,
  options: [
    { name: 'set', kind: 'multi', valueName: 'NAME=VALUE', description: 'override a param (type-checked)' },
    { name: 'watch', short: 'w', kind: 'boolean', description: 'follow the run until it ends' },
    STAGE_MODULE_OPTION,
    {
      name: 'control-pool',
      kind: 'string',
      valueName: 'P',
      description: 'pool whose workers run the workflow (default control)',
    },
  ],
  async run(args, io) {
    const {
      exitCodeForRun,
      followRun,
      watchNotices,
      withRunClient,
      sweepSections,
      RunClient,
      compilePlan,
      formatDiagnostics,
      loadStageTypeModules,
      unfitStagesOf,
      pipelineFileSource,
      readPipelineArgument,
    } = load();
    const [file, ...extra] = args.positionals;
    if (!file || extra.length > 0) throw new UsageError('expected exactly one pipeline FILE');
    const modules = stageModulePaths(args, io.cwd);
    if (modules.length > 0) loadStageTypeModules(modules);
    const parsed = readPipelineArgument(file, io.cwd);
    const text = parsed.text;
    const compiled = compilePlan(parsed, file, {
      set: args.multi.set ?? [],
      pipelineFiles: pipelineFileSource(file, io.cwd),
    });
    const texts = compiled.validation.texts ? { texts: compiled.validation.texts } : {};
    const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
    if (!compiled.plan || errors.length > 0) {
      if (args.flags.json)
        io.stdout.write(`${JSON.stringify({ submitted: false, diagnostics: compiled.diagnostics })}\n`);
      else
        io.stderr.write(
          `${formatDiagnostics(compiled.diagnostics, text, texts)}\nnothing submitted: ${errors.length} error(s)\n`,
        );
      return EXIT.failure;
    }
    const plan = compiled.plan;
    if (compiled.diagnostics.length > 0 && !args.flags.json)
      io.stderr.write(`${formatDiagnostics(compiled.diagnostics, text, texts)}\n`);
    const controlPool = args.values['control-pool'];
    if (controlPool !== undefined && !/^[a-z][a-z0-9-]*$/.test(controlPool))
      throw new UsageError(`--control-pool ${controlPool}: use lower-case letters, digits and dashes`);
    const tracing = lazySubmitTracing();
    try {
      return await withRunClient(io, body, { interceptors: tracing.interceptors });
    } finally {
      await tracing.current()?.shutdown();
    }
    async function body(opened: RunSupportModule.OpenedRunClient): Promise<number> {
      const config = opened.config;
      const runs = controlPool ? onControlPool(opened, controlPool, RunClient) : opened.runs;
      // Warn, not refuse: a worker large enough may still join the pool before the stage is ready.
      const unfit = await unfitStagesOf(runs.client, plan);
      if (!args.flags.json)
        for (const stage of unfit)
          io.stderr.write(`warning: ${file}:${stage.line ?? 1}: stage ${stage.stageId}: ${stage.message}\n`);
      const start = () =>
        runs.submit(plan, { trigger: { kind: 'manual', ...(io.env.USER ? { user: io.env.USER } : {}) } });
      const traced = tracing.current();
      const runId = traced ? await traced.traceSubmit(plan.pipeline.name, start) : await start();
      const warnings = unfit.length > 0 ? { warnings: unfit } : {};
      if (!args.flags.watch) {
        io.stdout.write(
          args.flags.json ? `${JSON.stringify({ submitted: true, runId, ...warnings })}\n` : `${runId}\n`,
        );
        return EXIT.ok;
      }
      if (!args.flags.json) io.stdout.write(`started run ${runId}\n`);
      const final = args.flags.json
        ? await runs.watch(runId, () => undefined, {
            until: (s) => s.status === 'waiting',
            ...watchNotices(io, runId),
          })
        : await followRun(runs, runId, io, { sections: sweepSections(runs, config), plan });
      if (args.flags.json) io.stdout.write(`${JSON.stringify(final)}\n`);
      return exitCodeForRun(final);
    }
  },
};
