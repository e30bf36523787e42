/**
 * `trial.checkpoint.everyEpochs` of a fine-tune sweep: a trial checkpoints every epoch whatever it asks (each segment
 * up to a rung ends on a checkpoint), so the setting is refused at its position, saying why and what to set instead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validatePipeline } from '../../../src/spec';
import { stageTypeMarkdown } from '../../../src/spec/reference-doc';
import { listStageTypes } from '../../../src/spec/stage-types';
import { sweepPipelineYaml } from '../../helpers/sweep-pipeline';

const pipeline = (checkpoint: string) =>
  sweepPipelineYaml(`      trial:\n        epochs: 9\n        checkpoint: ${checkpoint}`, 'trial-checkpoint');

test('trial.checkpoint.everyEpochs is an error at the line and column of its value that says why and what to set', () => {
  const diagnostics = validatePipeline(pipeline('{keepLast: 3, everyEpochs: 3}'), 'p.yaml').diagnostics;
  assert.deepEqual(
    diagnostics.map((d) => [d.severity, d.code, d.path, d.line, d.column]),
    [['error', 'invalid-input', 'stages.sweep.with.trial.checkpoint.everyEpochs', 14, 48]],
  );
  const [only] = diagnostics;
  assert.match(only?.message ?? '', /no effect: a sweep trial checkpoints at the end of every epoch/);
  assert.match(only?.hint ?? '', /remove trial\.checkpoint\.everyEpochs; trial\.checkpoint\.keepLast sets/);
});

test('trial.checkpoint.keepLast alone is accepted', () => {
  assert.deepEqual(validatePipeline(pipeline('{keepLast: 3}'), 'p.yaml').diagnostics, []);
});

/** Every `trial.X` and `trial.X.Y` of the sweep's schema that has a default, with that default. */
function trialDefaults(): { path: string; yaml: string }[] {
  const sweep = listStageTypes().find((t) => t.name === 'hyperparameter-sweep');
  const trial = sweep?.inputs.type === 'object' ? sweep.inputs.properties?.trial : undefined;
  assert.ok(trial?.type === 'object' && trial.properties, 'the sweep has a trial mapping');
  const found: { path: string; yaml: string }[] = [];
  for (const [key, value] of Object.entries(trial.properties)) {
    if (value.default !== undefined) found.push({ path: key, yaml: `{${key}: ${JSON.stringify(value.default)}}` });
    if (value.type !== 'object') continue;
    for (const [inner, schema] of Object.entries(value.properties ?? {}))
      if (schema.default !== undefined)
        found.push({ path: `${key}.${inner}`, yaml: `{${key}: {${inner}: ${JSON.stringify(schema.default)}}}` });
  }
  return found;
}

test('no default the sweep shows for a trial (reference, JSON schema, SDK) is one it refuses when written', () => {
  const defaults = trialDefaults();
  assert.ok(defaults.length > 10, `${defaults.length} trial defaults`);
  const refused = defaults.filter(
    ({ yaml }) =>
      validatePipeline(sweepPipelineYaml(`      trial: ${yaml}`, 'trial-defaults'), 'p.yaml').diagnostics.length > 0,
  );
  assert.deepEqual(
    refused.map((d) => d.path),
    [],
  );
  const row = stageTypeMarkdown()
    .split('\n')
    .find((line) => line.startsWith('| `trial.checkpoint.everyEpochs` |'));
  assert.match(row ?? '', /^\| `trial\.checkpoint\.everyEpochs` \| [^|]+ \|  \| not for sweep trials/, 'no default');
});
