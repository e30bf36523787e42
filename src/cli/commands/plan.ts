/**
 * `fineflow plan FILE [--set NAME=VALUE] [--json]`: validate a pipeline and show the plan a run would
 * execute: params with their values, stages with defaults applied, topological levels and the
 * DAG. `--json` prints exactly the plan `fineflow submit` sends to the workflow.
 */
import type * as TextTableModule from '../../client/text-table';
import type * as SpecModule from '../../spec';
import type { Diagnostic } from '../../spec';
import type { Plan } from '../../core/spec/plan-types';
import type * as PipelineArgumentModule from '../pipeline-argument';
import type * as ExplainCacheModule from '../explain-cache';
import type * as StageTypesModule from '../../spec/stage-types';
import type * as PipelineFilesModule from '../../spec/pipeline-files';
import {
  EXIT,
  STAGE_MODULE_OPTION,
  UsageError,
  stageModulePaths,
  type CliCommand,
  type CliIo,
  type OptionSpec,
} from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../spec') as typeof SpecModule;
  const m1 = require('../pipeline-argument') as typeof PipelineArgumentModule;
  const m2 = require('../explain-cache') as typeof ExplainCacheModule;
  const m3 = require('../../spec/stage-types') as typeof StageTypesModule;
  const mt = require('../../client/text-table') as typeof TextTableModule;
  const m4 = require('../../spec/pipeline-files') as typeof PipelineFilesModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    renderTable: mt.renderTable,
    compilePlan: m0.compilePlan,
    formatDiagnostics: m0.formatDiagnostics,
    formatDuration: m0.formatDuration,
    renderDag: m0.renderDag,
    readPipelineArgument: m1.readPipelineArgument,
    annotateCache: m2.annotateCache,
    loadStageTypeModules: m3.loadStageTypeModules,
    pipelineFileSource: m4.pipelineFileSource,
  };
}

/**
 * Extra per-stage notes drawn next to the DAG, each switched on by its own boolean option.
 * `--explain-cache` (cache hit/miss per stage) plugs in here: add `{ option, annotate }` to
 * PLAN_ANNOTATORS; `annotate` returns stage id → note and may talk to Temporal/MinIO.
 */
export type PlanAnnotator = (plan: Plan, io: CliIo) => Promise<ReadonlyMap<string, string>>;

const PLAN_ANNOTATORS: readonly { readonly option: OptionSpec; readonly annotate: PlanAnnotator }[] = [
  {
    option: {
      name: 'explain-cache',
      kind: 'boolean',
      description:
        'per stage: would a run now reuse a cached result, and if not which part of its key changed (reads MinIO)',
    },
    annotate: (plan, io) => load().annotateCache(plan, io),
  },
];

const PLAN_OPTIONS: readonly OptionSpec[] = [
  { name: 'set', kind: 'multi', valueName: 'NAME=VALUE', description: 'override a param (type-checked)' },
  STAGE_MODULE_OPTION,
  ...PLAN_ANNOTATORS.map((a) => a.option),
];

/** One line per stage; a `pipeline` stage's child stages follow it, indented, under its file's name. */
function stageLines(plan: Plan, indent: string): string[] {
  const { formatDuration } = load();
  const lines: string[] = [];
  for (const s of plan.stages) {
    const retry = `retry ${s.retry.maxAttempts}× from ${formatDuration(s.retry.initialIntervalMs)}`;
    const cache = s.cache.enabled
      ? `cache${s.cache.maxAgeMs !== undefined ? ` ≤ ${formatDuration(s.cache.maxAgeMs)}` : ''}`
      : 'no cache';
    const heartbeat = s.heartbeatTimeoutMs !== undefined ? `, heartbeat ${formatDuration(s.heartbeatTimeoutMs)}` : '';
    if (s.subPipeline) {
      const child = s.subPipeline.plan;
      lines.push(
        `${indent}${s.id}${s.finally ? ' (finally)' : ''}: ${s.uses}@${s.typeVersion} runs ${s.subPipeline.file} ` +
          `(${child.pipeline.name}, ${child.stages.length} stage${child.stages.length === 1 ? '' : 's'}) as a child run, on failure ${s.onFailure}`,
        ...stageLines(child, `${indent}  ${s.id} › `),
      );
      continue;
    }
    lines.push(
      `${indent}${s.id}${s.finally ? ' (finally)' : ''}: ${s.uses}@${s.typeVersion} on ${s.pool}, timeout ` +
        `${formatDuration(s.timeoutMs)}${heartbeat}, ${retry}, on failure ${s.onFailure}, ${cache}`,
    );
  }
  return lines;
}

function describePlan(plan: Plan, notes: ReadonlyMap<string, string>): string {
  const { renderDag, renderTable } = load();
  const lines = [`pipeline ${plan.pipeline.name}${plan.pipeline.description ? ` — ${plan.pipeline.description}` : ''}`];
  if (plan.source) lines.push(`source   ${plan.source}`);
  const params = Object.entries(plan.params);
  if (params.length) {
    lines.push('', 'params:');
    const rows = params.map(([name, p]) => ['', name, JSON.stringify(p.value), `(${p.type})`]);
    const columns = [{ title: '' }, { title: '' }, { title: '' }, { title: '' }];
    lines.push(...renderTable(columns, rows, { header: false }));
  }
  if (plan.schedule) lines.push('', `schedule: ${JSON.stringify(plan.schedule)}`);
  for (const t of plan.triggers) lines.push(`trigger:  ${JSON.stringify(t)}`);
  lines.push('', `stages (${plan.stages.length}, ${plan.levels.length} level${plan.levels.length === 1 ? '' : 's'}):`);
  lines.push(...stageLines(plan, '  '));
  lines.push('');
  return `${lines.join('\n')}\n${renderDag(plan, { annotate: (id) => notes.get(id) })}`;
}

export const command: CliCommand = {
  name: 'plan',
  summary: 'show the normalised plan and DAG a run of a pipeline would execute',
  usage: 'plan FILE [--set NAME=VALUE]… [--json] [--explain-cache] [--stage-module PATH]…',
  description: [
    'Validates FILE, applies defaults and --set overrides, and prints the stages in topological',
    'levels with the DAG drawn as text. --json prints the plan JSON that `fineflow submit` runs.',
    '',
    'exit codes: 0 ok, 1 invalid pipeline or --set value, 2 usage error',
  ].join('\n'),
  examples: [
    { command: 'fineflow plan pipelines/quickstart.yaml', explanation: 'stages in levels and the DAG as text' },
    {
      command: 'fineflow plan pipelines/quickstart.yaml --set epochs=20 --explain-cache',
      explanation: 'with a param changed, and which stages the cache would reuse',
    },
    {
      command: 'fineflow plan pipelines/quickstart.yaml --json > plan.json',
      explanation: 'the exact plan `fineflow submit` would start',
    },
  ],
  json: true,
  options: PLAN_OPTIONS,
  async run(args, io) {
    const { compilePlan, formatDiagnostics, readPipelineArgument, loadStageTypeModules, pipelineFileSource } = load();
    if (args.positionals.length !== 1) throw new UsageError('give exactly one pipeline file');
    loadStageTypeModules(stageModulePaths(args, io.cwd));
    const file = args.positionals[0] as string;
    const result = compilePlan(readPipelineArgument(file, io.cwd), file, {
      set: args.multi.set ?? [],
      pipelineFiles: pipelineFileSource(file, io.cwd),
    });
    const texts = result.validation.texts ? { texts: result.validation.texts } : {};
    const diagnostics: readonly Diagnostic[] = result.diagnostics;
    const color = Boolean(io.stdout.isTTY) && !io.env.NO_COLOR;
    if (!result.plan) {
      if (args.flags.json) io.stdout.write(`${JSON.stringify({ valid: false, diagnostics }, null, 2)}\n`);
      else io.stderr.write(formatDiagnostics(diagnostics, result.validation.text, { color, ...texts }));
      return EXIT.failure;
    }
    if (diagnostics.length)
      io.stderr.write(formatDiagnostics(diagnostics, result.validation.text, { color, ...texts }));
    if (args.flags.json) {
      io.stdout.write(`${JSON.stringify(result.plan, null, 2)}\n`);
      return EXIT.ok;
    }
    const notes = new Map<string, string>();
    for (const annotator of PLAN_ANNOTATORS) {
      if (!args.flags[annotator.option.name]) continue;
      for (const [id, note] of await annotator.annotate(result.plan, io))
        notes.set(id, notes.has(id) ? `${notes.get(id)}; ${note}` : note);
    }
    io.stdout.write(describePlan(result.plan, notes));
    return EXIT.ok;
  },
};
