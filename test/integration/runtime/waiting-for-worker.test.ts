/**
 * A stage on a pool with no worker: the run's state says `waiting for a worker on pool X`
 * instead of an unexplained `running`, and clears once a worker of that pool picks it up.
 * Real Temporal dev server and MinIO, in-process workers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunClient } from '../../../src/client/run-client';
import { waitingForWorkerReason } from '../../../src/client/worker-presence';
import type { RunState } from '../../../src/core/run/run-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';

async function stateUntil(
  runs: RunClient,
  runId: string,
  done: (state: RunState) => boolean,
  timeoutMs: number,
): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await runs.state(runId);
    if (done(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out; last state ${JSON.stringify(state.stages)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

void describe('a stage whose pool has no worker (Temporal + MinIO)', () => {
  let h: RuntimeHarness;
  const lonely = `lonely-${randomSuffix()}`;

  before(async () => {
    h = await startRuntimeHarness({ cpuWorker: false });
  });

  after(async () => {
    await h?.close();
  });

  void it(
    'says which pool it waits for, until a worker of that pool takes the stage',
    { timeout: 90_000 },
    async () => {
      const plan = h.plan(lonely, [{ id: 'only', uses: 'test-echo', pool: lonely, with: { value: 'hello' } }]);
      const runId = await h.runs.submit(plan);
      const waiting = await stateUntil(
        h.runs,
        runId,
        (s) => s.stages[0]?.status === 'running' && s.stages[0]?.reason !== undefined,
        20_000,
      );
      assert.equal(waiting.stages[0]?.reason, waitingForWorkerReason(lonely));

      await h.addWorker({ pool: lonely });
      const result = await h.runs.result(runId);
      assert.equal(result.status, 'succeeded');
      assert.equal(result.stages[0]?.reason, undefined, 'the note lives only in the client view, never in the run');
    },
  );
});
