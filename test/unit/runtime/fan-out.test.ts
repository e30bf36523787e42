import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidInputError } from '../../../src/core/errors';
import {
  gatherInstanceOutputs,
  instanceStage,
  nextFanOutStep,
  requiredSuccesses,
  resolveFanOutItems,
} from '../../../src/core/run/fan-out';
import type { StageStatus } from '../../../src/core/run/run-types';
import { MAX_FAN_OUT_ITEMS } from '../../../src/core/spec/pipeline-schema';
import type { PlannedFanOut, PlannedStage } from '../../../src/core/spec/plan-types';

const stage: PlannedStage = {
  id: 'train',
  uses: 'test-echo',
  typeVersion: '1.0.0',
  with: { value: '${{ item }}' },
  needs: ['split'],
  when: '${{ params.on }}',
  pool: 'cpu',
  timeoutMs: 1000,
  retry: { maxAttempts: 1, initialIntervalMs: 1, backoffCoefficient: 1, maximumIntervalMs: 1 },
  onFailure: 'pause',
  cache: { enabled: true },
  fanOut: { forEach: '${{ stages.split.outputs.shards }}', failFast: true, minSuccessRatio: 1 },
};
const ctx = {
  params: { lrs: [0.1, 0.01], sizes: [8, 16, 32] },
  stages: { split: { outputs: { shards: ['a', 'b', 'c'], one: 'x' } } },
};
const policy = (extra: Partial<PlannedFanOut> = {}): PlannedFanOut => ({
  failFast: true,
  minSuccessRatio: 1,
  ...extra,
});

test('forEach resolves to the upstream list; matrix to the product, first key outermost', () => {
  assert.deepEqual(resolveFanOutItems(stage, stage.fanOut as PlannedFanOut, ctx), ['a', 'b', 'c']);
  assert.deepEqual(resolveFanOutItems(stage, policy({ forEach: [1, '${{ params.lrs[1] }}'] }), ctx), [1, 0.01]);
  assert.deepEqual(resolveFanOutItems(stage, policy({ matrix: { lr: '${{ params.lrs }}', batch: [8, 16] } }), ctx), [
    { lr: 0.1, batch: 8 },
    { lr: 0.1, batch: 16 },
    { lr: 0.01, batch: 8 },
    { lr: 0.01, batch: 16 },
  ]);
});

test('a fan-out over a non-list or over too many items is an InvalidInputError naming the stage and field', () => {
  assert.throws(
    () => resolveFanOutItems(stage, policy({ forEach: '${{ stages.split.outputs.one }}' }), ctx),
    (e: unknown) =>
      e instanceof InvalidInputError && /stage train: forEach must yield a list, got a string/.test(e.message),
  );
  const many = Array.from({ length: MAX_FAN_OUT_ITEMS + 1 }, (_, i) => i);
  assert.throws(() => resolveFanOutItems(stage, policy({ forEach: many }), ctx), /at most 256/);
  const wide = Array.from({ length: 20 }, (_, i) => i);
  assert.throws(() => resolveFanOutItems(stage, policy({ matrix: { a: wide, b: wide } }), ctx), /matrix yields 400/);
  assert.throws(
    () => resolveFanOutItems(stage, policy({ matrix: { a: wide, b: 5 } }), ctx),
    /matrix\.b must yield a list/,
  );
});

test('an instance is the stage with its own id and item, no condition, failing on its own', () => {
  const instance = instanceStage(stage, 2, 'c');
  assert.equal(instance.id, 'train.2');
  assert.deepEqual(instance.instance, { of: 'train', index: 2, item: 'c' });
  assert.equal(instance.fanOut, undefined);
  assert.equal(instance.when, undefined);
  assert.equal(instance.onFailure, 'fail');
  assert.deepEqual(instance.needs, ['split']);
});

test('parallelism bounds the instances started; a fan-out succeeds when all settled', () => {
  const p = policy({ parallelism: 2 });
  assert.deepEqual(nextFanOutStep(p, ['pending', 'pending', 'pending']).start, [0, 1]);
  assert.deepEqual(nextFanOutStep(p, ['running', 'pending', 'pending']).start, [1]);
  assert.deepEqual(nextFanOutStep(p, ['succeeded', 'running', 'pending']).start, [2]);
  assert.deepEqual(nextFanOutStep(p, ['succeeded', 'cached', 'succeeded']).outcome, { ok: true });
  assert.deepEqual(nextFanOutStep(policy(), []).outcome, { ok: true });
  assert.deepEqual(nextFanOutStep(policy(), ['pending', 'pending', 'pending']).start, [0, 1, 2]);
});

test('failFast cancels the running instances once the ratio is out of reach; without it they finish', () => {
  const failing: StageStatus[] = ['failed', 'running', 'pending'];
  const fast = nextFanOutStep(policy(), failing);
  assert.deepEqual([fast.start, fast.cancelRunning, fast.outcome], [[], true, undefined]);
  const slow = nextFanOutStep(policy({ failFast: false }), failing);
  assert.deepEqual([slow.start, slow.cancelRunning, slow.outcome], [[], false, undefined]);
  const done = nextFanOutStep(policy(), ['failed', 'cancelled', 'pending']);
  assert.equal(done.outcome?.ok, false);
  assert.match(done.outcome?.ok === false ? done.outcome.message : '', /2 of 3 instance\(s\) failed \(items 0, 1\)/);
});

test('minSuccessRatio tolerates failures up to the ratio', () => {
  const half = policy({ minSuccessRatio: 0.5 });
  assert.equal(requiredSuccesses(half, 3), 2);
  assert.deepEqual(nextFanOutStep(half, ['failed', 'succeeded', 'succeeded']).outcome, { ok: true });
  assert.equal(nextFanOutStep(half, ['failed', 'failed', 'succeeded']).outcome?.ok, false);
  assert.deepEqual(nextFanOutStep(policy({ minSuccessRatio: 0 }), ['failed', 'failed']).outcome, { ok: true });
  assert.equal(requiredSuccesses(policy({ minSuccessRatio: 0.3 }), 10), 3);
});

test('property: a fan-out never runs more than parallelism, and settles exactly when nothing can change it', () => {
  const statuses = fc.constantFrom<StageStatus>('pending', 'running', 'succeeded', 'failed', 'cancelled', 'cached');
  fc.assert(
    fc.property(
      fc.array(statuses, { maxLength: 12 }),
      fc.integer({ min: 1, max: 5 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      (list, parallelism, minSuccessRatio, failFast) => {
        const p = policy({ parallelism, minSuccessRatio, failFast });
        const step = nextFanOutStep(p, list);
        const running = list.filter((s) => s === 'running').length;
        assert.ok(step.start.length + running <= Math.max(parallelism, running));
        assert.ok(step.start.every((i) => list[i] === 'pending'));
        if (step.outcome) assert.equal(running, 0);
        const ok = list.filter((s) => s === 'succeeded' || s === 'cached').length;
        if (step.outcome?.ok) assert.ok(ok >= requiredSuccesses(p, list.length));
        if (step.outcome?.ok === false)
          assert.ok(
            list.length - list.filter((s) => s === 'failed' || s === 'cancelled').length <
              requiredSuccesses(p, list.length),
          );
      },
    ),
    { numRuns: 2000 },
  );
});

test('the fan-in lists each output in item order, null where an instance did not succeed', () => {
  assert.deepEqual(gatherInstanceOutputs(['a', 'b', 'c'], [{ score: 1, model: 'm0' }, undefined, { score: 3 }]), {
    model: ['m0', null, null],
    score: [1, null, 3],
    items: ['a', 'b', 'c'],
  });
  assert.deepEqual(gatherInstanceOutputs([], []), { items: [] });
});
