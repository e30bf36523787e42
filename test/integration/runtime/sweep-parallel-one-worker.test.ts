/**
 * A sweep with `parallelism: 2` on a single worker of its pool (a `fineflow worker` with the CLI's default
 * concurrency, as loan-default runs on one cpu worker): two trials train at once, and the run's progress for the
 * stage says so (`2 running`). Before, the sweep told the run how far it was between a trial's end and the next
 * trial's start, so every report counted one trial fewer than ran, and a user watching `submit --watch` read
 * `(1 running, …)` throughout. Real Temporal dev server and MinIO.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SegmentRecord } from '../../../src/core/sweep/sweep-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { loanSweepPlan } from '../../fixtures/runtime/loan-sweep';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';

void describe('a sweep with parallelism 2 on one worker (Temporal + MinIO)', () => {
  let h: RuntimeHarness;
  let worker: WorkerProcess | undefined;
  const pool = `trials-${randomSuffix()}`;

  before(async () => {
    h = await startRuntimeHarness();
  });

  after(async () => {
    await worker?.stop();
    await h?.close();
  });

  void it('trains two trials at once, and the run reads 2 running while they do', { timeout: 240_000 }, async () => {
    const plan = await loanSweepPlan(h, {
      name: 'sweep-parallel-one-worker',
      hiddenUnits: [4, 6, 8, 10],
      trialsPool: pool,
    });
    // One worker, with `fineflow worker`'s default of 4 stages at once.
    worker = await spawnWorker({ pool, concurrency: 4 });
    const runId = await h.runs.submit(plan);

    // What `submit --watch` and `status` show for the stage while it runs, every message once.
    const seen = new Set<string>();
    let ended = false;
    const result = h.runs.result(runId).finally(() => {
      ended = true;
    });
    while (!ended) {
      const state = await h.runs.state(runId).catch(() => undefined);
      const message = state?.stages.find((s) => s.id === 'sweep')?.progress?.message;
      if (message !== undefined) seen.add(message);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const run = await result;
    assert.equal(run.status, 'succeeded', JSON.stringify(run.stages));

    // The trials really overlapped on the one worker.
    const outputs = run.stages.find((s) => s.id === 'sweep')?.outputs ?? {};
    const record = await h.store.getJson<{ segments: SegmentRecord[] }>(String(outputs.results));
    assert.equal(new Set(record.segments.map((segment) => segment.worker)).size, 1);
    const overlapping = record.segments.some((a) =>
      record.segments.some((b) => a !== b && a.startedAtMs < b.endedAtMs && b.startedAtMs < a.endedAtMs),
    );
    assert.ok(overlapping, JSON.stringify(record.segments));
    // And the run said so.
    assert.ok(
      [...seen].some((message) => /^trials \d\/4 done \(2 running, /.test(message)),
      [...seen].join('\n'),
    );
  });
});
