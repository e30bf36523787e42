import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_OUTAGE_BUDGET_MS,
  OUTAGE_MAX_WAIT_MS,
  nextOutageRetry,
  remainingOwnAttempts,
} from '../../../src/core/run/outage-retry';
import type { PlannedRetry } from '../../../src/core/spec/plan-types';

const defaults: PlannedRetry = {
  maxAttempts: 3,
  initialIntervalMs: 5_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 500_000,
  outageBudgetMs: 15 * 60_000,
};

test('an outage is retried with a capped backoff until the budget since its first failure is spent', () => {
  let state;
  const waits: number[] = [];
  let now = 0;
  for (;;) {
    const decision = nextOutageRetry(defaults, state, now, 'object store unavailable');
    if (!decision.retry) {
      assert.match(
        decision.message,
        /stayed unavailable for 15m \(retry.outageBudget 15m, \d+ retries\): object store unavailable/,
      );
      break;
    }
    waits.push(decision.waitMs);
    state = decision.state;
    now += decision.waitMs;
  }
  assert.deepEqual(waits.slice(0, 5), [5_000, 10_000, 20_000, OUTAGE_MAX_WAIT_MS, OUTAGE_MAX_WAIT_MS]);
  assert.equal(now, 15 * 60_000, 'the last wait ends exactly when the budget does');
});

test('a 60 s outage needs four retries under the defaults, far inside the budget', () => {
  const first = nextOutageRetry(defaults, undefined, 0, 'x');
  assert.ok(first.retry);
  assert.equal(first.state.sinceMs, 0);
  assert.match(first.note, /retry 1 in 5 s, outage budget 15m left/);
});

test('a plan without outageBudgetMs gets the default; a zero budget never retries', () => {
  const { outageBudgetMs: _omit, ...old } = defaults;
  const decision = nextOutageRetry(old, { sinceMs: 0, retries: 3 }, DEFAULT_OUTAGE_BUDGET_MS - 1, 'x');
  assert.ok(decision.retry);
  assert.equal(decision.waitMs, 1);
  assert.equal(nextOutageRetry({ ...defaults, outageBudgetMs: 0 }, undefined, 0, 'x').retry, false);
});

test('own attempts left never drop below one', () => {
  assert.equal(remainingOwnAttempts(defaults, 0), 3);
  assert.equal(remainingOwnAttempts(defaults, 2), 1);
  assert.equal(remainingOwnAttempts(defaults, 7), 1);
});
