/**
 * What `fineflow dev seed` reads from the examples: every s3:// input an example in pipelines/ names
 * must be one the seeder can fill (a new or renamed dataset param fails here until the catalogue in
 * src/examples/seed-data.ts knows it), and the models each example starts from come with the
 * pipeline that registers them first.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  exampleInputsOf,
  producersOf,
  registryModelName,
  submitOrder,
  unseedableInputs,
  type ExampleInputs,
} from '../../../src/examples/example-inputs';
import { exampleFileOf, loadExamples } from '../../../src/examples/load-examples';
import { seedReportText } from '../../../src/cli/commands/dev-seed';
import { seedDataFor } from '../../../src/examples/seed-data';
import { compilePlan } from '../../../src/spec/compile';

const { all } = loadExamples([]);
const byFile = (file: string): ExampleInputs => {
  const found = all.find((example) => example.file === file);
  assert.ok(found, `${file} is an example`);
  return found;
};
const known = (uri: string): boolean => seedDataFor(uri) !== undefined;

test('every s3:// input of every example in pipelines/ is one the seeder fills', () => {
  assert.ok(all.length >= 13, `found ${all.length} examples`);
  assert.deepEqual(unseedableInputs(all, known), []);
});

test('an example naming a prefix the seeder does not know is reported, with its file', () => {
  const compiled = compilePlan(
    'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: x}\nparams:\n  dataset: s3://datasets/unknown/\n' +
      'stages:\n  prepare:\n    uses: prepare-data\n' +
      '    with: {source: "${{ params.dataset }}", format: image-folder}\n',
    'pipelines/x.yaml',
  );
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  const example = exampleInputsOf('pipelines/x.yaml', compiled.plan);
  assert.deepEqual(example.data, ['s3://datasets/unknown/']);
  assert.deepEqual(unseedableInputs([example], known), ['pipelines/x.yaml: s3://datasets/unknown/']);
});

test('the inputs read from the files: data from params, base models from stages, baselines left out', () => {
  assert.deepEqual(byFile('pipelines/sweep.yaml').data, ['s3://datasets/shapes/']);
  assert.deepEqual(byFile('pipelines/sweep.yaml').models, ['digits-cnn']);
  assert.deepEqual(byFile('pipelines/defect-detection.yaml').models, ['digits-cnn', 'shapes-cnn']);
  assert.deepEqual(byFile('pipelines/defect-detection.yaml').registers, ['defect-detector']);
  assert.deepEqual(byFile('pipelines/pretrain-digits.yaml').registers, ['digits-cnn']);
  assert.deepEqual(byFile('pipelines/loan-default.yaml').models, []);
  assert.deepEqual(byFile('pipelines/batch-predict.yaml').data, ['s3://datasets/churn/incoming/']);
  assert.deepEqual(byFile('pipelines/quickstart.yaml').models, ['surface-cnn']);
});

test('a model is produced first by a pipeline that registers it without starting from it', () => {
  assert.deepEqual(producersOf('digits-cnn', all), ['pipelines/pretrain-digits.yaml']);
  assert.deepEqual(producersOf('surface-cnn', all), ['pipelines/pretrain-surface.yaml']);
  assert.deepEqual(producersOf('defect-detector', all), ['pipelines/defect-detection.yaml']);
  // tabular and sub-pipeline register churn-mlp too, but fine-tune churn-mlp@latest: neither makes the first one.
  assert.deepEqual(producersOf('churn-mlp', all), ['pipelines/pretrain-churn.yaml']);
  assert.deepEqual(producersOf('shapes-cnn', all), ['pipelines/pretrain-shapes.yaml']);
});

test('the submit order puts the producers of base models first', () => {
  assert.deepEqual(submitOrder([byFile('pipelines/sweep.yaml')], all), [
    'pipelines/pretrain-digits.yaml',
    'pipelines/sweep.yaml',
  ]);
  const order = submitOrder(all, all);
  assert.equal(order.length, all.length);
  const before = (a: string, b: string): boolean => order.indexOf(a) < order.indexOf(b);
  assert.ok(before('pipelines/pretrain-digits.yaml', 'pipelines/defect-detection.yaml'));
  assert.ok(before('pipelines/defect-detection.yaml', 'pipelines/scheduled-retrain.yaml'));
  assert.ok(before('pipelines/pretrain-surface.yaml', 'pipelines/quickstart.yaml'));
  assert.ok(before('pipelines/pretrain-shapes.yaml', 'pipelines/defect-detection.yaml'));
  for (const churn of ['tabular', 'sub-pipeline', 'candidate-fan-out', 'batch-predict', 'sklearn-baseline'])
    assert.ok(before('pipelines/pretrain-churn.yaml', `pipelines/${churn}.yaml`), churn);
});

test('names on the command line are bounded to the files in pipelines/', () => {
  const names = ['sweep.yaml', 'tabular.yaml'];
  assert.equal(exampleFileOf('sweep', names), 'sweep.yaml');
  assert.equal(exampleFileOf('pipelines/sweep.yaml', names), 'sweep.yaml');
  assert.throws(() => exampleFileOf('../secrets', names), /not an example in pipelines\/.*sweep, tabular/);
  assert.throws(() => exampleFileOf('swep', names), /did you mean sweep\?/);
  assert.throws(() => exampleFileOf('parts/train-and-evaluate', names), /not an example/);
});

test('registry names: a registry:// URI, not a reference or a URL', () => {
  assert.equal(registryModelName('registry://digits-cnn@latest'), 'digits-cnn');
  assert.equal(registryModelName('registry://churn-mlp'), 'churn-mlp');
  assert.equal(registryModelName('${{ stages.select.outputs.model }}'), undefined);
  assert.equal(registryModelName('https://example.com/model.json'), undefined);
});

test('the seed report names each missing model with the pipeline to submit, and the order', () => {
  const text = seedReportText({
    inputs: [
      {
        uri: 's3://datasets/shapes/',
        examples: ['pipelines/sweep.yaml'],
        status: 'pushed',
        version: 'a',
        prefix: 's3://datasets/shapes/',
      },
      {
        uri: 's3://datasets/loans/',
        examples: ['pipelines/loan-default.yaml'],
        status: 'present',
        version: 'b',
        prefix: 's3://datasets/loans/',
      },
    ],
    models: [
      { name: 'churn-mlp', examples: ['pipelines/tabular.yaml'], versions: [], producers: [] },
      {
        name: 'digits-cnn',
        examples: ['pipelines/sweep.yaml'],
        versions: [],
        producers: ['pipelines/pretrain-digits.yaml'],
      },
      {
        name: 'surface-cnn',
        examples: ['pipelines/quickstart.yaml'],
        versions: [1, 2],
        producers: ['pipelines/pretrain-surface.yaml'],
      },
    ],
    submitOrder: ['pipelines/pretrain-digits.yaml', 'pipelines/sweep.yaml'],
  });
  assert.match(text, /^data: 1 pushed, 1 already there$/m);
  assert.match(text, /^model churn-mlp: missing, for tabular\.yaml; no pipeline in pipelines\/ registers it/m);
  assert.match(
    text,
    /^model digits-cnn: missing, for sweep\.yaml; `fineflow submit pipelines\/pretrain-digits\.yaml --watch`/m,
  );
  assert.match(text, /^model surface-cnn: in the registry \(versions 1, 2\), for quickstart\.yaml$/m);
  assert.ok(
    text.endsWith(
      'Submit in this order (base models first):\n' +
        '  fineflow submit pipelines/pretrain-digits.yaml --watch\n  fineflow submit pipelines/sweep.yaml --watch\n',
    ),
  );
});

test("the README's submit order for the other examples registers each base model before its users", () => {
  const readme = readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
  const section = /^## Trying the other examples\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'README.md has a "Trying the other examples" section');
  assert.match(section, /fineflow(?:\.js)? dev seed\b/);
  const submitted = [...section.matchAll(/fineflow(?:\.js)? submit (pipelines\/[\w-]+\.yaml)/g)].map((m) => m[1] ?? '');
  assert.ok(submitted.length > 0, 'the section shows the submits');
  // Every pipeline that registers a base model some example starts from is shown, so a reader can run them all
  // (but surface-cnn: the demo, which this section follows, registers it with pretrain-surface.yaml).
  for (const example of all)
    for (const model of example.models) {
      const producer = producersOf(model, all)[0];
      if (producer && model !== 'surface-cnn')
        assert.ok(submitted.includes(producer), `${example.file} needs ${model}: show ${producer}`);
    }
  for (const [index, file] of submitted.entries()) {
    for (const model of byFile(file).models) {
      const producer = producersOf(model, all)[0];
      if (producer && producer !== file)
        assert.ok(submitted.slice(0, index).includes(producer), `${file} needs ${model}: submit ${producer} before it`);
    }
  }
});
