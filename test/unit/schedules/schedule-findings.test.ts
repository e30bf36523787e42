/** Issue 19's schedule findings that need no server: human durations, the catch-up floor, the trigger line of `status`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderRunState } from '../../../src/client/render';
import type { RunState } from '../../../src/core/run/run-types';
import { compilePlan } from '../../../src/spec';
import { formatHumanDuration } from '../../../src/core/spec/durations';

void describe('schedule findings', () => {
  void it('durations print in human units', () => {
    assert.equal(formatHumanDuration(365 * 86_400_000), '1 year', "Temporal's default catch-up window, not 52w1d");
    assert.equal(formatHumanDuration(536_315), '8m 56s', 'a backfilled run, not +536315 ms');
    assert.equal(formatHumanDuration(90_000_000), '1d 1h');
    assert.equal(formatHumanDuration(3_600_000), '1h');
    assert.equal(formatHumanDuration(1500), '1.5 s');
    assert.equal(formatHumanDuration(40), '40 ms');
    assert.equal(formatHumanDuration(-2000), '-2 s');
  });

  void it('a catchupWindow below Temporal’s 10 s floor is refused at validate, with its position', () => {
    const yaml = (window: string) => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: c}
schedule:
  cron: "0 3 * * *"
  catchupWindow: ${window}
stages:
  a: {uses: register-model, with: {model: "s3://b/m/", name: m}}
`;
    const bad = compilePlan(yaml('5s'), 'c.yaml').diagnostics.find((d) => d.path === 'schedule.catchupWindow');
    assert.equal(bad?.code, 'bad-value');
    assert.deepEqual([bad?.line, bad?.column], [6, 18]);
    assert.match(bad?.message ?? '', /below Temporal's minimum of 10s/);
    assert.equal(
      compilePlan(yaml('10s'), 'c.yaml').diagnostics.find((d) => d.path === 'schedule.catchupWindow'),
      undefined,
    );
  });

  void it('status shows the trigger and dataset version without --json', () => {
    const state: RunState = {
      runId: 'r',
      pipeline: 'p',
      status: 'running',
      trigger: { kind: 'new-data', watcherId: 'w', path: 's3://datasets/d/', datasetVersion: 'f'.repeat(64) },
      startedAt: '2026-01-01T00:00:00.000Z',
      stages: [],
      params: {},
    };
    const text = renderRunState(state, new Date('2026-01-01T00:00:01.000Z'));
    assert.match(text, new RegExp(`trigger: new data at s3://datasets/d/ \\(dataset version ${'f'.repeat(64)}\\)`));
    assert.match(
      renderRunState({ ...state, trigger: { kind: 'manual', scheduleId: 'fineflow-p' } }),
      /trigger: manual trigger of schedule fineflow-p/,
    );
  });
});
