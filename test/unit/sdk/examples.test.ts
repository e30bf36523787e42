/**
 * Every example in pipelines/ is also written in TypeScript (pipelines/typescript/), and the SDK
 * compiles each to a plan identical to the YAML's: same stages, inputs, defaults, schedule and
 * triggers, with and without --set overrides.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { compilePlan } from '../../../src/spec';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';
import { compilePipeline, params, pipeline, stage, type PipelineDefinition } from '../../../src/index';
import { InvalidInputError } from '../../../src/core/errors';
import type { Plan } from '../../../src/core/spec/plan-types';

const PIPELINES = path.resolve(__dirname, '../../../pipelines');

/** `pipeline` stages read their files next to the example, as `fineflow plan pipelines/<file>` would. */
const files = (file: string) => pipelineFileSource(file, PIPELINES);

function yamlPlan(file: string, set: readonly string[] = []) {
  const result = compilePlan(readFileSync(path.join(PIPELINES, file), 'utf8'), file, {
    set,
    pipelineFiles: files(file),
  });
  assert.ok(result.plan, `${file}: ${JSON.stringify(result.diagnostics)}`);
  return result.plan;
}

/** The plan without the source positions, which name lines of different files (the YAML's, the TypeScript's). */
function withoutLines(plan: Plan): Plan {
  return { ...plan, stages: plan.stages.map(({ line: _line, ...stage }) => stage) };
}

/** Line of `<id>.run(` in a TypeScript example. */
function runLine(source: string, id: string): number {
  const index = source.split('\n').findIndex((line) => line.includes(`${id}.run(`));
  return index + 1;
}

void describe('TypeScript pipelines', () => {
  const examples = readdirSync(PIPELINES).filter((f) => f.endsWith('.yaml'));

  void it('exist for every YAML example', () => {
    const written = readdirSync(path.join(PIPELINES, 'typescript')).map((f) => f.replace(/\.ts$/, '.yaml'));
    assert.deepEqual(written.sort(), [...examples].sort());
  });

  for (const file of examples) {
    void it(`${file}: the TypeScript version compiles to the identical plan`, () => {
      const modulePath = path.join(PIPELINES, 'typescript', file.replace(/\.yaml$/, '.ts'));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const definition = (require(modulePath) as { default: PipelineDefinition }).default;
      const plan = compilePipeline(definition, { file, pipelineFiles: files(file) });
      assert.deepEqual(withoutLines(plan), withoutLines(yamlPlan(file)));
      const source = readFileSync(path.join(PIPELINES, 'typescript', file.replace(/\.yaml$/, '.ts')), 'utf8');
      for (const stage of plan.stages) assert.equal(stage.line, runLine(source, stage.id), `line of ${stage.id}`);
      const firstParam = Object.keys((definition.document.params ?? {}) as object)[0];
      if (firstParam === 'dataset') {
        const set = ['dataset=s3://datasets/other/'];
        assert.deepEqual(
          withoutLines(compilePipeline(definition, { file, set, pipelineFiles: files(file) })),
          withoutLines(yamlPlan(file, set)),
        );
      }
    });
  }

  void it('references serialise to the expressions a YAML author writes', () => {
    const prepare = stage('prepare', 'prepare-data');
    const p = params({ epochs: 3, declared: { type: 'integer', default: 2 } });
    assert.equal(String(prepare.outputs.dataset), '${{ stages.prepare.outputs.dataset }}');
    assert.equal(
      JSON.stringify({ e: p.ref.epochs, d: p.ref.declared }),
      '{"e":"${{ params.epochs }}","d":"${{ params.declared }}"}',
    );
  });

  void it('reports problems the compiler cannot see with path, code and hint, as validate does', () => {
    const train = stage('train', 'fine-tune');
    const definition = pipeline({
      metadata: { name: 'bad' },
      stages: [train.run({ with: { model: 'registry://base@1', data: 's3://x/', epochs: 0 } })],
    });
    assert.throws(
      () => compilePipeline(definition),
      (error: unknown) => error instanceof InvalidInputError && /stages\.train\.with\.epochs: .*\[/.test(error.message),
    );
    assert.throws(
      () =>
        pipeline({
          metadata: { name: 'twice' },
          stages: [
            train.run({ with: { model: 'a://b', data: 'c' } }),
            train.run({ with: { model: 'a://b', data: 'c' } }),
          ],
        }),
      /stage 'train' is listed twice/,
    );
  });

  void it('rejects, at compile time, inputs of the wrong type and references of the wrong type', () => {
    const prepare = stage('prepare', 'prepare-data');
    const evaluate = stage('evaluate', 'evaluate');
    const p = params({ epochs: 3, dataset: 's3://d/' });
    // Each line below must fail to typecheck (npx tsc -p . runs in npm test): the directive errors otherwise.
    // @ts-expect-error epochs is a number, not a string
    stage('t', 'fine-tune').run({ with: { model: 'registry://m@1', data: prepare.outputs.dataset, epochs: 'ten' } });
    // @ts-expect-error a URI input cannot take a number param
    stage('t', 'fine-tune').run({ with: { model: p.ref.epochs, data: prepare.outputs.dataset } });
    // @ts-expect-error `passed` is a boolean output; `data` wants a URI
    stage('t', 'fine-tune').run({ with: { model: 'registry://m@1', data: evaluate.outputs.passed } });
    // @ts-expect-error unknown input key
    stage('t', 'fine-tune').run({ with: { model: 'registry://m@1', data: p.ref.dataset, epocs: 3 } });
    // @ts-expect-error prepare-data has no output `model`
    void prepare.outputs.model;
  });
});
