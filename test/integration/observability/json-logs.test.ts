/**
 * FINEFLOW_LOG_FORMAT=json on real `fineflow worker` processes: while a pipeline runs on the test
 * stack, every stdout line is one JSON object, and a stage's own log lines arrive with the run
 * id, stage id, stage type, attempt and pool, a retried stage's lines under both attempts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makePlan } from '../../fixtures/runtime/plans';
import { randomSuffix } from '../../fixtures/runtime/harness';
import { startWorkerPair, type WorkerPair } from '../../fixtures/runtime/worker-pair';

const suffix = randomSuffix();
let pair: WorkerPair;

before(async () => {
  pair = await startWorkerPair({ env: { FINEFLOW_LOG_FORMAT: 'json' } });
});
after(() => pair?.close());

test('stage log lines reach stdout as JSON with run id, stage id, type, attempt and pool', async () => {
  const retry = { maxAttempts: 2, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 };
  const runId = await pair.runs.submit(
    makePlan('json-logs', [
      { id: 'echo', pool: pair.pools.cpu, with: { value: `hello-${suffix}` } },
      { id: 'flaky', uses: 'test-flaky', pool: pair.pools.cpu, with: { failTimes: 1 }, retry, needs: ['echo'] },
    ]),
  );
  assert.equal((await pair.runs.result(runId)).status, 'succeeded');
  await pair.cpu.stop('SIGTERM');
  const lines = pair.cpu
    .output()
    .split('\n')
    .filter((line) => line.trim() !== '');
  const records = lines.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      assert.fail(`not a JSON line: ${line}`);
    }
  });
  const ofStage = (stageId: string) => records.filter((r) => r.runId === runId && r.stageId === stageId);
  const echo = ofStage('echo');
  assert.ok(echo.length > 0, 'the echo stage logged');
  for (const record of echo) {
    assert.equal(record.pool, pair.pools.cpu);
    assert.equal(record.stageType, 'test-echo');
    assert.equal(record.attempt, 1);
    assert.equal(record.level, 'info');
    assert.ok(!Number.isNaN(Date.parse(String(record.time))), 'time is a timestamp');
  }
  assert.ok(
    echo.some((r) => /attempt 1 started/.test(String(r.msg))),
    JSON.stringify(echo),
  );
  const flakyAttempts = new Set(ofStage('flaky').map((r) => r.attempt));
  assert.deepEqual([...flakyAttempts].sort(), [1, 2], 'the retried stage logs both attempts');
});
