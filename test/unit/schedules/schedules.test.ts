import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, sha256Hex } from '../../../src/canonical-json';
import { InvalidInputError } from '../../../src/core/errors';
import { RUN_WORKFLOW_TASK_TIMEOUT_MS } from '../../../src/core/run/run-types';
import { readNewDataTriggers, readScheduleBlock } from '../../../src/schedules/schedule-block';
import {
  appliedDigestOf,
  applyDigestOf,
  buildScheduleOptions,
  planDigest,
  scheduleIdForPipeline,
  scheduleUpdateFor,
  temporalCalendar,
} from '../../../src/schedules/schedules';
import { planWith } from './plan-fixture';

function codeAndPath(error: unknown): { code: unknown; path: unknown } {
  assert.ok(error instanceof InvalidInputError, `expected InvalidInputError, got ${String(error)}`);
  return { code: error.details.code, path: error.details.path };
}

void describe('schedule block → Temporal Schedule options', () => {
  void it('maps a cron string with a time zone, catch-up window and overlap policy', () => {
    const options = buildScheduleOptions(
      planWith({ schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlin', overlap: 'skip', catchupWindow: '6h' } }),
    );
    assert.equal(options.scheduleId, 'fineflow-defects');
    assert.deepEqual(options.spec, { cronExpressions: ['0 3 * * *'], timezone: 'Europe/Berlin' });
    assert.deepEqual(options.policies, { overlap: 'SKIP', catchupWindow: 6 * 3_600_000, pauseOnFailure: false });
  });

  void it('accepts a list of cron expressions', () => {
    const options = buildScheduleOptions(planWith({ schedule: { cron: ['0 3 * * MON-FRI', '0 6 * * SAT'] } }));
    assert.deepEqual(options.spec.cronExpressions, ['0 3 * * MON-FRI', '0 6 * * SAT']);
  });

  void it('maps every with a top-level offset, and interval objects with their own offset', () => {
    assert.deepEqual(buildScheduleOptions(planWith({ schedule: { every: '6h', offset: '30m' } })).spec.intervals, [
      { every: 21_600_000, offset: 1_800_000 },
    ]);
    assert.deepEqual(
      buildScheduleOptions(planWith({ schedule: { every: [{ interval: '1h', offset: '5m' }, '1d'] } })).spec.intervals,
      [{ every: 3_600_000, offset: 300_000 }, { every: 86_400_000 }],
    );
    assert.deepEqual(buildScheduleOptions(planWith({ schedule: { every: 5000 } })).spec.intervals, [{ every: 5000 }]);
  });

  void it('maps calendar entries: values, names, ranges, steps, lists, cron day numbers', () => {
    const options = buildScheduleOptions(
      planWith({
        schedule: {
          calendar: [
            { hour: 3, minute: '*/15', dayOfWeek: 'MON-FRI', comment: 'weekday nights' },
            { month: [1, 'jul'], dayOfMonth: '1-7', dayOfWeek: 0, year: '*' },
          ],
          skip: [{ month: 12, dayOfMonth: 25 }],
        },
      }),
    );
    assert.deepEqual(options.spec.calendars, [
      {
        hour: [{ start: 3, end: 3, step: 1 }],
        minute: [{ start: 0, end: 59, step: 15 }],
        dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }],
        comment: 'weekday nights',
      },
      {
        month: [
          { start: 'JANUARY', end: 'JANUARY', step: 1 },
          { start: 'JULY', end: 'JULY', step: 1 },
        ],
        dayOfMonth: [{ start: 1, end: 7, step: 1 }],
        dayOfWeek: [{ start: 'SUNDAY', end: 'SUNDAY', step: 1 }],
        year: '*',
      },
    ]);
    assert.deepEqual(options.spec.skip, [
      { month: [{ start: 'DECEMBER', end: 'DECEMBER', step: 1 }], dayOfMonth: [{ start: 25, end: 25, step: 1 }] },
    ]);
  });

  void it('maps jitter, startAt and endAt', () => {
    const options = buildScheduleOptions(
      planWith({
        schedule: { cron: '@daily', jitter: '5m', startAt: '2026-01-01T00:00:00Z', endAt: '2026-12-31T00:00:00+01:00' },
      }),
    );
    assert.equal(options.spec.jitter, 300_000);
    assert.deepEqual(options.spec.startAt, new Date('2026-01-01T00:00:00Z'));
    assert.deepEqual(options.spec.endAt, new Date('2026-12-30T23:00:00Z'));
  });

  void it('maps every overlap policy name and pauseOnFailure', () => {
    const expected = {
      skip: 'SKIP',
      'buffer-one': 'BUFFER_ONE',
      'buffer-all': 'BUFFER_ALL',
      'cancel-other': 'CANCEL_OTHER',
      'terminate-other': 'TERMINATE_OTHER',
      'allow-all': 'ALLOW_ALL',
    };
    for (const [name, temporal] of Object.entries(expected)) {
      const options = buildScheduleOptions(
        planWith({ schedule: { every: '1h', overlap: name, pauseOnFailure: true } }),
      );
      assert.equal(options.policies?.overlap, temporal, name);
      assert.equal(options.policies?.pauseOnFailure, true);
    }
    assert.equal(
      buildScheduleOptions(planWith({ schedule: { every: '1h' } })).policies?.overlap,
      'SKIP',
      'default overlap',
    );
  });

  void it('starts pipelineRun on the control queue with the plan and a schedule trigger, labelled for search', () => {
    const plan = planWith({ schedule: { every: '1h' } });
    const { action, memo } = buildScheduleOptions(plan);
    assert.equal(action.workflowType, 'pipelineRun');
    assert.equal(action.taskQueue, 'fineflow-control');
    assert.equal(action.workflowId, 'defects-scheduled');
    assert.equal(action.workflowTaskTimeout, RUN_WORKFLOW_TASK_TIMEOUT_MS, 'the same task timeout as submitted runs');
    assert.deepEqual(action.args, [{ plan, trigger: { kind: 'schedule', scheduleId: 'fineflow-defects' } }]);
    const attributes = (action.typedSearchAttributes as { key: { name: string }; value: unknown }[]).map((p) => [
      p.key.name,
      p.value,
    ]);
    assert.deepEqual(attributes, [
      ['FineflowPipeline', 'defects'],
      ['FineflowStatus', 'running'],
      ['FineflowTrigger', 'schedule'],
    ]);
    assert.deepEqual(buildScheduleOptions(plan, { bucket: 'team-a' }).action.args, [
      { plan, trigger: { kind: 'schedule', scheduleId: 'fineflow-defects' }, bucket: 'team-a' },
    ]);
    assert.equal(action.memo?.planDigest, planDigest(plan));
    assert.deepEqual(action.memo?.params, { dataset: 's3://datasets/defects/', minAccuracy: 0.9 });
    assert.deepEqual(memo, {
      pipeline: 'defects',
      createdWithPlanDigest: planDigest(plan),
      params: { dataset: 's3://datasets/defects/', minAccuracy: 0.9 },
      source: 'pipelines/defects.yaml',
    });
  });

  void it('gives the same apply digest for the same plan, and a new one when a param or the timing changes', () => {
    const base = applyDigestOf(buildScheduleOptions(planWith({ schedule: { every: '1h' } })));
    assert.equal(applyDigestOf(buildScheduleOptions(planWith({ schedule: { every: '1h' } }))), base);
    assert.notEqual(
      applyDigestOf(
        buildScheduleOptions(
          planWith({ schedule: { every: '1h' }, params: { dataset: 's3://d/x/', minAccuracy: 0.95 } }),
        ),
      ),
      base,
    );
    assert.notEqual(applyDigestOf(buildScheduleOptions(planWith({ schedule: { every: '2h' } }))), base);
    assert.notEqual(
      applyDigestOf(buildScheduleOptions(planWith({ schedule: { every: '1h', overlap: 'buffer-one' } }))),
      base,
    );
  });

  void it('a schedule applied before runs had their task timeout does not read as unchanged', () => {
    const options = buildScheduleOptions(planWith({ schedule: { every: '1h' } }));
    const withoutTimeout = sha256Hex(
      canonicalJson({ digest: options.action.memo?.planDigest, spec: options.spec, policies: options.policies }),
    );
    assert.notEqual(applyDigestOf(options), withoutTimeout);
  });

  void it('the plan digest ignores key order and the source path', () => {
    const plan = planWith({ schedule: { every: '1h' } });
    const reordered = { ...plan, source: 'elsewhere.yaml', pipeline: { ...plan.pipeline }, schedule: { every: '1h' } };
    assert.equal(planDigest(reordered), planDigest(plan));
  });

  void it('an update keeps the paused state and note of the existing schedule', () => {
    const options = buildScheduleOptions(planWith({ schedule: { every: '1h', note: 'from yaml' } }));
    const update = scheduleUpdateFor(options, { state: { paused: true, note: 'paused for maintenance' } });
    assert.deepEqual(update.state, { paused: true, note: 'paused for maintenance' });
    assert.equal(update.action, options.action);
    assert.deepEqual(scheduleUpdateFor(options, { state: { paused: false } }).state, {
      paused: false,
      note: 'from yaml',
    });
    assert.equal(appliedDigestOf({ action: options.action }), applyDigestOf(options));
    assert.equal(appliedDigestOf({ action: {} }), undefined);
  });

  void it('paused: true creates the schedule paused', () => {
    assert.deepEqual(buildScheduleOptions(planWith({ schedule: { every: '1h', paused: true } })).state, {
      paused: true,
    });
    assert.deepEqual(buildScheduleOptions(planWith({ schedule: { every: '1h' } })).state, { paused: false });
  });

  void it('schedule ids are fineflow-<pipeline>', () => {
    assert.equal(scheduleIdForPipeline('digits'), 'fineflow-digits');
  });
});

void describe('schedule block errors name the field', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['no timing', { overlap: 'skip' }, 'schedule'],
    ['bad overlap', { every: '1h', overlap: 'sometimes' }, 'schedule.overlap'],
    ['bad duration', { every: '1h', catchupWindow: 'soon' }, 'schedule.catchupWindow'],
    ['sub-second interval', { every: '500ms' }, 'schedule.every'],
    ['bad timestamp', { every: '1h', startAt: 'tomorrow' }, 'schedule.startAt'],
    [
      'end before start',
      { every: '1h', startAt: '2026-02-01T00:00:00Z', endAt: '2026-01-01T00:00:00Z' },
      'schedule.endAt',
    ],
    ['bad calendar field', { calendar: [{ hours: 3 }] }, 'schedule.calendar[0].hours'],
    ['bad pauseOnFailure', { every: '1h', pauseOnFailure: 'yes' }, 'schedule.pauseOnFailure'],
    ['empty cron', { cron: [''] }, 'schedule.cron[0]'],
  ];
  for (const [name, block, path] of cases) {
    void it(name, () => {
      assert.throws(
        () => readScheduleBlock(block as never),
        (error: unknown) => {
          assert.deepEqual(codeAndPath(error), { code: 'invalid-schedule', path });
          return true;
        },
      );
    });
  }

  void it('a bad month name fails in the mapping', () => {
    assert.throws(
      () => temporalCalendar({ month: [{ start: 'SMARCH', end: 'SMARCH', step: 1 }] }),
      /schedule.calendar.month: SMARCH is not a month/,
    );
  });

  void it('a plan without a schedule block cannot become a schedule', () => {
    assert.throws(
      () => buildScheduleOptions(planWith({})),
      (error: unknown) => error instanceof InvalidInputError && error.details.code === 'no-schedule',
    );
  });
});

void describe('newData triggers', () => {
  void it('resolves params in the path, applies defaults and normalises the prefix', () => {
    const plan = planWith({
      triggers: [
        { newData: { path: '${{ params.dataset }}incoming', debounce: '10m' } },
        { other: {} },
        { newData: { path: 's3://b/x/', pollInterval: '5s', overlap: 'skip', debounce: 0, minObjects: 20 } },
      ],
    });
    assert.deepEqual(readNewDataTriggers(plan), [
      {
        index: 0,
        path: 's3://datasets/defects/incoming/',
        debounceMs: 600_000,
        pollIntervalMs: 60_000,
        overlap: 'queue',
        minObjects: 1,
      },
      { index: 2, path: 's3://b/x/', debounceMs: 0, pollIntervalMs: 5000, overlap: 'skip', minObjects: 20 },
    ]);
  });

  void it('maps the spec overlap names onto queue and skip', () => {
    const overlapOf = (overlap: string) =>
      readNewDataTriggers(planWith({ triggers: [{ newData: { path: 's3://b/x/', overlap } }] }))[0]?.overlap;
    assert.equal(overlapOf('buffer-one'), 'queue');
    assert.equal(overlapOf('buffer-all'), 'queue');
    assert.equal(overlapOf('skip'), 'skip');
    assert.throws(() => overlapOf('terminate-other'), /allowed: buffer-one/);
  });

  void it('rejects unknown params, non-s3 paths and bad overlap', () => {
    assert.throws(
      () => readNewDataTriggers(planWith({ triggers: [{ newData: { path: '${{ params.nope }}' } }] })),
      /params.nope/,
    );
    assert.throws(
      () => readNewDataTriggers(planWith({ triggers: [{ newData: { path: '/tmp/data' } }] })),
      /not an s3:\/\/ prefix/,
    );
    assert.throws(
      () => readNewDataTriggers(planWith({ triggers: [{ newData: { path: 's3://b/x/', overlap: 'allow' } }] })),
      /triggers\[0\].newData.overlap/,
    );
  });
});
