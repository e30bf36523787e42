/** The run-time rules of a `pipeline` stage (src/core/run/sub-pipeline.ts): child id, input, outputs, reuse. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  failedRunStages,
  reusableChildStages,
  subPipelineOutputs,
  subPipelineRunId,
  subPipelineRunInput,
} from '../../../src/core/run/sub-pipeline';
import type { StageState } from '../../../src/core/run/run-types';
import type { JsonObject, Plan, PlannedStage } from '../../../src/core/spec/plan-types';

const childPlan: Plan = {
  apiVersion: 'fineflow/v1',
  pipeline: { name: 'child' },
  params: {
    model: { type: 'string', value: null },
    epochs: { type: 'integer', value: 3 },
  },
  stages: [],
  levels: [],
  triggers: [],
};

const stage = {
  id: 'sub',
  uses: 'pipeline',
  subPipeline: { file: 'pipelines/parts/child.yaml', plan: childPlan },
} as unknown as PlannedStage;
const parent = { trigger: { kind: 'manual' as const }, bucket: 'b' };

test('the child run id is derived from the parent run, the stage and the attempt', () => {
  assert.equal(subPipelineRunId('run-1', 'sub', 2), 'run-1.sub.pipeline-2');
  assert.equal(subPipelineRunId('run-1', 'sub.0', 1), 'run-1.sub.0.pipeline-1');
});

test("the child's input carries the resolved params, the parent's trigger and bucket, and what to reuse", () => {
  const reuse = [{ stageId: 'train', outputs: { model: 's3://m/' }, fromRunId: 'run-1.sub.pipeline-1' }];
  const input = subPipelineRunInput(stage, { params: { model: 'registry://m@1', epochs: 5 } }, parent, reuse);
  assert.deepEqual(input.plan.params, {
    model: { type: 'string', value: 'registry://m@1' },
    epochs: { type: 'integer', value: 5 },
  });
  assert.deepEqual(input.trigger, { kind: 'manual' });
  assert.equal(input.bucket, 'b');
  assert.deepEqual(input.reuse, reuse);
});

test('params that do not fit the child fail the stage as invalid input, naming the file', () => {
  // Values are JSON from the pipeline: "5" is not an integer here (unlike `retry --set epochs=5`).
  const cases: JsonObject[] = [{ model: 'm', epochs: '5' }, { model: 'm', nope: 1 }, { epochs: 2 }];
  for (const params of cases)
    assert.throws(
      () => subPipelineRunInput(stage, { params }, parent),
      (error: unknown) =>
        (error as { type?: string }).type === 'FineflowInvalidInput' &&
        /pipelines\/parts\/child\.yaml/.test((error as Error).message),
      JSON.stringify(params),
    );
});

const state = (id: string, status: StageState['status'], extra: Partial<StageState> = {}): StageState => ({
  id,
  uses: 'fine-tune',
  pool: 'cpu',
  status,
  attempts: 1,
  ...extra,
});

test("the stage's outputs are the child stages' outputs by id; instances and stages without outputs are left out", () => {
  const stages = [
    state('train', 'succeeded', { outputs: { model: 's3://m/' } }),
    state('tune', 'succeeded', { outputs: { model: ['a', 'b'] } }),
    state('tune.0', 'succeeded', { outputs: { model: 'a' }, instanceOf: 'tune' }),
    state('register', 'skipped'),
  ];
  assert.deepEqual(subPipelineOutputs(stages), { train: { model: 's3://m/' }, tune: { model: ['a', 'b'] } });
});

test('a retry reuses the stages a failed child finished, unless a param they depend on changed', () => {
  const planned = (id: string, needs: string[], withValue: JsonObject): PlannedStage =>
    ({ id, uses: 'test-echo', needs, with: withValue }) as unknown as PlannedStage;
  const next: Plan = {
    ...childPlan,
    params: { model: { type: 'string', value: 'm2' }, epochs: { type: 'integer', value: 3 } },
    stages: [
      planned('prepare', [], { value: 'fixed' }),
      planned('train', ['prepare'], { value: '${{ params.epochs }}' }),
      planned('tune', ['train'], { value: '${{ params.model }}' }),
      planned('evaluate', ['tune'], {}),
    ],
  };
  const stages = [
    state('prepare', 'cached', { outputs: { dataset: 's3://d/' } }),
    state('train', 'succeeded', { outputs: { model: 's3://m/' } }),
    state('tune', 'succeeded', { outputs: { model: 's3://t/' } }),
    state('evaluate', 'failed', { error: { type: 'x', message: 'y' } }),
  ];
  // `model` changed (m1 → m2): tune reads it; prepare and train do not depend on it.
  assert.deepEqual(reusableChildStages({ childRunId: 'c1', params: { model: 'm1', epochs: 3 }, stages }, next), [
    { stageId: 'prepare', outputs: { dataset: 's3://d/' }, fromRunId: 'c1' },
    { stageId: 'train', outputs: { model: 's3://m/' }, fromRunId: 'c1' },
  ]);
  // `epochs` changed: train and everything after it runs again.
  assert.deepEqual(
    reusableChildStages({ childRunId: 'c1', params: { model: 'm2', epochs: 4 }, stages }, next).map((r) => r.stageId),
    ['prepare'],
  );
  assert.deepEqual(failedRunStages({ status: 'failed', stages }), stages);
  assert.equal(failedRunStages('nope'), undefined);
  assert.equal(failedRunStages({ stages: 3 }), undefined);
});
