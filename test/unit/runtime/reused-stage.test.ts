import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunTracker } from '../../../src/core/run/run-tracker';
import { reusedFromOf } from '../../../src/core/run/reused-stage';
import { makePlan } from '../../fixtures/runtime/plans';

const plan = makePlan('t', [{ id: 'a' }, { id: 'b', needs: ['a'] }], {});
const T = '2026-01-01T00:00:00.000Z';

test('the tracker records where a reused stage came from as data, and keeps it across continue-as-new', () => {
  const run = new RunTracker(
    { plan, trigger: { kind: 'manual' }, reuse: [{ stageId: 'a', outputs: { v: 9 }, fromRunId: 'old' }] },
    'run-2',
    T,
  );
  assert.deepEqual(run.stage('a').reusedFrom, { runId: 'old', stage: 'a' });
  assert.equal(run.stage('a').reason, 'reused from run old', 'the words people read stay');
  assert.equal(run.stage('b').reusedFrom, undefined);
  const next = new RunTracker({ plan, trigger: { kind: 'manual' }, carried: run.carry() }, 'run-2', T);
  assert.deepEqual(next.snapshot().stages[0]?.reusedFrom, { runId: 'old', stage: 'a' });
});

test('reusedFromOf reads the field, and the reason only for runs that predate it', () => {
  const base = { id: 'a', status: 'succeeded' as const, attempts: 0 };
  assert.deepEqual(reusedFromOf({ ...base, reusedFrom: { runId: 'r-0', stage: 'a' } }), { runId: 'r-0', stage: 'a' });
  // The field decides, whatever the reason says.
  assert.deepEqual(reusedFromOf({ ...base, reason: 'rode out an outage', reusedFrom: { runId: 'r-0', stage: 'a' } }), {
    runId: 'r-0',
    stage: 'a',
  });
  // A run recorded before the field: its reason was the only record.
  assert.deepEqual(reusedFromOf({ ...base, reason: 'reused from run r-0' }), { runId: 'r-0', stage: 'a' });
  assert.equal(reusedFromOf({ ...base }), undefined);
  assert.equal(reusedFromOf({ ...base, reason: 'reused from run r-0 and more' }), undefined);
  assert.equal(reusedFromOf({ ...base, status: 'cached', reason: 'reused from run r-0' }), undefined);
  assert.equal(reusedFromOf({ ...base, attempts: 1, reason: 'reused from run r-0' }), undefined, 'it ran here');
});
