/**
 * The control worker's activation limit rides on an option the SDK reads but does not type
 * (src/worker/run-worker.ts): this fails if an SDK upgrade stops passing it through, which would
 * bring back the 5 s limit that failed the first task of a 1,000-stage fan-out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultLogger } from '@temporalio/worker';
import { noopMetricMeter } from '@temporalio/common/lib/metrics';
import { compileWorkerOptions } from '@temporalio/worker/lib/worker-options';
import { WORKFLOW_ACTIVATION_TIMEOUT_MS, untypedWorkerOptions } from '../../../src/worker/run-worker';
import { RUN_WORKFLOW_TASK_TIMEOUT_MS } from '../../../src/core/run/run-types';

test('the SDK takes the control worker activation limit, and it stays below the runs’ task timeout', () => {
  const base = { taskQueue: 'fineflow-control', workflowsPath: __filename };
  const logger = new DefaultLogger('ERROR');
  const compiled = compileWorkerOptions(
    { ...base, ...untypedWorkerOptions({ isolateExecutionTimeout: WORKFLOW_ACTIVATION_TIMEOUT_MS }) },
    logger,
    noopMetricMeter,
  );
  assert.equal(compiled.isolateExecutionTimeoutMs, WORKFLOW_ACTIVATION_TIMEOUT_MS);
  assert.equal(compileWorkerOptions(base, logger, noopMetricMeter).isolateExecutionTimeoutMs, 5_000, 'SDK default');
  assert.ok(WORKFLOW_ACTIVATION_TIMEOUT_MS < RUN_WORKFLOW_TASK_TIMEOUT_MS);
});
