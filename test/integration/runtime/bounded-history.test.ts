/**
 * Bounded histories (issue 13): live progress stays out of the run's workflow history, so a stage
 * that reports progress for 48 hours adds O(1) events. Real Temporal dev server and MinIO.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunState } from '../../../src/core/run/run-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';

/** Events of every execution of a run (a continued-as-new run has several). */
async function historyEvents(h: RuntimeHarness, runId: string): Promise<number> {
  const history = await h.client.workflow.getHandle(runId).fetchHistory();
  return history.events?.length ?? 0;
}

void describe('bounded histories (Temporal + MinIO)', () => {
  let h: RuntimeHarness;
  const chatty = `chatty-${randomSuffix()}`;

  before(async () => {
    h = await startRuntimeHarness({ cpuWorker: false });
    // Heartbeats (and progress) reach Temporal every 200 ms: a long stage compressed into seconds.
    await h.addWorker({ pool: chatty, progressIntervalMs: 200 });
  });

  after(async () => {
    await h?.close();
  });

  void it(
    'a stage that reports progress 60 times adds no more events than one that reports once',
    {
      timeout: 120_000,
    },
    async () => {
      const run = async (steps: number, onState?: (state: RunState) => void): Promise<number> => {
        const plan = h.plan(`progress-${steps}`, [{ id: 'long', pool: chatty, with: { sleepMs: 6_000, steps } }]);
        const runId = await h.runs.submit(plan);
        if (onState) await h.runs.watch(runId, onState, { intervalMs: 250 });
        const result = await h.runs.result(runId);
        assert.equal(result.status, 'succeeded');
        return historyEvents(h, runId);
      };
      const seen = new Set<string>();
      const many = await run(60, (state) => {
        const message = state.stages[0]?.progress?.message;
        if (message) seen.add(message);
      });
      const once = await run(1);
      // The client still sees live progress (from the heartbeat), step after step.
      assert.ok(seen.size >= 5, `progress seen while running: ${[...seen].join(', ')}`);
      assert.equal(many, once, `history events: ${many} with 60 progress reports, ${once} with 1`);
    },
  );
});
