/**
 * The `pipelineRun` workflow re-validates the plan it is given: a hand-made plan (submitted
 * without the CLI's checks) whose `uses:` names a worker's runtime activity is refused with a
 * non-retryable error before any activity is scheduled (issue 12 item 8).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ERROR_TYPES } from '../../src/core/errors';
import { startRuntimeHarness, type RuntimeHarness } from '../fixtures/runtime/harness';

let h: RuntimeHarness;
before(async () => {
  h = await startRuntimeHarness();
});
after(async () => {
  await h?.close();
});

void it('a plan whose uses: names a runtime activity fails at once, non-retryable, with nothing scheduled', async () => {
  const plan = h.plan('uses-check', [{ id: 'sneaky', uses: 'lookupStageCache', with: { stage: 'x' } }]);
  const runId = await h.runs.submit(plan);
  const failure = await h.client.workflow
    .getHandle(runId)
    .result()
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  assert.ok(failure instanceof WorkflowFailedError);
  assert.ok(failure.cause instanceof ApplicationFailure);
  assert.equal(failure.cause.type, ERROR_TYPES.invalidInput);
  assert.equal(failure.cause.nonRetryable, true);
  assert.match(
    failure.cause.message,
    /stages\.sneaky\.uses: `lookupStageCache` is not a registered stage type \[plan-unknown-stage-type\]/,
  );
  const events = (await h.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  assert.equal(events.filter((event) => event.activityTaskScheduledEventAttributes).length, 0);
});
