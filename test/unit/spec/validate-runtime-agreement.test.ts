/**
 * Validate accepts exactly what a stage's own runtime input check accepts. For every built-in stage
 * type, random literal `with:` values (valid ones, boundary values, values just outside the bounds,
 * wrong types, unknown keys, missing keys) go through `fineflow validate` and through the code the
 * worker runs before doing any work (the activity's input check, its translation into training or
 * gate settings, the sweep plan and every trial a search space can produce). The verdicts must agree.
 * Seeded, so a disagreement reproduces; fast-check prints the shrunk counterexample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePlan, parsePipeline, resolveStageInputs, validatePipeline } from '../../../src/spec';
import type { PipelineFileSource } from '../../../src/spec/sub-pipelines';
import { subPipelineRunInput } from '../../../src/core/run/sub-pipeline';
import { InvalidInputError } from '../../../src/core/errors';
import { getStageType, listStageTypes } from '../../../src/spec/stage-types';
import { checkUri, type InputSchema } from '../../../src/spec/schema-language';
import type { JsonObject, JsonValue, Plan, PlannedStage } from '../../../src/core/spec/plan-types';
import { checkInputsAgainst, checkStageInputs, objectInput } from '../../../activities/ml-stage-support';
import { effectiveSettings, trainingPlan, type FineTuneSettings } from '../../../activities/fine-tune';
import { gateSpec } from '../../../activities/evaluate';
import { prepareOptions } from '../../../activities/prepare-data';
import { planSweep, trialSettings } from '../../../src/core/sweep/sweep-plan';
import { layOver } from '../../../src/core/sweep/trial-stage';
import { CONTINUOUS_PROBE } from '../../../src/spec/sweep-trial-stage-check';

const SEED = 20261205;
const RUNS_PER_TYPE = 2000;

// ---------------------------------------------------------------------------------------
// Random literal inputs from a stage type's own schema

const URIS = [
  's3://datasets/defects/',
  's3://fineflow/runs/r1/prepare/dataset/',
  's3://B',
  's3://datasets/defects/@v-20261201',
  'registry://digits-cnn@latest',
  'registry://Digits CNN',
  'file:///models/base/model.json',
  'file://',
  'https://models.example.com/base/model.json',
  'http://',
  'ftp://host/file',
  'not a uri',
];
/** Keys of open mappings (search spaces, class weights, tags): mostly training settings, now and then not. */
const MAP_KEY = fc.oneof(
  {
    arbitrary: fc.constantFrom('learningRate', 'batchSize', 'dropout', 'optimizer', 'momentum', 'freeze', 'twoPhase'),
    weight: 30,
  },
  { arbitrary: fc.constantFrom('a', 'epochs'), weight: 1 },
);
const WRONG_TYPE: fc.Arbitrary<JsonValue> = fc.constantFrom<JsonValue>('1', true, null, 7, [], {});

function numberBoundaries(schema: InputSchema & { type: 'number' | 'integer' }): number[] {
  const out = [0, 1, -1, 0.5, 3, 32];
  for (const bound of [schema.minimum, schema.maximum, schema.exclusiveMinimum, schema.exclusiveMaximum]) {
    if (bound === undefined) continue;
    out.push(bound, bound - 1, bound + 1, bound - 0.001, bound + 0.001);
  }
  return out;
}

/** Mostly a plausible value, now and then a wrong one: a big mapping still comes out valid often enough. */
function mostly(good: fc.Arbitrary<JsonValue>, bad: fc.Arbitrary<JsonValue>): fc.Arbitrary<JsonValue> {
  return fc.oneof({ arbitrary: good, weight: 40 }, { arbitrary: bad, weight: 1 });
}

function numberLiteral(schema: InputSchema & { type: 'number' | 'integer' }): fc.Arbitrary<JsonValue> {
  const low = Math.max(schema.minimum ?? schema.exclusiveMinimum ?? -1000, -1e6);
  const high = Math.min(schema.maximum ?? schema.exclusiveMaximum ?? 1000, 1e6);
  const inside =
    schema.type === 'integer'
      ? fc.integer({ min: Math.ceil(low), max: Math.floor(high) })
      : fc.double({ min: low, max: high, noNaN: true });
  return mostly(inside, fc.oneof(fc.constantFrom(...numberBoundaries(schema)), WRONG_TYPE));
}

function literal(schema: InputSchema, depth: number): fc.Arbitrary<JsonValue> {
  switch (schema.type) {
    case 'number':
    case 'integer':
      return numberLiteral(schema);
    case 'string':
      return mostly(
        fc.constantFrom('validation.loss', 'champion', 'digits-cnn', 'label', 'conv1'),
        fc.oneof(
          fc.constantFrom('', 'Has Space'),
          fc.string({ maxLength: 6 }).filter((t) => !t.includes('${{')),
          WRONG_TYPE,
        ),
      );
    case 'boolean':
      return mostly(fc.boolean(), WRONG_TYPE);
    case 'enum':
      return mostly(
        fc.constantFrom<JsonValue>(...schema.values),
        fc.oneof(fc.constantFrom('nope', 'Adam'), WRONG_TYPE),
      );
    case 'uri': {
      const fits = URIS.filter((uri) => checkUri(uri, schema.schemes) === undefined);
      return mostly(fc.constantFrom(...fits), fc.oneof(fc.constantFrom(...URIS), WRONG_TYPE));
    }
    case 'duration':
      return mostly(fc.constantFrom('30s', '5m', '2h', '1.5h'), fc.oneof(fc.constantFrom('0s', 'soon'), WRONG_TYPE));
    case 'any':
      return fc.constantFrom<JsonValue>(1, 'x', true, null, 0.5, [1, 2], { a: 1 });
    case 'array': {
      if (depth > 3) return fc.constant([]);
      const min = schema.minItems ?? 0;
      const max = Math.min(schema.maxItems ?? min + 3, min + 3);
      const items = literal(schema.items, depth + 1);
      return mostly(
        fc.array(items, { minLength: min, maxLength: max }) as fc.Arbitrary<JsonValue>,
        fc.oneof(fc.array(items, { maxLength: max + 1 }) as fc.Arbitrary<JsonValue>, WRONG_TYPE),
      );
    }
    case 'oneOf':
      return fc.oneof(...schema.variants.map((variant) => literal(variant, depth)));
    case 'object':
      return mostly(objectLiteral(schema, depth), WRONG_TYPE);
  }
}

/** One space entry for an input of this schema: choices, a fixed value, ranges near its bounds. */
function spaceEntry(setting: InputSchema): fc.Arbitrary<JsonValue> {
  const variants: fc.Arbitrary<JsonValue>[] = [
    fc.array(literal(setting, 1), { minLength: 1, maxLength: 3 }).map((choice) => ({ choice })),
    literal(setting, 1).map((fixed) => ({ fixed })),
  ];
  if (setting.type === 'number' || setting.type === 'integer') {
    const pair = fc
      .tuple(numberLiteral(setting), numberLiteral(setting))
      .filter(([a, b]) => typeof a === 'number' && typeof b === 'number' && a < b);
    variants.push(
      pair.map((range) => ({ uniform: range })),
      pair.map((range) => ({ logUniform: range })),
      pair.filter(([a, b]) => Number.isInteger(a) && Number.isInteger(b)).map((range) => ({ int: range })),
      literal(setting, 1),
    );
  }
  return fc.oneof(...variants);
}

/** A search space built from the trial's own settings: ranges, choices and fixed values near their bounds. */
function spaceLiteral(): fc.Arbitrary<JsonValue> {
  const settings = (getStageType('fine-tune')?.inputs.properties ?? {}) as Record<string, InputSchema>;
  const names = ['learningRate', 'batchSize', 'dropout', 'optimizer', 'momentum', 'freeze', 'twoPhase', 'headUnits'];
  const entryFor = spaceEntry;
  const fromSettings = fc
    .subarray(names, { minLength: 1, maxLength: 3 })
    .chain((chosen) =>
      fc.tuple(...chosen.map((name) => entryFor(settings[name] as InputSchema).map((e) => [name, e] as const))),
    )
    .map((entries) => Object.fromEntries(entries) as JsonValue);
  const spaceSchema = getStageType('hyperparameter-sweep')?.inputs.properties?.space as InputSchema;
  return fc.oneof({ arbitrary: fromSettings, weight: 6 }, { arbitrary: literal(spaceSchema, 1), weight: 1 });
}

/** Stage types a sweep's trialStage names in the generated cases: every other type, plus refused ones. */
const TRIAL_TYPES = [
  'command',
  'evaluate',
  'predict',
  'prepare-data',
  'register-model',
  'select-model',
  'fine-tune',
  'nope',
];

/** A sweep whose trials are stages of another type: the trial's inputs, and a space over their paths. */
function trialStageSweepLiteral(sweep: InputSchema & { type: 'object' }): fc.Arbitrary<JsonValue> {
  const { model: _m, data: _d, trial: _t, trialStage: _s, space: _space, ...rest } = sweep.properties ?? {};
  const shared = objectLiteral({ ...sweep, properties: rest, required: ['objective'] }, 1);
  return fc.constantFrom(...TRIAL_TYPES).chain((uses) => {
    const inputs = getStageType(uses)?.inputs ?? getStageType('command')!.inputs;
    const settings = Object.entries(inputs.properties ?? {}).filter(([, schema]) => !schema.secret);
    const entries: fc.Arbitrary<readonly [string, JsonValue]>[] = [
      ...settings.map(([name, schema]) => spaceEntry(schema).map((entry) => [name, entry] as const)),
      spaceEntry({ type: 'number', minimum: 0, maximum: 1 }).map((entry) => ['params.rate', entry] as const),
      fc.constant(['run.first', { choice: [1] }] as const),
    ];
    const space = fc
      .array(fc.oneof(...entries), { minLength: 1, maxLength: 3 })
      .map((list) => Object.fromEntries(list) as JsonValue);
    return fc.tuple(shared, objectLiteral(inputs, 2), space).map(([common, trialWith, spaceValue]) => ({
      ...(common !== null && typeof common === 'object' && !Array.isArray(common) ? common : {}),
      space: spaceValue,
      trialStage: { uses, with: trialWith },
    }));
  });
}

/** Sweeps come in two shapes: fine-tune trials (model, data, trial) and trials of another stage type. */
function sweepLiteral(sweep: InputSchema & { type: 'object' }): fc.Arbitrary<JsonValue> {
  const { trialStage: _s, ...fineTuneProps } = sweep.properties ?? {};
  const fineTune = objectLiteral(
    { ...sweep, properties: fineTuneProps, required: ['model', 'data', 'objective', 'space'] },
    0,
  );
  // A trial that trains `architecture` from scratch mostly comes without the sweep's `model` (they exclude each other).
  const fromScratchOrNot = fineTune.chain((inputs) => {
    const { model: _model, ...withoutModel } = inputs as Record<string, JsonValue>;
    const trial = (inputs as Record<string, JsonValue>).trial;
    const fromScratch = typeof trial === 'object' && trial !== null && !Array.isArray(trial) && 'architecture' in trial;
    return fromScratch
      ? fc.oneof(
          { arbitrary: fc.constant<JsonValue>(withoutModel), weight: 8 },
          { arbitrary: fc.constant(inputs), weight: 1 },
        )
      : fc.constant(inputs);
  });
  return fc.oneof({ arbitrary: fromScratchOrNot, weight: 2 }, { arbitrary: trialStageSweepLiteral(sweep), weight: 2 });
}

/** The settings that shape a network trained from scratch, by the `architecture` they belong to. */
const SHAPE_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  mlp: ['hiddenUnits', 'hiddenLayers'],
  'small-cnn': ['convFilters', 'denseUnits'],
  'small-cnn-global-pool': ['convFilters', 'denseUnits'],
};

/**
 * A sweep's `trial`: its settings as the schema makes them, except that the shape settings mostly come with the
 * architecture they shape (drawn independently, nearly every trial would carry one that belongs to another).
 */
function trialLiteral(): fc.Arbitrary<JsonValue> {
  const schema = getStageType('hyperparameter-sweep')?.inputs.properties?.trial as InputSchema & { type: 'object' };
  const shapes = new Set(Object.values(SHAPE_SETTINGS).flat());
  const props = Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([name]) => !shapes.has(name)));
  const shapeOf = (names: readonly string[]): fc.Arbitrary<JsonValue> =>
    objectLiteral({ type: 'object', properties: Object.fromEntries(names.map((n) => [n, schema.properties![n]!])) }, 2);
  return mostly(
    objectLiteral({ ...schema, properties: props }, 1).chain((trial) => {
      const architecture = (trial as Record<string, JsonValue>).architecture;
      const own = typeof architecture === 'string' ? (SHAPE_SETTINGS[architecture] ?? []) : [];
      const shape = fc.oneof(
        { arbitrary: shapeOf(own), weight: 8 },
        { arbitrary: shapeOf([...shapes].filter((name) => !own.includes(name))), weight: 1 },
      );
      return shape.map((extra) => ({
        ...(trial as Record<string, JsonValue>),
        ...(extra as Record<string, JsonValue>),
      }));
    }),
    WRONG_TYPE,
  );
}

/** Inputs whose schema alone would make nearly every case invalid get a generator of their own. */
const SPECIAL: Readonly<Record<string, () => fc.Arbitrary<JsonValue>>> = { space: spaceLiteral, trial: trialLiteral };

function objectLiteral(schema: InputSchema & { type: 'object' }, depth: number): fc.Arbitrary<JsonValue> {
  if (depth > 3) return fc.constant({});
  // Secret inputs take a `${{ secrets.NAME }}` reference, never a literal: not this test's subject.
  const props = Object.entries(schema.properties ?? {}).filter(([, prop]) => !prop.secret);
  const required = new Set(schema.required ?? []);
  const fields = props.map(([name, prop]) =>
    fc.oneof(
      {
        arbitrary: (depth === 0 && SPECIAL[name] ? SPECIAL[name]() : literal(prop, depth + 1)).map(
          (v) => [name, v] as const,
        ),
        weight: required.has(name) ? 60 : 2,
      },
      { arbitrary: fc.constant(undefined), weight: required.has(name) ? 1 : 5 },
    ),
  );
  const extra = schema.additionalProperties;
  const extras =
    typeof extra === 'object' && extra.secret
      ? fc.constant({})
      : typeof extra === 'object'
        ? fc.dictionary(MAP_KEY, literal(extra, depth + 1), { maxKeys: 3 })
        : fc.oneof(
            { arbitrary: fc.constant({}), weight: 40 },
            { arbitrary: fc.constant({ unknownKey: 1 }), weight: 1 },
          );
  return fc.tuple(fc.tuple(...fields), extras).map(([chosen, more]) => {
    const out: Record<string, JsonValue> = { ...(more as Record<string, JsonValue>) };
    for (const field of chosen) if (field) out[field[0]] = field[1];
    return out;
  });
}

// ---------------------------------------------------------------------------------------
// `pipeline` stages: the child file is read at validate time; the run applies the params to its plan

/** The child every generated `pipeline` stage names: typed params flowing into a fine-tune's ranges. */
const CHILD_FILE = 'parts/child.yaml';
const CHILD_YAML = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: child}
params:
  model: {type: string}
  epochs: {type: integer, default: 3}
  learningRate: {type: number, default: 0.01}
  tags: {type: array, default: []}
stages:
  train:
    uses: fine-tune
    with:
      model: \${{ params.model }}
      data: s3://datasets/prepared/
      epochs: \${{ params.epochs }}
      learningRate: \${{ params.learningRate }}
`;
const childFiles: PipelineFileSource = {
  rootKey: 'agreement.yaml',
  read: (written) =>
    written === CHILD_FILE
      ? { ok: true, file: written, key: written, bytes: CHILD_YAML.length, parsed: parsePipeline(CHILD_YAML, written) }
      : { ok: false, code: 'sub-pipeline-not-found', message: `${written} not found`, hint: 'check the path' },
};

/** The child plan as the compiler embeds it: params without a default hold null until the run fills them. */
const childPlan: Plan = (() => {
  const compiled = compilePlan(CHILD_YAML, CHILD_FILE, { set: ['model=registry://base@1'] });
  const plan = compiled.plan as Plan;
  return { ...plan, params: { ...plan.params, model: { type: 'string', value: null } } };
})();

function pipelineLiteral(): fc.Arbitrary<JsonValue> {
  const param = fc.oneof(
    fc.constantFrom(...['model', 'model', 'model', 'epochs', 'learningRate', 'tags']).chain((name) => {
      const values: Record<string, fc.Arbitrary<JsonValue>> = {
        model: mostly(fc.constantFrom('registry://base@1', 's3://datasets/m/'), fc.constantFrom('not a uri', 5, null)),
        epochs: numberLiteral({ type: 'integer', minimum: 1, maximum: 10_000 }),
        learningRate: numberLiteral({ type: 'number', exclusiveMinimum: 0, maximum: 10 }),
        tags: mostly(fc.constant(['a']), WRONG_TYPE),
      };
      return (values[name] as fc.Arbitrary<JsonValue>).map((value) => [name, value] as const);
    }),
    fc.constant(['epoch', 3] as const),
  );
  const params = fc.oneof(
    {
      arbitrary: fc.array(param, { minLength: 1, maxLength: 4 }).map((e) => Object.fromEntries(e) as JsonValue),
      weight: 20,
    },
    { arbitrary: WRONG_TYPE, weight: 1 },
  );
  const file = fc.oneof(
    { arbitrary: fc.constant<JsonValue>(CHILD_FILE), weight: 30 },
    { arbitrary: fc.constantFrom<JsonValue>('parts/missing.yaml', '../child.yaml', '/etc/child.yaml', 3), weight: 1 },
  );
  return fc
    .tuple(file, fc.option(params, { freq: 20 }))
    .map(([f, p]) => (p === null ? { file: f } : { file: f, params: p }) as JsonValue);
}

/**
 * What a run does with a `pipeline` stage: the plan exists only if the file was read at plan time; then the
 * workflow applies the params to the child plan, and each child stage checks its inputs when it runs.
 */
function pipelineRuntime(inputs: JsonObject): void {
  if (inputs.file !== CHILD_FILE)
    throw new InvalidInputError(`no plan: ${JSON.stringify(inputs.file)} is not a readable pipeline file`, {});
  const stage = { id: 's', uses: 'pipeline', subPipeline: { file: CHILD_FILE, plan: childPlan } } as PlannedStage;
  const input = subPipelineRunInput(stage, inputs, { trigger: { kind: 'manual' } });
  const params = Object.fromEntries(Object.entries(input.plan.params).map(([name, p]) => [name, p.value]));
  for (const child of input.plan.stages)
    fineTuneRuntime(resolveStageInputs(child.with, { params, stages: {} }) as JsonObject);
}

/** Stage types whose `with` has shapes a per-field generator cannot express. */
const WHOLE_INPUTS: Readonly<Record<string, (schema: InputSchema & { type: 'object' }) => fc.Arbitrary<JsonValue>>> = {
  'hyperparameter-sweep': sweepLiteral,
  pipeline: pipelineLiteral,
};

// ---------------------------------------------------------------------------------------
// The two verdicts

function validateVerdict(type: string, inputs: JsonValue): { ok: boolean; why: string } {
  const doc = {
    apiVersion: 'fineflow/v1',
    kind: 'Pipeline',
    metadata: { name: 'p' },
    stages: { s: { uses: type, with: inputs } },
  };
  const result = validatePipeline(JSON.stringify(doc), 'agreement.yaml', { pipelineFiles: childFiles });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  return { ok: errors.length === 0, why: errors.map((d) => `${d.code} ${d.path}: ${d.message}`).join('; ') };
}

/** The settings the training loop would run with, in a context that accepts every layer and class name. */
function trainingCheck(settings: FineTuneSettings): void {
  const model = settings.model;
  const freeze = Array.isArray(settings.freeze) ? settings.freeze : [];
  trainingPlan(settings, {
    classes: ['a', ...Object.keys(objectInput(settings, 'classWeights'))],
    featureShape: [8, 8, 1],
    baseLayers: model && /^(s3|registry):\/\//.test(model) ? ['l1', 'l2', ...freeze] : undefined,
    fromScratch: model === undefined,
  });
}

function fineTuneRuntime(inputs: JsonObject): void {
  trainingCheck(effectiveSettings(inputs));
}

/** The stage runner's check of a stage type named at run time (a trialStage's `uses`, every registered type). */
function checkByName(type: string, inputs: JsonObject): JsonObject {
  const definition = getStageType(type);
  assert.ok(definition, `no stage type ${type}`);
  return checkInputsAgainst(definition, inputs);
}

/** What a sweep refuses before its first trial, then what each trial refuses for every value the space can give it. */
function sweepRuntime(inputs: JsonObject): void {
  checkStageInputs('hyperparameter-sweep', inputs);
  const plan = planSweep(inputs);
  const trialStage = plan.trialStage;
  // A trialStage trial is its stage type's own activity: the stage runner checks the inputs it is given.
  const checkTrial = trialStage
    ? (name: string, value: JsonValue) => void checkByName(trialStage.uses, layOver(trialStage.with, name, value))
    : (name: string, value: JsonValue) => fineTuneRuntime(trialSettings(plan, { [name]: value }));
  for (const { name, domain } of plan.config.space.parameters) {
    const values: JsonValue[] =
      domain.kind === 'choice'
        ? [...domain.values]
        : domain.kind === 'fixed'
          ? [domain.value]
          : domain.kind === 'int'
            ? [domain.low, domain.high]
            : // A continuous range: its ends, and a fractional point inside (what the sampler almost surely draws).
              [domain.low, domain.high, domain.low + (domain.high - domain.low) * CONTINUOUS_PROBE];
    for (const value of values) checkTrial(name, value);
  }
}

const RUNTIME: Readonly<Record<string, (inputs: JsonObject) => void>> = {
  'fine-tune': fineTuneRuntime,
  evaluate: (inputs) => void gateSpec(checkStageInputs('evaluate', inputs).gate),
  'prepare-data': (inputs) => void prepareOptions(checkStageInputs('prepare-data', inputs), 's3://fineflow/runs/r/'),
  'hyperparameter-sweep': sweepRuntime,
  pipeline: pipelineRuntime,
};

function runtimeVerdict(type: string, inputs: JsonValue): { ok: boolean; why: string } {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs))
    return { ok: false, why: '`with` is not a mapping' }; // the stage runner passes only a mapping
  try {
    (RUNTIME[type] ?? ((i: JsonObject) => void checkByName(type, i)))(inputs as JsonObject);
    return { ok: true, why: '' };
  } catch (error) {
    const typed = error as { type?: string; message?: string };
    // Only an input check may answer: a crash in the runtime's reading of inputs is a bug of its own.
    assert.equal(typed.type, 'FineflowInvalidInput', `runtime threw ${String(typed.message)}`);
    return { ok: false, why: String(typed.message) };
  }
}

// ---------------------------------------------------------------------------------------

/**
 * Every registered stage type, so a type that lands later is covered the day it lands: its
 * runtime check is `checkStageInputs` (what the stage runner's implementations call first) plus
 * whatever RUNTIME adds for it.
 */
const COVERED = listStageTypes().map((definition) => definition.name);

test('the covered stage types include every built-in one and the command stage', () => {
  for (const name of [
    'select-model',
    'prepare-data',
    'fine-tune',
    'evaluate',
    'hyperparameter-sweep',
    'register-model',
    'command',
  ])
    assert.ok(COVERED.includes(name), name);
});

for (const definition of listStageTypes().filter((d) => COVERED.includes(d.name))) {
  test(`${definition.name}: validate accepts exactly what the runtime input check accepts (${RUNS_PER_TYPE} cases)`, (t) => {
    let accepted = 0;
    fc.assert(
      fc.property(
        WHOLE_INPUTS[definition.name]?.(definition.inputs) ?? objectLiteral(definition.inputs, 0),
        (inputs) => {
          const byValidate = validateVerdict(definition.name, inputs);
          const byRuntime = runtimeVerdict(definition.name, inputs);
          if (byValidate.ok) accepted++;
          assert.equal(
            byValidate.ok,
            byRuntime.ok,
            `validate ${byValidate.ok ? 'accepts' : `refuses (${byValidate.why})`}, runtime ${byRuntime.ok ? 'accepts' : `refuses (${byRuntime.why})`}: ${JSON.stringify(inputs)}`,
          );
        },
      ),
      { seed: SEED, numRuns: RUNS_PER_TYPE, includeErrorInReport: true },
    );
    t.diagnostic(`${definition.name}: ${accepted} accepted, ${RUNS_PER_TYPE - accepted} refused, 0 disagreements`);
    // Both answers must occur, or the generator tests one side only.
    assert.ok(accepted > RUNS_PER_TYPE / 50, `only ${accepted} accepted inputs`);
    assert.ok(accepted < RUNS_PER_TYPE - RUNS_PER_TYPE / 50, `only ${RUNS_PER_TYPE - accepted} refused inputs`);
  });
}
