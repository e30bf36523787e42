/**
 * The example pipelines of pipelines/ (top level only: parts/ holds sub-pipelines, not examples),
 * compiled and reduced to their inputs (./example-inputs.ts). Names given on the command line are
 * bounded to those files: `sweep`, `sweep.yaml` and `pipelines/sweep.yaml` name the same example, and
 * anything else is an error naming the examples there are.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../core/errors';
import { closest } from '../core/spec/suggest';
import { compilePlan } from '../spec/compile';
import { pipelineFileSource } from '../spec/pipeline-files';
import { packageFile } from '../package-paths';
import { exampleInputsOf, type ExampleInputs } from './example-inputs';

/** The directory holding the examples (the package's own pipelines/, never one the caller picks). */
export const EXAMPLES_DIR = packageFile('pipelines');

/** Every example's file name (`sweep.yaml`, …), sorted. */
export function exampleFileNames(directory = EXAMPLES_DIR): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** The inputs of `pipelines/<name>`; a pipeline that does not validate is an error naming its first diagnostic. */
export function loadExample(name: string, directory = EXAMPLES_DIR): ExampleInputs {
  const file = `pipelines/${name}`;
  const root = path.dirname(directory);
  const compiled = compilePlan(readFileSync(path.join(directory, name), 'utf8'), file, {
    pipelineFiles: pipelineFileSource(file, root),
  });
  if (!compiled.plan) {
    const first = compiled.diagnostics.find((d) => d.severity === 'error');
    throw new InvalidInputError(
      `${file}${first ? `:${first.line}:${first.column} ${first.path}: ${first.message}` : ''} ` +
        `(fix it, then check with \`fineflow validate ${file}\`)`,
      { code: 'example-invalid', file },
    );
  }
  return exampleInputsOf(file, compiled.plan);
}

/** At most this many names on one command line (more than there are examples is a mistake). */
export const MAX_EXAMPLE_NAMES = 64;

/** The example file an argument names; InvalidInputError with the examples there are otherwise. */
export function exampleFileOf(argument: string, names: readonly string[]): string {
  const bare = argument.replace(/^(\.\/)?pipelines\//, '');
  const candidates = [bare, `${bare}.yaml`, `${bare}.yml`];
  const found = candidates.find((candidate) => names.includes(candidate));
  if (found && !found.includes('/')) return found;
  const shown = argument.length > 80 ? `${argument.slice(0, 80)}…` : argument;
  const near = closest(
    bare.replace(/\.ya?ml$/, ''),
    names.map((name) => name.replace(/\.ya?ml$/, '')),
  );
  const listed = names.map((name) => name.replace(/\.ya?ml$/, '')).join(', ');
  throw new InvalidInputError(
    `${JSON.stringify(shown)} is not an example in pipelines/${near ? `; did you mean ${near}?` : '.'} ` +
      `The examples: ${listed}`,
    { code: 'unknown-example', argument: shown },
  );
}

/** The inputs of every example (all of pipelines/) and of the ones `requested` names (all when none). */
export function loadExamples(
  requested: readonly string[],
  directory = EXAMPLES_DIR,
): { readonly all: ExampleInputs[]; readonly wanted: ExampleInputs[] } {
  if (requested.length > MAX_EXAMPLE_NAMES)
    throw new InvalidInputError(`at most ${MAX_EXAMPLE_NAMES} example names, got ${requested.length}`, {
      code: 'too-many-examples',
    });
  const names = exampleFileNames(directory);
  const all = names.map((name) => loadExample(name, directory));
  if (requested.length === 0) return { all, wanted: all };
  const files = new Set(requested.map((argument) => `pipelines/${exampleFileOf(argument, names)}`));
  return { all, wanted: all.filter((example) => files.has(example.file)) };
}
