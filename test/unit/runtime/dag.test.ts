import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveRunStatus, nextSchedulingStep, stagesDownstreamOf, stagesReadBy } from '../../../src/core/run/dag';
import { makePlan } from '../../fixtures/runtime/plans';

const diamond = makePlan('diamond', [
  { id: 'a' },
  { id: 'b', needs: ['a'], with: { x: '${{ stages.a.outputs.value }}' } },
  { id: 'c', needs: ['a'] },
  { id: 'd', needs: ['b', 'c'], with: { left: '${{ stages.b.outputs.value }}', right: 'plain' } },
]);

test('only the root is ready at the start', () => {
  assert.deepEqual(nextSchedulingStep(diamond, {}), { ready: ['a'], skip: [] });
});

test('both branches of a diamond become ready together, the join waits for both', () => {
  assert.deepEqual(nextSchedulingStep(diamond, { a: 'succeeded' }).ready, ['b', 'c']);
  assert.deepEqual(nextSchedulingStep(diamond, { a: 'succeeded', b: 'succeeded', c: 'running' }).ready, []);
  assert.deepEqual(nextSchedulingStep(diamond, { a: 'succeeded', b: 'cached', c: 'succeeded' }).ready, ['d']);
});

test('running, failed and waiting upstreams block their downstream', () => {
  for (const status of ['running', 'failed', 'waiting', 'cancelled', 'pending'] as const) {
    assert.deepEqual(nextSchedulingStep(diamond, { a: status }).ready, status === 'pending' ? ['a'] : []);
  }
});

test('a skipped upstream skips the stages that read its outputs, not those that only need it', () => {
  const step = nextSchedulingStep(diamond, { a: 'skipped' });
  assert.deepEqual(step.ready, ['c']);
  assert.deepEqual(
    step.skip.map((s) => s.stageId),
    ['b'],
  );
  assert.match(step.skip[0]?.reason ?? '', /skipped stage a/);
  // d reads b (skipped) but not c: skipped once c settles.
  assert.deepEqual(
    nextSchedulingStep(diamond, { a: 'skipped', b: 'skipped', c: 'succeeded' }).skip.map((s) => s.stageId),
    ['d'],
  );
});

test('outputs read from `when` count as reads', () => {
  const plan = makePlan('w', [{ id: 'e' }, { id: 'r', needs: ['e'], when: '${{ stages.e.outputs.passed }}' }]);
  assert.deepEqual([...stagesReadBy(plan.stages[1]!)], ['e']);
  assert.deepEqual(
    nextSchedulingStep(plan, { e: 'skipped' }).skip.map((s) => s.stageId),
    ['r'],
  );
});

test('run status: running, waiting, failed, cancelled, succeeded', () => {
  assert.equal(deriveRunStatus(diamond, {}), 'running');
  assert.equal(deriveRunStatus(diamond, { a: 'succeeded', b: 'running' }), 'running');
  assert.equal(deriveRunStatus(diamond, { a: 'succeeded', b: 'waiting', c: 'running' }), 'running');
  assert.equal(deriveRunStatus(diamond, { a: 'succeeded', b: 'waiting', c: 'succeeded' }), 'waiting');
  assert.equal(deriveRunStatus(diamond, { a: 'succeeded', b: 'failed', c: 'running' }), 'failed');
  assert.equal(deriveRunStatus(diamond, { a: 'succeeded', b: 'cancelled' }), 'cancelled');
  assert.equal(deriveRunStatus(diamond, { a: 'succeeded', b: 'skipped', c: 'cached', d: 'skipped' }), 'succeeded');
  // A stage that is ready but not started yet keeps the run running even next to a waiting one.
  const two = makePlan('two', [{ id: 'x' }, { id: 'y' }]);
  assert.equal(deriveRunStatus(two, { x: 'waiting' }), 'running');
});

test('stagesDownstreamOf follows needs transitively, in plan order', () => {
  assert.deepEqual(stagesDownstreamOf(diamond, 'a'), ['b', 'c', 'd']);
  assert.deepEqual(stagesDownstreamOf(diamond, 'c'), ['d']);
  assert.deepEqual(stagesDownstreamOf(diamond, 'd'), []);
});
