/**
 * `fineflow schema`: print the JSON Schema of pipeline files (generated from the same
 * definitions the validator uses, including stage types loaded with --stage-module), for
 * editors: `# yaml-language-server: $schema=<path or URL>`. `--list` lists the stage types.
 */
import type * as SpecModule from '../../spec';
import type * as ReferenceDocModule from '../../spec/reference-doc';
import type * as StageTypesModule from '../../spec/stage-types';
import type * as GenerateTypesModule from '../../sdk/generate-types';
import { EXIT, STAGE_MODULE_OPTION, UsageError, stageModulePaths, type CliCommand } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../spec') as typeof SpecModule;
  const m1 = require('../../spec/reference-doc') as typeof ReferenceDocModule;
  const m2 = require('../../spec/stage-types') as typeof StageTypesModule;
  const m3 = require('../../sdk/generate-types') as typeof GenerateTypesModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    listStageTypes: m0.listStageTypes,
    pipelineJsonSchemaText: m0.pipelineJsonSchemaText,
    stageTypeMarkdown: m1.stageTypeMarkdown,
    loadStageTypeModules: m2.loadStageTypeModules,
    generateStageIoTypes: m3.generateStageIoTypes,
  };
}

export const command: CliCommand = {
  name: 'schema',
  summary: 'print the JSON Schema of pipeline files (for editors)',
  usage: 'schema [--stage-module PATH]… [--list | --markdown | --typescript]',
  description:
    'Save it and point the yaml-language-server modeline at it:\n  # yaml-language-server: ' +
    '$schema=../schema/pipeline.schema.json',
  examples: [
    {
      command: 'fineflow schema > schema/pipeline.schema.json',
      explanation: 'the JSON Schema for editors (yaml-language-server)',
    },
    { command: 'fineflow schema --list', explanation: 'stage types with their inputs (* = required) and outputs' },
    {
      command: 'fineflow schema --list --json --stage-module ./stages/index.js',
      explanation: 'the same as JSON, custom stage types included',
    },
    {
      command: 'fineflow schema --typescript --stage-module ./stages/types.js > stages/stage-io.ts',
      explanation: 'TypeScript types of your stage types: StageInputValues for their implementations',
    },
  ],
  json: true,
  options: [
    STAGE_MODULE_OPTION,
    { name: 'list', kind: 'boolean', description: 'list stage types with their inputs and outputs instead' },
    {
      name: 'markdown',
      kind: 'boolean',
      description: 'print the stage-type reference (as in docs/pipeline-reference.md) instead',
    },
    {
      name: 'typescript',
      kind: 'boolean',
      description: 'print TypeScript types of the --stage-module stage types (inputs as written and as received)',
    },
  ],
  async run(args, io) {
    const modes = (['list', 'markdown', 'typescript'] as const).filter((mode) => args.flags[mode]);
    if (modes.length > 1) {
      const named = modes.map((mode) => `--${mode}`);
      throw new UsageError(
        `${named.slice(0, -1).join(', ')} and ${named.at(-1)} print different things; give one of them`,
      );
    }
    const { listStageTypes, pipelineJsonSchemaText, stageTypeMarkdown, loadStageTypeModules, generateStageIoTypes } =
      load();
    const declared = loadStageTypeModules(stageModulePaths(args, io.cwd));
    if (args.flags.typescript) {
      if (args.flags.json) throw new UsageError('--typescript prints a TypeScript module; leave out --json');
      if (declared.length === 0)
        throw new UsageError(
          '--typescript needs --stage-module PATH: ' +
            'the built-in stage types are typed by the package itself (StageInputs, StageInputValues)',
        );
      io.stdout.write(generateStageIoTypes(declared, { target: 'package' }));
      return EXIT.ok;
    }
    if (args.flags.markdown) {
      io.stdout.write(stageTypeMarkdown());
      return EXIT.ok;
    }
    if (args.flags.list) {
      const types = listStageTypes();
      if (args.flags.json) {
        io.stdout.write(
          `${JSON.stringify(
            types.map((t) => ({
              name: t.name,
              version: t.version,
              description: t.description,
              inputs: t.inputs,
              outputs: t.outputs,
            })),
            null,
            2,
          )}\n`,
        );
        return EXIT.ok;
      }
      for (const t of types) {
        io.stdout.write(`${t.name}@${t.version}  ${t.description}\n`);
        io.stdout.write(
          `  inputs:  ${Object.keys(t.inputs.properties ?? {})
            .map((k) => (t.inputs.required?.includes(k) ? `${k}*` : k))
            .join(', ')}\n`,
        );
        io.stdout.write(
          `  outputs: ${Object.entries(t.outputs)
            .map(([k, o]) => `${k} (${o.type})`)
            .join(', ')}\n\n`,
        );
      }
      return EXIT.ok;
    }
    io.stdout.write(pipelineJsonSchemaText());
    return EXIT.ok;
  },
};
