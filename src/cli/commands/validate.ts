/**
 * `fineflow validate FILE…`: check pipelines without running anything and report every
 * problem with file:line:column, a caret excerpt and a hint. Exit 0 when every file is valid
 * (warnings allowed), 1 when any has an error, 2 for a usage mistake.
 */
import type * as SpecModule from '../../spec';
import type { Diagnostic } from '../../spec';
import type * as PipelineArgumentModule from '../pipeline-argument';
import type * as PipelineFilesModule from '../../spec/pipeline-files';
import { EXIT, STAGE_MODULE_OPTION, UsageError, stageModulePaths, type CliCommand, type CliIo } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../spec') as typeof SpecModule;
  const m1 = require('../pipeline-argument') as typeof PipelineArgumentModule;
  const m2 = require('../../spec/pipeline-files') as typeof PipelineFilesModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    formatDiagnostics: m0.formatDiagnostics,
    loadStageTypeModules: m0.loadStageTypeModules,
    validatePipeline: m0.validatePipeline,
    readPipelineArgument: m1.readPipelineArgument,
    pipelineFileSource: m2.pipelineFileSource,
  };
}

export const command: CliCommand = {
  name: 'validate',
  summary: 'check pipeline files and report every problem',
  usage: 'validate FILE… [--json] [--stage-module PATH]…',
  description: [
    'Checks YAML syntax, keys, types, durations, cron expressions, retry bounds, stage types and',
    'their inputs, ${{ }} references, needs and dependency cycles. Every problem is reported at once.',
    '',
    'exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage error',
  ].join('\n'),
  examples: [
    {
      command: 'fineflow validate pipelines/*.yaml',
      explanation: 'check every pipeline; every problem at file:line:column',
    },
    {
      command: 'fineflow validate my-pipeline.yaml --stage-module ./stages/index.js',
      explanation: "with a team's custom stage types",
    },
    {
      command: "fineflow validate my-pipeline.yaml --json | jq '.files[].diagnostics[].code'",
      explanation: 'diagnostic codes for a script',
    },
  ],
  json: true,
  options: [STAGE_MODULE_OPTION],
  async run(args, io: CliIo) {
    const { formatDiagnostics, loadStageTypeModules, validatePipeline, readPipelineArgument, pipelineFileSource } =
      load();
    if (args.positionals.length === 0) throw new UsageError('give at least one pipeline file');
    loadStageTypeModules(stageModulePaths(args, io.cwd));
    const results: {
      file: string;
      valid: boolean;
      diagnostics: readonly Diagnostic[];
      text: string;
      texts?: { readonly [file: string]: string };
    }[] = [];
    for (const file of args.positionals) {
      const result = validatePipeline(readPipelineArgument(file, io.cwd), file, {
        pipelineFiles: pipelineFileSource(file, io.cwd),
      });
      results.push({
        file,
        valid: result.valid,
        diagnostics: result.diagnostics,
        text: result.text,
        ...(result.texts ? { texts: result.texts } : {}),
      });
    }
    const valid = results.every((r) => r.valid);
    if (args.flags.json) {
      const files = results.map(({ file, valid: v, diagnostics }) => ({ file, valid: v, diagnostics }));
      io.stdout.write(`${JSON.stringify({ valid, files }, null, 2)}\n`);
    } else {
      const color = Boolean(io.stdout.isTTY) && !io.env.NO_COLOR;
      for (const r of results) {
        if (r.diagnostics.length)
          io.stdout.write(
            `${formatDiagnostics(r.diagnostics, r.text, { color, ...(r.texts ? { texts: r.texts } : {}) })}\n`,
          );
        const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
        const warnings = r.diagnostics.length - errors;
        const counts = [
          errors ? `${errors} error${errors > 1 ? 's' : ''}` : '',
          warnings ? `${warnings} warning${warnings > 1 ? 's' : ''}` : '',
        ]
          .filter(Boolean)
          .join(', ');
        io.stdout.write(
          `${r.valid ? '✓' : '✗'} ${r.file}${r.valid ? ' is valid' : ' is invalid'}${counts ? ` (${counts})` : ''}\n`,
        );
      }
    }
    return valid ? EXIT.ok : EXIT.failure;
  },
};
