/** pipelines/scheduled-retrain.yaml is what `fineflow schedule apply` runs: it must compile and map. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { readNewDataTriggers } from '../../../src/schedules/schedule-block';
import { buildScheduleOptions } from '../../../src/schedules/schedules';
import { compilePlan } from '../../../src/spec/compile';

void it('pipelines/scheduled-retrain.yaml becomes a nightly Berlin-time schedule and one new-data watcher', () => {
  const file = path.resolve(__dirname, '../../../pipelines/scheduled-retrain.yaml');
  const compiled = compilePlan(readFileSync(file, 'utf8'), 'pipelines/scheduled-retrain.yaml');
  assert.deepEqual(
    compiled.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const plan = compiled.plan;
  assert.ok(plan);
  const options = buildScheduleOptions(plan);
  assert.equal(options.scheduleId, 'fineflow-defect-retrain');
  assert.deepEqual(options.spec, { cronExpressions: ['0 3 * * *'], timezone: 'Europe/Berlin', jitter: 300_000 });
  assert.deepEqual(options.policies, { overlap: 'SKIP', catchupWindow: 21_600_000, pauseOnFailure: true });
  assert.equal(options.action.workflowType, 'pipelineRun');
  assert.deepEqual(readNewDataTriggers(plan), [
    {
      index: 0,
      path: 's3://datasets/defects/',
      debounceMs: 600_000,
      pollIntervalMs: 60_000,
      overlap: 'queue',
      minObjects: 20,
    },
  ]);
  // The retrain ends in the champion gate: register runs only when evaluate passed.
  const register = plan.stages.find((s) => s.uses === 'register-model');
  assert.equal(register?.when, '${{ stages.evaluate.outputs.passed }}');
  assert.equal(plan.stages.find((s) => s.uses === 'evaluate')?.with.baseline, 'registry://defect-detector@champion');
});
