import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../../src/spec';

function stage(withLines: string): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: hints}
stages:
  prepare:
    uses: prepare-data
    with:
      source: s3://datasets/defects/
      format: image-folder
${withLines}
`;
}

test('a YAML 1.1 boolean gets a hint that says what to write instead', () => {
  const result = validatePipeline(stage('      normalize: yes'), 'h.yaml');
  const found = result.diagnostics.find((d) => d.code === 'wrong-type');
  assert.deepEqual([found?.path, found?.line, found?.column], ['stages.prepare.with.normalize', 10, 18]);
  assert.equal(found?.hint, 'write `true` instead of `yes` (YAML 1.2 reads it as a string)');
  const off = validatePipeline(stage('      clean: {dropDuplicates: Off}'), 'h.yaml');
  assert.match(off.diagnostics.find((d) => d.code === 'wrong-type')?.hint ?? '', /^write `false` instead of `Off`/);
});

test('an integer beyond 2^53 is refused where it is written, not silently rounded', () => {
  const result = validatePipeline(stage('      split: {seed: 9007199254740993}'), 'h.yaml');
  const found = result.diagnostics.find((d) => d.code === 'unsafe-integer');
  assert.deepEqual([found?.line, found?.column], [10, 21]);
  assert.match(found?.message ?? '', /9007199254740993 is beyond 2\^53/);
  assert.match(found?.hint ?? '', /between -9007199254740991 and 9007199254740991/);
  assert.equal(validatePipeline(stage('      split: {seed: 4294967295}'), 'h.yaml').valid, true);
});

const HEAD = 'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: hints}\n';

test('an unclosed flow mapping, flow list or quote is reported where it was opened, not past the end', () => {
  const cases: [string, number, number, RegExp][] = [
    [
      'stages:\n  prepare:\n    uses: prepare-data\n    with: {source: s3://d/x/, format: image-folder\n',
      7,
      11,
      /add `}`/,
    ],
    ['params:\n  xs: [1, 2\nstages: {}\n', 5, 7, /add `]`/],
    ['params:\n  x: "abc\n  y: 2\nstages: {}\n', 5, 6, /closing `"`/],
    ["params:\n  x: 'it''s\nstages: {}\n", 5, 6, /closing `'`/],
    ['params:\n  x: {a: [1, 2}\nstages: {}\n', 5, 10, /add `]`/],
  ];
  for (const [body, line, column, hint] of cases) {
    const found = validatePipeline(HEAD + body, 'h.yaml').diagnostics.find(
      (d) => d.code === 'yaml-unclosed' && hint.test(d.hint ?? ''),
    );
    assert.deepEqual([found?.line, found?.column], [line, column], body);
  }
});

test('`key:value` without a space gets a hint that writes it with one', () => {
  const block = validatePipeline(`${HEAD}stages:\n  prepare:\n    uses:prepare-data\n    with: {}\n`, 'h.yaml');
  assert.equal(block.diagnostics[0]?.hint, 'write `uses: prepare-data`: YAML needs a space after the colon of a key');
  const flow = validatePipeline(
    `${HEAD}stages:\n  prepare:\n    uses: prepare-data\n    with: {source:s3://d/x/, format: csv, labelColumn: y}\n`,
    'h.yaml',
  );
  assert.deepEqual(
    flow.diagnostics.map((d) => [d.code, d.hint]),
    [['unknown-input', 'write `source: s3://d/x/`: YAML needs a space after the colon of a key']],
  );
});

test('a lookalike letter from another script is named with its code point, and the ASCII spelling given', () => {
  const stage = validatePipeline(`${HEAD}stages:\n  prepare:\n    uses: prepare-d\u0430ta\n`, 'h.yaml');
  assert.match(
    stage.diagnostics.find((d) => d.code === 'unknown-stage-type')?.hint ?? '',
    /^`\u0430` is U\+0430 CYRILLIC SMALL LETTER A, not `a`: write `prepare-data`/,
  );
  const key = validatePipeline(
    `${HEAD}stages:\n  prepare:\n    uses: prepare-data\n    with: {source: s3://d/x/, f\u03bfrmat: csv}\n`,
    'h.yaml',
  );
  assert.match(
    key.diagnostics.find((d) => d.code === 'unknown-input')?.hint ?? '',
    /U\+03BF GREEK SMALL LETTER OMICRON/,
  );
  // A word wholly in another script is text, not a lookalike.
  const text = validatePipeline(
    `apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: hints, description: "\u041c\u043e\u0434\u0435\u043b\u044c"}\nstages:\n  prepare:\n    uses: prepare-data\n    with: {source: s3://d/x/, format: 3}\n`,
    'h.yaml',
  );
  assert.ok(text.diagnostics.every((d) => !/U\+0/.test(d.hint ?? '')));
});

test("another tool's name for a stage key (Argo's `dependencies`, a CI's `type`) gets the rename, reported once", () => {
  const body =
    'stages:\n  prepare:\n    type: prepare-data\n    with: {source: s3://datasets/x/, format: image-folder}\n' +
    '  train:\n    uses: fine-tune\n    dependencies: [prepare]\n    if: true\n';
  const found = validatePipeline(HEAD + body, 'h.yaml').diagnostics.filter((d) => d.path.startsWith('stages.'));
  assert.deepEqual(
    found.filter((d) => d.code !== 'missing-input').map((d) => [d.code, d.path, d.line, d.column, d.hint]),
    [
      ['unknown-key', 'stages.prepare.type', 6, 5, "rename `type:` to `uses:` (Fineflow's name for it)"],
      [
        'unknown-key',
        'stages.train.dependencies',
        10,
        5,
        "rename `dependencies:` to `needs:` (Fineflow's name for it)",
      ],
      ['unknown-key', 'stages.train.if', 11, 5, "rename `if:` to `when:` (Fineflow's name for it)"],
    ],
    'no missing-key `uses` beside the `type:` that stands for it',
  );
  const both = validatePipeline(
    `${HEAD}stages:\n  prepare:\n    uses: prepare-data\n    type: prepare-data\n    with: {source: s3://datasets/x/, format: image-folder}\n`,
    'h.yaml',
  );
  assert.deepEqual(
    both.diagnostics.map((d) => [d.code, d.hint]),
    [['unknown-key', 'remove `type:`: `uses:` is already given']],
  );
  // Only own alias names: a key called `constructor` is no alias, so `uses` is still reported missing.
  const odd = validatePipeline(`${HEAD}stages:\n  prepare:\n    constructor: x\n`, 'h.yaml').diagnostics;
  assert.ok(odd.some((d) => d.code === 'missing-key' && d.path === 'stages.prepare.uses'));
});

test("another tool's name for a pipeline key gets the rename, and a top-level `name:` is moved under `metadata:`", () => {
  const text =
    'apiVersion: fineflow/v1\nkind: Pipeline\nname: habits\ndescription: from Argo\n' +
    'arguments: {rate: 0.1}\nsteps:\n  prepare:\n    uses: prepare-data\n' +
    '    with: {source: s3://datasets/x/, format: image-folder}\nonExit:\n  tell:\n    uses: notify\n';
  const found = validatePipeline(text, 'h.yaml').diagnostics;
  assert.deepEqual(
    found
      .filter((d) => !d.path.startsWith('stages.') && !d.path.startsWith('finally.'))
      .map((d) => [d.code, d.path, d.line, d.hint]),
    [
      ['unknown-key', 'name', 3, 'move `name:` under `metadata:` (write `metadata: {name: …}`)'],
      ['unknown-key', 'description', 4, 'move `description:` under `metadata:` (write `metadata: {description: …}`)'],
      ['unknown-key', 'arguments', 5, "rename `arguments:` to `params:` (Fineflow's name for it)"],
      ['unknown-key', 'steps', 6, "rename `steps:` to `stages:` (Fineflow's name for it)"],
      ['unknown-key', 'onExit', 10, "rename `onExit:` to `finally:` (Fineflow's name for it)"],
    ],
    'no missing-key `metadata` or `stages` beside the keys that stand for them',
  );
  // With `metadata:` given, a stray top-level `name:` is still moved, not called redundant.
  const both = validatePipeline(
    'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: habits}\nname: habits\nstages:\n  prepare:\n    uses: prepare-data\n    with: {source: s3://datasets/x/, format: image-folder}\n',
    'h.yaml',
  ).diagnostics;
  assert.deepEqual(
    both.map((d) => [d.code, d.hint]),
    [['unknown-key', 'move `name:` under `metadata:` (write `metadata: {name: …}`)']],
  );
  // `metadata:` missing with nothing standing for it is still reported.
  const none = validatePipeline(
    'apiVersion: fineflow/v1\nkind: Pipeline\nstages:\n  prepare:\n    uses: prepare-data\n    with: {source: s3://datasets/x/, format: image-folder}\n',
    'h.yaml',
  ).diagnostics;
  assert.deepEqual(
    none.map((d) => [d.code, d.path]),
    [['missing-key', 'metadata']],
  );
});

test('a param of the wrong type for an input says how to give the param that type (was “reference a value of the right type”)', () => {
  const pipeline = `${HEAD}params:
  rate: 0.5
stages:
  a:
    uses: command
    with: {run: [echo, "\${{ params.rate }}"]}
`;
  const found = validatePipeline(pipeline, 'h.yaml').diagnostics.find((d) => d.code === 'wrong-type');
  assert.deepEqual([found?.path, found?.line, found?.column], ['stages.a.with.run[1]', 9, 24]);
  assert.equal(found?.message, 'stages.a.with.run[1] must be a string, but `params.rate` is a number');
  assert.equal(
    found?.hint,
    'give param `rate` a string default (`rate: "0.5"`) or declare `rate: {type: string, default: …}`, ' +
      'or reference a value that is a string',
  );
});

test('an unquoted ${{ }} in a flow mapping is one error at its line, not one more for every line after it', () => {
  const text = `${HEAD}stages:
  evaluate:
    uses: evaluate
    with:
      model: s3://models/m/model.json
      data: s3://data/d/manifest.json
      gate: {metric: f1, min: \${{ params.minF1 }}}
  register:
    uses: register-model
    when: \${{ stages.evaluate.outputs.passed }}
    with: {model: s3://models/m/model.json, name: m}
`;
  const { diagnostics } = validatePipeline(text, 'h.yaml');
  assert.deepEqual(
    diagnostics.map((d) => [d.code, d.line]),
    [['yaml-syntax', 10]],
  );
  assert.match(diagnostics[0]?.hint ?? '', /quote values that contain \$\{\{ \}\}/);
});

test('a sweep without a base model trains every trial from scratch: trial.architecture instead of model', () => {
  const sweep = (withLines: string): string => `${HEAD}stages:
  sweep:
    uses: hyperparameter-sweep
    with:
      data: s3://data/d/manifest.json
      objective: {metric: validation.loss, goal: minimize}
      space:
        learningRate: {logUniform: [1.0e-3, 1.0e-1]}
        hiddenUnits: {choice: [16, 64]}
        hiddenLayers: {int: [1, 3]}
${withLines}
`;
  const fromScratch = validatePipeline(sweep('      trial: {architecture: mlp, epochs: 3}'), 'h.yaml');
  assert.deepEqual(fromScratch.diagnostics, []);
  const both = validatePipeline(
    sweep('      model: s3://models/m/model.json\n      trial: {architecture: mlp}'),
    'h.yaml',
  );
  const twice = both.diagnostics.find((d) => d.path === 'stages.sweep.with.trial.architecture');
  assert.match(twice?.message ?? '', /either the sweep's `model` .* or trial\.architecture/);
  const noModel = validatePipeline(sweep('      trial: {epochs: 3}'), 'h.yaml');
  const missing = noModel.diagnostics.find((d) => d.code === 'missing-input');
  assert.equal(missing?.path, 'stages.sweep.with.model');
  assert.match(
    missing?.hint ?? '',
    /with no base model, let every trial train from random weights: `trial: \{architecture: mlp\}`/,
  );
  // The mlp's shape is bounded, searched or not, and means nothing for a base model's fixed layers.
  const tooWide = validatePipeline(
    sweep('      trial: {architecture: mlp}').replace('{choice: [16, 64]}', '{choice: [16, 5000]}'),
    'h.yaml',
  );
  assert.ok(
    tooWide.diagnostics.some((d) => d.path === 'stages.sweep.with.space.hiddenUnits.choice[1]'),
    JSON.stringify(tooWide.diagnostics.map((d) => d.path)),
  );
  const onBase = validatePipeline(sweep('      model: s3://models/m/model.json'), 'h.yaml');
  assert.ok(
    onBase.diagnostics.some((d) => /hiddenUnits shapes an mlp trained from scratch/.test(d.message)),
    JSON.stringify(onBase.diagnostics.map((d) => d.message)),
  );
});

test('a small CNN trained from scratch: convFilters and denseUnits, set or searched, bounded, only on a CNN', () => {
  const sweep = (trial: string, space: string): string => `${HEAD}stages:
  sweep:
    uses: hyperparameter-sweep
    with:
      data: s3://data/d/manifest.json
      objective: {metric: validation.accuracy, goal: maximize}
      trial: ${trial}
      space:
${space}
`;
  const searched =
    '        convFilters: {choice: [[8, 16], [16, 32], [16, 32, 64]]}\n        denseUnits: {choice: [32, 64]}';
  for (const architecture of ['small-cnn', 'small-cnn-global-pool'])
    assert.deepEqual(validatePipeline(sweep(`{architecture: ${architecture}}`, searched), 'h.yaml').diagnostics, []);
  const paths = (text: string): string[] => validatePipeline(text, 'h.yaml').diagnostics.map((d) => d.path ?? '');
  // Bounds: 1 to 4 blocks of 1 to 256 filters, 1 to 1024 units, for every searched value.
  const cnn = '{architecture: small-cnn}';
  assert.deepEqual(paths(sweep(cnn, '        convFilters: {choice: [[8, 16], [8, 16, 32, 64, 128]]}')), [
    'stages.sweep.with.space.convFilters.choice[1]',
  ]);
  assert.deepEqual(paths(sweep(cnn, '        convFilters: {choice: [[8, 300]]}')), [
    'stages.sweep.with.space.convFilters.choice[0]',
  ]);
  assert.deepEqual(paths(sweep(cnn, '        convFilters: {choice: [[]]}')), [
    'stages.sweep.with.space.convFilters.choice[0]',
  ]);
  assert.deepEqual(paths(sweep(cnn, '        denseUnits: {int: [16, 2048]}')), [
    'stages.sweep.with.space.denseUnits.int[1]',
  ]);
  // They shape a CNN trained from scratch: not an mlp, not a base model's fixed layers.
  const onMlp = validatePipeline(sweep('{architecture: mlp}', '        denseUnits: {choice: [32, 64]}'), 'h.yaml');
  assert.ok(
    onMlp.diagnostics.some((d) =>
      /denseUnits shapes a small CNN trained from scratch; this trains mlp/.test(d.message),
    ),
    JSON.stringify(onMlp.diagnostics.map((d) => d.message)),
  );
  const fineTune = (withLines: string): string => `${HEAD}stages:
  train:
    uses: fine-tune
    with:
      data: s3://data/d/manifest.json
${withLines}
`;
  assert.deepEqual(
    validatePipeline(
      fineTune('      architecture: small-cnn-global-pool\n      convFilters: [16, 32]\n      denseUnits: 64'),
      'h.yaml',
    ).diagnostics,
    [],
  );
  const onBase = validatePipeline(
    fineTune('      model: s3://models/m/model.json\n      convFilters: [16, 32]'),
    'h.yaml',
  );
  assert.deepEqual(
    onBase.diagnostics.map((d) => [d.path, d.message]),
    [
      [
        'stages.train.with.convFilters',
        'convFilters shapes a small CNN trained from scratch; this fine-tunes a base model, whose layers are fixed',
      ],
    ],
  );
  assert.deepEqual(paths(fineTune('      architecture: small-cnn\n      convFilters: [8, 8, 8, 8, 8]')), [
    'stages.train.with.convFilters',
  ]);
});

test('head: keep keeps the base head as it is, so a new head shape or no base at all is an error', () => {
  const fineTune = (withLines: string): string => `${HEAD}stages:
  train:
    uses: fine-tune
    with:
      data: s3://data/d/manifest.json
${withLines}
`;
  const problems = (withLines: string): [string | undefined, string][] =>
    validatePipeline(fineTune(withLines), 'h.yaml').diagnostics.map((d) => [d.path, d.message]);
  for (const head of ['auto', 'keep', 'replace'])
    assert.deepEqual(problems(`      model: s3://models/m/model.json\n      head: ${head}`), []);
  assert.deepEqual(problems('      model: s3://models/m/model.json\n      head: auto\n      headUnits: [16]'), []);
  assert.deepEqual(
    problems('      model: s3://models/m/model.json\n      head: keep\n      headUnits: [16]\n      dropout: 0.2'),
    [
      [
        'stages.train.with.head',
        "head: keep keeps the base model's head as it is, but headUnits and dropout ask for a new one",
      ],
    ],
  );
  assert.deepEqual(problems('      architecture: mlp\n      head: keep'), [
    [
      'stages.train.with.head',
      "head: keep keeps the base model's head as it is, but architecture (no base model, so no head to keep) " +
        'asks for a new one',
    ],
  ]);
  assert.deepEqual(
    problems('      model: s3://models/m/model.json\n      head: maybe').map(([path]) => path),
    ['stages.train.with.head'],
  );
});

test("Keras' metric names (val_loss, val_accuracy) get the name Fineflow measures, where they are written", () => {
  const monitor = validatePipeline(
    `${HEAD}stages:
  train:
    uses: fine-tune
    with: {architecture: mlp, data: s3://datasets/d/manifest.json, earlyStopping: {monitor: val_loss}}
`,
    'h.yaml',
  ).diagnostics.find((d) => d.code === 'bad-value');
  assert.deepEqual([monitor?.path, monitor?.line], ['stages.train.with.earlyStopping.monitor', 7]);
  assert.equal(monitor?.hint, "write `validation.loss` (Fineflow's name for `val_loss`)");
  const objective = validatePipeline(
    `${HEAD}stages:
  sweep:
    uses: hyperparameter-sweep
    with:
      model: s3://models/m/model.json
      data: s3://datasets/d/manifest.json
      objective: {metric: val_accuracy}
      space: {learningRate: {logUniform: [1.0e-3, 1.0e-1]}}
`,
    'h.yaml',
  ).diagnostics.find((d) => d.path === 'stages.sweep.with.objective.metric');
  assert.equal(objective?.line, 10);
  assert.equal(objective?.hint, "write `validation.accuracy` (Fineflow's name for `val_accuracy`)");
});

test("a sweep space entry's mistyped distribution is an unknown key with the fix, not a missing `uniform`", () => {
  const sweep = (entry: string): string => `${HEAD}stages:
  sweep:
    uses: hyperparameter-sweep
    with:
      model: registry://digits-cnn@latest
      data: s3://data/d/manifest.json
      objective: {metric: validation.accuracy, goal: maximize}
      space:
        batchSize: ${entry}
`;
  const found = (entry: string) =>
    validatePipeline(sweep(entry), 'h.yaml').diagnostics.map((d) => [d.code, d.path, d.line, d.column, d.hint]);
  // Checked against the first variant only, this was missing-key `uniform` and "allowed keys: `uniform`".
  assert.deepEqual(found('{choise: [16, 32]}'), [
    ['unknown-key', 'stages.sweep.with.space.batchSize.choise', 12, 21, 'did you mean `choice`?'],
  ]);
  assert.deepEqual(found('{logUnifrom: [0.001, 0.1]}'), [
    ['unknown-key', 'stages.sweep.with.space.batchSize.logUnifrom', 12, 21, 'did you mean `logUniform`?'],
  ]);
  const unlike = found('{between: [1, 2]}');
  assert.equal(unlike.length, 1);
  assert.match(String(unlike[0]?.[4]), /uniform.*logUniform.*int.*choice.*fixed/);
  // A known key still picks its variant: its own problems, as before.
  assert.deepEqual(
    found('{choice: 16}').map(([code, path]) => [code, path]),
    [['wrong-type', 'stages.sweep.with.space.batchSize.choice']],
  );
});
