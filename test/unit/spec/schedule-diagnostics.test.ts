import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../../src/spec';
import type { Diagnostic } from '../../../src/spec/diagnostics';

function withSchedule(lines: string): readonly Diagnostic[] {
  const text = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: sched}
schedule:
${lines}
stages:
  prepare:
    uses: prepare-data
    with: {source: s3://datasets/x/, format: image-folder}
`;
  return validatePipeline(text, 's.yaml').diagnostics.filter((d) => d.severity === 'error');
}

function at(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((d) => `${d.code} ${d.path} ${d.line}:${d.column}`);
}

test('every: 0s is refused at the value, as Temporal refuses intervals under a second', () => {
  const found = withSchedule('  every: 0s');
  assert.deepEqual(at(found), ['bad-interval schedule.every 5:10']);
  assert.match(found[0]?.hint ?? '', /^write 1s or more/);
});

test('an offset as long as its interval, and an offset without every, are refused at the offset', () => {
  assert.deepEqual(at(withSchedule('  every: [{interval: 1h, offset: 1h}]')), [
    'bad-interval schedule.every[0].offset 5:34',
  ]);
  assert.deepEqual(at(withSchedule('  cron: "0 3 * * *"\n  offset: 5m')), ['bad-interval schedule.offset 6:11']);
});

test('calendar values are checked per field with Temporal ranges and names, each at its own line', () => {
  const found = withSchedule(
    [
      '  calendar:',
      '    - hour: 24',
      '      dayOfWeek: FRI-SUN',
      '      month: [jan, SMARCH]',
      '      minute: "*/0"',
    ].join('\n'),
  );
  assert.deepEqual(at(found), [
    'bad-calendar schedule.calendar[0].hour 6:13',
    'bad-calendar schedule.calendar[0].dayOfWeek 7:18',
    'bad-calendar schedule.calendar[0].month[1] 8:20',
    'bad-calendar schedule.calendar[0].minute 9:15',
  ]);
  assert.match(found[0]?.hint ?? '', /^write a hour value in 0-23/);
  assert.match(found[1]?.hint ?? '', /\[FRIDAY-SATURDAY, SUNDAY\]/);
  assert.match(found[2]?.hint ?? '', /JANUARY…DECEMBER/);
  assert.match(found[3]?.hint ?? '', /step of 1 or more/);
});

test('names in any case, 3-letter names, cron day 7 and holidays to skip are accepted', () => {
  assert.deepEqual(
    withSchedule(
      [
        '  calendar: [{hour: "9-17/2", dayOfWeek: [mon-Fri, 7], month: "*", year: 2100}]',
        '  skip: [{month: DECEMBER, dayOfMonth: 25}]',
        '  note: weekday office hours',
      ].join('\n'),
    ),
    [],
  );
});

test('a schedule without timing is reported at the schedule key; a field the schema refused is reported once', () => {
  assert.deepEqual(at(withSchedule('  overlap: skip')), ['missing-key schedule 4:1']);
  assert.deepEqual(at(withSchedule('  every: 1h\n  paused: 3')), ['wrong-type schedule.paused 6:11']);
});
