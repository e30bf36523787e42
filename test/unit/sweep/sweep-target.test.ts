/** objective.target and minTrials: a sweep stops starting trials once good enough, but not before minTrials completed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createSweep,
  isDone,
  launchBlockedReason,
  nextTrials,
  parseSweepConfig,
  recordResult,
  type SweepState,
} from '../../../src/core/sweep/sweep-state';

function sweep(extra: Record<string, unknown>): SweepState {
  return createSweep(
    parseSweepConfig({
      algorithm: 'random',
      space: { lr: { type: 'uniform', low: 0, high: 1 } },
      maxTrials: 10,
      parallelism: 1,
      ...extra,
    }),
  );
}

/** Run trials one at a time, each scoring the next of `values`; returns the state and how many trials started. */
function drive(state: SweepState, values: readonly number[]): { state: SweepState; started: number } {
  let started = 0;
  for (const value of values) {
    const next = nextTrials(state);
    if (next.trials.length === 0) break;
    started += 1;
    state = recordResult(next.state, (next.trials[0] as { trialId: number }).trialId, { status: 'completed', value });
  }
  return { state, started };
}

test('maximize: the first completed trial at or above the target ends the sweep', () => {
  const { state, started } = drive(
    sweep({ objective: { metric: 'validation.accuracy', target: 0.9 } }),
    [0.5, 0.7, 0.91, 0.99, 0.99],
  );
  assert.equal(started, 3);
  assert.ok(isDone(state));
  assert.match(
    launchBlockedReason(state) ?? '',
    /reached its target 0\.9 \(trial \d+: 0\.91\) after 3 completed trials/,
  );
});

test('minimize: the target is an upper bound', () => {
  const { started } = drive(
    sweep({ objective: { metric: 'validation.loss', goal: 'minimize', target: 0.2 } }),
    [0.5, 0.19, 0.1],
  );
  assert.equal(started, 2);
});

test('minTrials: trials that must complete before the target may end the sweep', () => {
  const { started } = drive(
    sweep({ objective: { metric: 'validation.accuracy', target: 0.9 }, minTrials: 4 }),
    [0.95, 0.2, 0.3, 0.4, 0.5, 0.6],
  );
  assert.equal(started, 4);
});

test('without a target the sweep runs its maxTrials; bad target and minTrials are refused naming the field', () => {
  assert.equal(drive(sweep({ objective: { metric: 'validation.accuracy' } }), Array(12).fill(1)).started, 10);
  assert.throws(() => sweep({ objective: { metric: 'm', target: 'high' } }), /objective\.target/);
  assert.throws(() => sweep({ objective: { metric: 'm' }, minTrials: 11 }), /minTrials/);
});
