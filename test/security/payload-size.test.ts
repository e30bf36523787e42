/**
 * Attack class: a stage that returns more than Temporal accepts (2 MB). Refused by the server, the
 * completion would look like a timeout and be retried; instead the stage runner fails it at once,
 * non-retryably, saying why and what to do. Runs the real stage runner in Temporal's
 * MockActivityEnvironment (no server needed to check the runner's own refusal).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_STAGE_RESULT_BYTES, type StageImplementation } from '../../activities/stage-runner';
import { memoryStore, runStage, stageContext, stageFailure } from '../unit/activities/helpers';

test('a stage result over the payload cap fails non-retryably with the reason; one under it passes', async () => {
  const returning =
    (size: number): StageImplementation =>
    async () => ({ outputs: { blob: 'x'.repeat(size) }, artifacts: [] });
  const store = memoryStore();
  const failure = await stageFailure(runStage('echo', returning(3 * 1024 * 1024), store, stageContext('big'), {}));
  assert.equal(failure.type, 'FineflowResourceLimit');
  assert.equal(failure.nonRetryable, true);
  assert.match(
    failure.message,
    /stage big \(echo\) returned \d+ bytes of outputs; Temporal refuses payloads over 2 MB.*s3:\/\/ URI/,
  );
  const { result } = await runStage('echo', returning(MAX_STAGE_RESULT_BYTES - 1024), store, stageContext('fits'), {});
  assert.equal(String(result.outputs.blob).length, MAX_STAGE_RESULT_BYTES - 1024);
});
