/**
 * Durations for people (`formatHumanDuration`, `formatElapsed`): the CLI's status table and messages and the web UI
 * use the one function, so a 2-hour sweep reads `2h` everywhere and no unit ever reads 60.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatElapsed, formatHumanDuration } from '../../../src/core/spec/durations';

test('no unit reads 60: seconds are rounded before the units are split', () => {
  assert.equal(formatHumanDuration(59_960), '1m');
  assert.equal(formatHumanDuration(59_400), '59 s');
  assert.equal(formatHumanDuration(119_600), '2m');
  assert.equal(formatHumanDuration(119_400), '1m 59s');
  assert.equal(formatHumanDuration(3_599_700), '1h');
  assert.equal(formatHumanDuration(9_960), '10 s');
  assert.equal(formatHumanDuration(999.6), '1 s');
});

test('long durations get hours and days, to two units', () => {
  assert.equal(formatHumanDuration(7_200_000), '2h');
  assert.equal(formatHumanDuration(63_938_000), '17h 45m');
  assert.equal(formatHumanDuration(2 * 86_400_000 + 3 * 3_600_000 + 120_000), '2d 3h');
  assert.equal(formatHumanDuration(536_315), '8m 56s');
  assert.equal(formatHumanDuration(365 * 86_400_000), '1 year');
  assert.equal(formatHumanDuration(1_500), '1.5 s');
  assert.equal(formatHumanDuration(40), '40 ms');
});

test('elapsed: from start to end or now; empty without a start or with an end before it', () => {
  const start = '2026-12-07T00:00:00Z';
  assert.equal(formatElapsed(start, '2026-12-07T02:00:00Z', 0), '2h');
  assert.equal(formatElapsed(start, undefined, Date.parse(start) + 119_600), '2m');
  assert.equal(formatElapsed(undefined, '2026-12-07T02:00:00Z', 0), '');
  assert.equal(formatElapsed(start, '2026-12-06T23:59:59Z', 0), '');
  assert.equal(formatElapsed('not a date', undefined, 0), '');
});
