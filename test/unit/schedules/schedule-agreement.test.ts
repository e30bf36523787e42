/**
 * `fineflow validate` and `fineflow schedule apply` judge a `schedule:` block alike: random blocks
 * (good values, boundaries, names in any case, backwards ranges, sub-second intervals, offsets past the
 * interval, wrong types) are validated as part of a pipeline and turned into Temporal Schedule options
 * the way `schedule apply` does; the verdicts must agree, and every refusal validate reports points at
 * the line of the field it names. Seeded, so a disagreement reproduces; fast-check prints it shrunk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { validatePipeline } from '../../../src/spec';
import { buildScheduleOptions } from '../../../src/schedules/schedules';
import type { JsonObject, JsonValue } from '../../../src/core/spec/plan-types';
import { planWith } from './plan-fixture';

const SEED = 20261205;
const RUNS = 2000;

/** Mostly a good value, now and then a bad one, so that blocks with several fields still come out valid often. */
function mostly(good: readonly JsonValue[], bad: readonly JsonValue[]): fc.Arbitrary<JsonValue> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...good), weight: 6 },
    { arbitrary: fc.constantFrom(...bad), weight: 1 },
  );
}

const CALENDAR_GOOD: readonly JsonValue[] = [
  0,
  1,
  3,
  6,
  12,
  23,
  31,
  59,
  2027,
  '*',
  '*/15',
  '1-5',
  '9-17',
  '0-59',
  '3',
  '03',
  'MONDAY',
  'mon',
  'Monday',
  'MON-FRI',
  'SAT-SUN',
  'JANUARY',
  'jan',
  'MAR-MAY',
  7,
  [1, 15],
  ['SATURDAY', 'SUNDAY'],
];
const CALENDAR_BAD: readonly JsonValue[] = [
  24,
  32,
  60,
  1999,
  2101,
  -1,
  1.5,
  '*/0',
  '5-1',
  'FRI-SUN',
  '1-7',
  'SMARCH',
  'DECEMBER-JANUARY',
  true,
  null,
  [3, 25],
  [],
  {},
];
const CALENDAR_KEYS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'year', 'dayOfWeek'];

const calendarEntry: fc.Arbitrary<JsonValue> = fc.oneof(
  { arbitrary: fc.constantFrom<JsonValue>('daily', 3), weight: 1 },
  {
    arbitrary: fc
      .tuple(
        fc.dictionary(fc.constantFrom(...CALENDAR_KEYS), mostly(CALENDAR_GOOD, CALENDAR_BAD), {
          minKeys: 1,
          maxKeys: 3,
        }),
        fc.option(mostly(['weekday nights'], ['x'.repeat(201), 4]), { freq: 3 }),
        fc.option(fc.constant(3), { freq: 20 }),
      )
      .map(([fields, comment, hours]) => ({
        ...fields,
        ...(comment !== null ? { comment } : {}),
        ...(hours !== null ? { hours } : {}),
      })),
    weight: 20,
  },
);

const FIELDS: Record<string, fc.Arbitrary<JsonValue>> = {
  cron: mostly(
    ['0 3 * * *', '@daily', '0 3 * * MON-FRI', ['0 3 * * MON-FRI', '0 6 * * SAT']],
    ['@fortnightly', '0 3 * *', '61 * * * *', '', 5, []],
  ),
  every: mostly(
    ['6h', '1s', '1d', [{ interval: '1h', offset: '5m' }, '1d']],
    ['0s', '500ms', 'soon', [{ interval: '1h', offset: '2h' }], [{ offset: '5m' }], ['0s'], []],
  ),
  offset: mostly(['30m'], ['7h', 'later']),
  calendar: fc.array(calendarEntry, { minLength: 1, maxLength: 2 }),
  skip: fc.array(calendarEntry, { minLength: 1, maxLength: 2 }),
  timezone: mostly(
    ['Europe/Berlin', 'UTC', 'US/Pacific', 'America/New_York'],
    ['europe/berlin', 'utc', 'Mars/Base', 3],
  ),
  jitter: mostly(['5m', '0s'], ['some']),
  startAt: mostly(['2026-01-01T00:00:00Z', '2026-02-01T00:00:00+01:00'], ['tomorrow', '2026-13-01']),
  endAt: mostly(['2027-06-01T00:00:00Z', '2027-12-31'], ['2025-01-01T00:00:00Z', 'Jan 5 2027']),
  overlap: mostly(['skip', 'buffer-one', 'allow-all'], ['SKIP', 'buffer_one', 'sometimes']),
  catchupWindow: mostly(['6h', '10s'], ['5s', 'x']),
  pauseOnFailure: mostly([true, false], ['yes']),
  paused: mostly([false, true], ['no']),
  note: mostly(['nightly retrain'], [5]),
};
const TIMING = ['cron', 'every', 'calendar'];

/** A block with a timing field most of the time, and a few other fields. */
const scheduleBlock: fc.Arbitrary<JsonObject> = fc
  .tuple(
    fc.oneof(
      { arbitrary: fc.subarray(TIMING, { minLength: 1, maxLength: 2 }), weight: 20 },
      { arbitrary: fc.constant([]), weight: 1 },
    ),
    fc.subarray(
      Object.keys(FIELDS).filter((key) => !TIMING.includes(key)),
      { maxLength: 4 },
    ),
  )
  .chain(([timing, others]) => {
    const keys = [...timing, ...others];
    return fc
      .tuple(...keys.map((key) => FIELDS[key] as fc.Arbitrary<JsonValue>))
      .map((values) => Object.fromEntries(keys.map((key, i) => [key, values[i] as JsonValue])));
  });

function pipelineWith(schedule: JsonObject): string {
  return `${stringify({
    apiVersion: 'fineflow/v1',
    kind: 'Pipeline',
    metadata: { name: 'agree' },
    schedule,
    stages: { prepare: { uses: 'prepare-data', with: { source: 's3://datasets/x/', format: 'image-folder' } } },
  })}`;
}

function applyVerdict(schedule: JsonObject): string | undefined {
  try {
    buildScheduleOptions(planWith({ schedule }));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * The last named field of a diagnostic's path is on the line it points at, or on the line before when
 * the value is a block below its key, or the line is the list item the path ends in.
 */
function pointsAtField(text: string, line: number, path: string): boolean {
  const lines = text.split('\n');
  const key = /([A-Za-z]+)(?:\[\d+\])*$/.exec(path)?.[1] ?? '';
  const here = lines[line - 1] ?? '';
  const above = lines[line - 2] ?? '';
  return (
    here.includes(`${key}:`) ||
    (above.trimEnd().endsWith(`${key}:`) && /^\s*- /.test(here)) ||
    (/\[\d+\]$/.test(path) && /^\s*- /.test(here))
  );
}

test('validate and schedule apply accept and refuse the same schedule blocks, at the field', (t) => {
  const tally = { accepted: 0, refused: 0 };
  fc.assert(
    fc.property(scheduleBlock, (schedule) => {
      const text = pipelineWith(schedule);
      const result = validatePipeline(text, 'agree.yaml');
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      const outside = errors.filter((d) => !d.path.startsWith('schedule'));
      assert.deepEqual(outside, [], 'only the schedule varies');
      const applied = applyVerdict(schedule);
      assert.equal(
        errors.length === 0,
        applied === undefined,
        `validate: ${JSON.stringify(errors.map((d) => `${d.code} ${d.path}: ${d.message}`))}; apply: ${applied ?? 'accepted'}`,
      );
      for (const d of errors) {
        assert.ok(d.line > 0 && d.hint, `${d.code} at ${d.path} has a position and a hint`);
        // A missing key is reported where its mapping is written.
        const at = d.code === 'missing-key' ? d.path.replace(/\.[A-Za-z]+$/, '') : d.path;
        if (at !== 'schedule')
          assert.ok(pointsAtField(text, d.line, at), `${d.path} reported on line ${d.line}:\n${text}`);
      }
      tally[errors.length === 0 ? 'accepted' : 'refused']++;
    }),
    { seed: SEED, numRuns: RUNS },
  );
  t.diagnostic(`${RUNS} blocks: ${tally.accepted} accepted, ${tally.refused} refused by both`);
  // Both kinds must occur often enough for the agreement to mean something.
  assert.ok(tally.accepted > RUNS / 10 && tally.refused > RUNS / 10, JSON.stringify(tally));
});
