import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkParamOverrides, parseSetPairs } from '../../../src/core/run/params';
import { makePlan } from '../../fixtures/runtime/plans';

const plan = makePlan('p', [{ id: 'a' }], { name: 'x', rate: 0.5, epochs: 3, fast: false, tags: ['a'] });

test('command-line strings are typed by the declared param type', () => {
  const check = checkParamOverrides(
    plan,
    parseSetPairs(['rate=0.01', 'epochs=7', 'fast=true', 'name=42', 'tags=["b","c"]']),
  );
  assert.deepEqual(check, { ok: true, values: { rate: 0.01, epochs: 7, fast: true, name: '42', tags: ['b', 'c'] } });
});

test('unknown names and wrong types are all reported', () => {
  const check = checkParamOverrides(plan, { epochs: '2.5', nmae: 'y', fast: 'yes' });
  assert.equal(check.ok, false);
  if (check.ok) return;
  assert.equal(check.problems.length, 3);
  assert.ok(check.problems.some((p) => p.startsWith('params.nmae: unknown param')));
  assert.ok(check.problems.some((p) => p.startsWith('params.epochs:') && p.includes('integer')));
});

test('--set without = is rejected', () => {
  assert.throws(() => parseSetPairs(['oops']), /expected NAME=VALUE; write e.g. --set minAccuracy=0.95/);
});
