import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveRunStatus, nextSchedulingStep } from '../../../src/core/run/dag';
import {
  failedFinallyStage,
  finallyDeadlineMs,
  finallyPhaseDone,
  runOutcome,
  singleAttempt,
} from '../../../src/core/run/finally';
import { RunTracker } from '../../../src/core/run/run-tracker';
import { evaluateCondition, resolveStageInputs } from '../../../src/core/spec/expressions';
import { makePlan } from '../../fixtures/runtime/plans';

const plan = makePlan('with-finally', [
  { id: 'train' },
  { id: 'evaluate', needs: ['train'], with: { m: '${{ stages.train.outputs.value }}' } },
  { id: 'notify', finally: true, needs: ['train'], with: { s: '${{ run.status }}' }, timeoutMs: 30_000 },
  { id: 'cleanup', finally: true, needs: ['notify'], timeoutMs: 10_000 },
]);

test('finally stages are never ready in the main phase; normal ones never in the finally phase', () => {
  assert.deepEqual(nextSchedulingStep(plan, {}).ready, ['train']);
  assert.deepEqual(nextSchedulingStep(plan, { train: 'succeeded', evaluate: 'succeeded' }).ready, []);
  assert.deepEqual(nextSchedulingStep(plan, {}, 'finally').ready, ['notify']);
});

test('in the finally phase a failed or pending normal stage does not block; a failed finally stage skips its dependants', () => {
  assert.deepEqual(nextSchedulingStep(plan, { train: 'failed' }, 'finally').ready, ['notify']);
  assert.deepEqual(nextSchedulingStep(plan, { train: 'failed', notify: 'running' }, 'finally').ready, []);
  assert.deepEqual(nextSchedulingStep(plan, { train: 'failed', notify: 'succeeded' }, 'finally').ready, ['cleanup']);
  const step = nextSchedulingStep(plan, { train: 'failed', notify: 'failed' }, 'finally');
  assert.deepEqual(step.skip, [{ stageId: 'cleanup', reason: 'finally stage notify failed' }]);
});

test('the run status of the normal stages ignores the finally stages', () => {
  assert.equal(deriveRunStatus(plan, { train: 'succeeded', evaluate: 'succeeded' }), 'succeeded');
  assert.equal(deriveRunStatus(plan, { train: 'failed' }), 'failed');
  assert.equal(deriveRunStatus(plan, { train: 'succeeded', evaluate: 'succeeded', notify: 'failed' }), 'succeeded');
});

test('the outcome lists failed (and waiting) and cancelled normal stages, never finally ones', () => {
  const outcome = runOutcome(plan, { train: 'waiting', evaluate: 'cancelled', notify: 'failed' }, 'cancelled');
  assert.deepEqual(outcome, { status: 'cancelled', failedStages: ['train'], cancelledStages: ['evaluate'] });
  assert.deepEqual(
    runOutcome(plan, { train: 'succeeded', evaluate: 'failed' }, 'failed', (id) =>
      id === 'evaluate' ? ['evaluate.0'] : [],
    ).failedStages,
    ['evaluate'],
  );
});

test('the finally phase is done when every finally stage settled, however', () => {
  assert.equal(finallyPhaseDone(plan, { notify: 'running' }), false);
  assert.equal(finallyPhaseDone(plan, { notify: 'failed', cleanup: 'skipped' }), true);
  assert.equal(failedFinallyStage(plan, { notify: 'failed', cleanup: 'skipped' }), 'notify');
  assert.equal(failedFinallyStage(plan, { notify: 'succeeded', cleanup: 'cached' }), undefined);
});

test('after a cancel: one attempt each, and the phase lasts at most the sum of their timeouts', () => {
  assert.equal(finallyDeadlineMs(plan), 40_000);
  const notify = plan.stages[2]!;
  assert.deepEqual(singleAttempt({ ...notify, retry: { ...notify.retry, maxAttempts: 5 } }).retry, {
    ...notify.retry,
    maxAttempts: 1,
    outageBudgetMs: 0,
  });
});

test('the tracker: running until the finally stages settled, then the outcome; a failed finally stage fails a success', () => {
  const run = new RunTracker({ plan, trigger: { kind: 'manual' } }, 'run-1', '2026-12-05T00:00:00Z');
  run.markSucceeded('train', 't', { value: 'm1' }, 1);
  run.markSucceeded('evaluate', 't', {}, 1);
  assert.equal(run.mainStatus(), 'succeeded');
  assert.equal(run.status(), 'running', 'finally stages still to run');
  assert.deepEqual(run.expressionContext().run, { id: 'run-1', pipeline: 'with-finally' });
  run.enterFinally('succeeded');
  const ctx = run.expressionContext();
  assert.deepEqual(resolveStageInputs({ s: '${{ run.status }}', f: '${{ run.failedStages }}' }, ctx), {
    s: 'succeeded',
    f: [],
  });
  assert.equal(evaluateCondition("${{ stages.train.status == 'succeeded' }}", ctx), true);
  run.markRunning('notify', 't');
  assert.equal(run.status(), 'running');
  run.markFailed('notify', 't', 'failed', { type: 'FineflowInvalidInput', message: 'refused' }, 1);
  run.markSkipped('cleanup', 't', 'finally stage notify failed');
  assert.equal(run.finallyDone(), true);
  assert.equal(run.status(), 'failed');
  assert.equal(run.snapshot().stages.filter((s) => s.finally).length, 2);
});

test('stages.X.status of a stage without outputs, and of one not settled yet', () => {
  const run = new RunTracker({ plan, trigger: { kind: 'manual' } }, 'run-2', 't');
  assert.equal(resolveStageInputs({ s: '${{ stages.train.status }}' }, run.expressionContext()).s, 'pending');
  run.markFailed('train', 't', 'failed', { type: 'x', message: 'boom' }, 1);
  run.enterFinally('failed');
  const ctx = run.expressionContext();
  assert.deepEqual(
    resolveStageInputs(
      { s: '${{ stages.train.status }}', m: '${{ stages.train.outputs?.value }}', f: '${{ run.failedStages }}' },
      ctx,
    ),
    { s: 'failed', m: null, f: ['train'] },
  );
  assert.equal(run.ranFinallyAfterCancel(plan.stages[2]!), false);
});

test('run.status outside the finally phase is an error that says where it is known', () => {
  assert.throws(
    () => resolveStageInputs({ s: '${{ run.status }}' }, { params: {}, stages: {}, run: { id: 'r' } }),
    /known only in `finally:` stages/,
  );
  assert.equal(resolveStageInputs({ s: '${{ run?.status }}' }, { params: {}, stages: {} }).s, null);
});
