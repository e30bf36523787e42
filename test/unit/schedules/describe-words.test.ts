/**
 * `fineflow schedule describe` says when a schedule starts runs the way its file says it (cron as written, intervals
 * and calendars in words, start times in UTC and the schedule's zone); it printed Temporal's compiled spec as JSON.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeText } from '../../../src/cli/commands/schedule';
import { mergeRecentRuns, type ScheduleDetails } from '../../../src/schedules/schedule-client';
import { readScheduleBlock } from '../../../src/schedules/schedule-block';
import { calendarInWords, scheduleInWords, startTimeInWords } from '../../../src/schedules/schedule-words';

/** Temporal's compiled form of `0 3 * * *`, as `describe` returns it. */
const COMPILED = {
  calendars: [{ second: [{ start: 0, end: 0, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] }],
  timezone: 'Europe/Berlin',
};

function details(written: ScheduleDetails['schedule'] extends infer S ? Partial<NonNullable<S>> : never) {
  return {
    pipeline: 'nightly',
    scheduleId: 'fineflow-nightly',
    schedule: {
      paused: false,
      spec: COMPILED,
      overlap: 'skip',
      catchupWindowMs: 6 * 3_600_000,
      pauseOnFailure: false,
      runsTaken: 0,
      missedCatchupWindow: 0,
      skippedOverlap: 0,
      createdAt: '2026-12-06T20:00:00.000Z',
      nextRuns: ['2026-12-07T02:00:00.000Z', '2026-12-08T02:00:00.000Z'],
      recentRuns: [],
      runningRuns: [],
      ...written,
    },
    watchers: [],
  } as ScheduleDetails;
}

test('describe prints the cron as written and next starts in UTC and the pipeline zone, not the JSON', () => {
  const written = readScheduleBlock({ cron: '0 3 * * *', timezone: 'Europe/Berlin', overlap: 'skip' });
  const text = describeText(details({ written }));
  assert.match(text, /^ {2}cron "0 3 \* \* \*" \(Europe\/Berlin time\)$/m);
  assert.match(text, /^ {2}next 2026-12-07T02:00:00Z \(Mon 7 Dec 03:00 Europe\/Berlin\)$/m);
  assert.match(text, /^ {2}next 2026-12-08T02:00:00Z \(Tue 8 Dec 03:00 Europe\/Berlin\)$/m);
  assert.doesNotMatch(text, /calendars|"start"|\{/, 'no compiled spec');
});

test('intervals, calendars, skips and bounds in words; UTC times alone without a zone', () => {
  const block = readScheduleBlock({
    every: '6h',
    offset: '30m',
    calendar: [
      { hour: 3, minute: 15, dayOfWeek: 'MON-FRI', comment: 'weekday nights' },
      { hour: '9-17', minute: '*/15', month: 'JANUARY' },
    ],
    skip: [{ month: 12, dayOfMonth: 25 }],
    jitter: '5m',
    endAt: '2027-01-01T00:00:00Z',
  });
  assert.deepEqual(scheduleInWords(block), [
    'every 6h, offset 30m',
    'calendar: at 03:15 on MONDAY-FRIDAY (weekday nights) (UTC time)',
    'calendar: at hour 9-17, minute 0-59/15, second 0 in JANUARY (UTC time)',
    'except at 00:00 on day 25 of the month in DECEMBER',
    'each start delayed by up to 5m (jitter), until 2027-01-01T00:00:00Z',
  ]);
  assert.equal(calendarInWords({}), 'at 00:00 every day');
  assert.equal(startTimeInWords('2026-12-07T02:00:00.000Z', undefined), '2026-12-07T02:00:00Z');
});

test('a schedule whose plan cannot be read still shows Temporal’s spec', () => {
  assert.match(describeText(details({})), /^ {2}spec \{"calendars"/m);
});

test('a run triggered by hand is listed among the recent runs as such; no run at all says none yet', () => {
  const recentRuns = [
    {
      runId: 'fineflow-nightly-2026-12-06T02:00:00Z',
      trigger: 'schedule' as const,
      scheduledAt: '2026-12-06T02:00:00.000Z',
      startedAt: '2026-12-06T02:00:00.200Z',
      delayMs: 200,
    },
    {
      runId: 'fineflow-nightly-manual-2026-12-06T09-00-00-000Z-ab12',
      trigger: 'manual' as const,
      startedAt: '2026-12-06T09:00:00.000Z',
    },
  ];
  const text = describeText(details({ recentRuns }));
  assert.match(
    text,
    /^ {2}run fineflow-nightly-manual-2026-12-06T09-00-00-000Z-ab12: triggered by hand, started 2026-12-06T09:00:00.000Z$/m,
  );
  assert.match(text, /^ {2}run fineflow-nightly-2026-12-06T02:00:00Z: scheduled 2026-12-06T02:00:00.000Z, started /m);
  assert.doesNotMatch(text, /none yet/);
  assert.match(describeText(details({})), /^ {2}recent runs: none yet$/m);
});

test('recent runs: scheduled and triggered by hand in one list by start, oldest first, the newest kept', () => {
  const run = (id: string, at: string, trigger: 'schedule' | 'manual') => ({ runId: id, trigger, startedAt: at });
  const scheduled = [run('s1', '2026-12-01T03:00:00Z', 'schedule'), run('s2', '2026-12-03T03:00:00Z', 'schedule')];
  const manual = [run('m2', '2026-12-04T10:00:00Z', 'manual'), run('m1', '2026-12-02T10:00:00Z', 'manual')];
  assert.deepEqual(
    mergeRecentRuns(scheduled, manual).map((r) => r.runId),
    ['s1', 'm1', 's2', 'm2'],
  );
  assert.deepEqual(
    mergeRecentRuns(scheduled, manual, 2).map((r) => r.runId),
    ['s2', 'm2'],
  );
  assert.deepEqual(mergeRecentRuns([], []), []);
});
