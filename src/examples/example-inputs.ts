/**
 * What each example pipeline needs before it can run, read from its compiled plan: the s3:// data its
 * params name (the inputs `fineflow dev seed` pushes) and the registry:// models its stages start from
 * (which another example, usually a pretrain-*.yaml, registers). Pure: plans in, facts out, so a test
 * can check every file in pipelines/ against the seeder's catalogue and fail when they drift apart.
 */
import type { JsonValue, Plan } from '../core/spec/plan-types';

/** The inputs of one example pipeline. */
export interface ExampleInputs {
  /** The pipeline file, as `pipelines/<name>.yaml`. */
  readonly file: string;
  /** s3:// URIs its params name (a prefix ending in `/` or one object), sorted. */
  readonly data: readonly string[];
  /** Registry model names its stages or params start from (not baselines: a run without one passes), sorted. */
  readonly models: readonly string[];
  /** Registry model names its register-model stages write, sorted. */
  readonly registers: readonly string[];
  /** Worker pools its stages run on, with `control` (the workflows' own), sorted. */
  readonly pools: readonly string[];
}

const REGISTRY_NAME = /^registry:\/\/([A-Za-z0-9][A-Za-z0-9._-]*)(?:@[^/]*)?$/;

/** The model name of a `registry://name[@ref]` string; undefined for anything else (a `${{ }}` reference, a URL). */
export function registryModelName(value: string): string | undefined {
  return REGISTRY_NAME.exec(value)?.[1];
}

function collect(value: JsonValue | undefined, into: (text: string) => void, skipKeys: ReadonlySet<string>): void {
  if (typeof value === 'string') into(value);
  else if (Array.isArray(value)) for (const item of value) collect(item, into, skipKeys);
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) if (!skipKeys.has(key)) collect(item, into, skipKeys);
}

/** A stage's comparison baseline is optional (the first run has none), so it is not a model the example needs. */
const OPTIONAL_MODEL_KEYS: ReadonlySet<string> = new Set(['baseline']);

/** The data and models `plan` (compiled from `file`) reads and the models it registers. */
export function exampleInputsOf(file: string, plan: Plan): ExampleInputs {
  const data = new Set<string>();
  const models = new Set<string>();
  const registers = new Set<string>();
  const note = (text: string): void => {
    if (text.startsWith('s3://')) data.add(text);
    const model = registryModelName(text);
    if (model) models.add(model);
  };
  for (const param of Object.values(plan.params)) collect(param.value, note, OPTIONAL_MODEL_KEYS);
  for (const stage of plan.stages) {
    // Only params name data (stage inputs reach it through `${{ params.… }}`); stages name models directly too.
    collect(
      stage.with,
      (text) => {
        const model = registryModelName(text);
        if (model) models.add(model);
      },
      OPTIONAL_MODEL_KEYS,
    );
    if (stage.uses === 'register-model' && typeof stage.with.name === 'string') registers.add(stage.with.name);
  }
  const pools = [...new Set(['control', ...plan.stages.map((stage) => stage.pool)])].sort();
  return { file, data: [...data].sort(), models: [...models].sort(), registers: [...registers].sort(), pools };
}

/**
 * The examples that can produce `model` from scratch: they register it without starting from it
 * (tabular.yaml registers churn-mlp but fine-tunes churn-mlp@latest, so it cannot make the first one).
 * A `pretrain-*` pipeline comes first.
 */
export function producersOf(model: string, examples: readonly ExampleInputs[]): string[] {
  const producers = examples
    .filter((example) => example.registers.includes(model) && !example.models.includes(model))
    .map((example) => example.file);
  const pretrain = (file: string): number => (/(^|\/)pretrain-[^/]*$/.test(file) ? 0 : 1);
  return producers.sort((a, b) => pretrain(a) - pretrain(b) || a.localeCompare(b));
}

/**
 * The order to submit `wanted` examples (and the producers of the models they start from) so each
 * model is registered before an example that needs it. A model no example produces from scratch
 * adds nothing; a cycle is broken where it is found (the order stays total).
 */
export function submitOrder(wanted: readonly ExampleInputs[], all: readonly ExampleInputs[]): string[] {
  const byFile = new Map(all.map((example) => [example.file, example]));
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (example: ExampleInputs): void => {
    if (ordered.includes(example.file) || visiting.has(example.file)) return;
    visiting.add(example.file);
    for (const model of example.models) {
      const producer = producersOf(model, all)[0];
      const producing = producer ? byFile.get(producer) : undefined;
      if (producing) visit(producing);
    }
    visiting.delete(example.file);
    ordered.push(example.file);
  };
  for (const example of [...wanted].sort((a, b) => a.file.localeCompare(b.file))) visit(example);
  return ordered;
}

/** Each s3:// input an example names that `known` (the seeder's catalogue) cannot fill, as `file: uri`. */
export function unseedableInputs(examples: readonly ExampleInputs[], known: (uri: string) => boolean): string[] {
  return examples.flatMap((example) =>
    example.data.filter((uri) => !known(uri)).map((uri) => `${example.file}: ${uri}`),
  );
}
