/**
 * A sweep with `parallelism: 2` on a pool of one slot (a `fineflow worker --concurrency 1`): the second trial's
 * activity waits in the queue while the first trains. The run's progress for the stage, `status`'s trial table and
 * the `sweepState` query say so (`1 running, 1 waiting for a worker`); before, every trial the sweep had started
 * counted as running (`2 running`) although one slot never trains two. Real Temporal dev server and MinIO.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SegmentRecord } from '../../../src/core/sweep/sweep-types';
import { sweepTrialTables } from '../../../src/client/sweep-trials-lookup';
import { renderTrialTable } from '../../../src/client/sweep-trial-table';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { loanSweepPlan } from '../../fixtures/runtime/loan-sweep';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';

void describe('a sweep with parallelism 2 on a pool of one slot (Temporal + MinIO)', () => {
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

  void it('reads 1 running, 1 waiting for a worker, never 2 running', { timeout: 240_000 }, async () => {
    const plan = await loanSweepPlan(h, { name: 'sweep-waiting-for-worker', hiddenUnits: [4, 6, 8], trialsPool: pool });
    worker = await spawnWorker({ pool, concurrency: 1 });
    const runId = await h.runs.submit(plan);

    // What `submit --watch` and `status` show while the sweep runs: its progress line and trial table's header.
    const messages = new Set<string>();
    const tables = new Set<string>();
    let ended = false;
    const result = h.runs.result(runId).finally(() => {
      ended = true;
    });
    while (!ended) {
      const state = await h.runs.state(runId).catch(() => undefined);
      const stage = state?.stages.find((s) => s.id === 'sweep');
      if (stage?.progress?.message !== undefined) messages.add(stage.progress.message);
      if (state && stage?.status === 'running') {
        for (const table of await sweepTrialTables(h.client, h.store, h.config.s3.bucket, state)) {
          if (table.source === 'live') tables.add(renderTrialTable(table, 200).split('\n')[0] ?? '');
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const run = await result;
    assert.equal(run.status, 'succeeded', JSON.stringify(run.stages));

    // One slot: the trials never overlapped.
    const outputs = run.stages.find((s) => s.id === 'sweep')?.outputs ?? {};
    const record = await h.store.getJson<{ segments: SegmentRecord[] }>(String(outputs.results));
    const overlapping = record.segments.some((a) =>
      record.segments.some((b) => a !== b && a.startedAtMs < b.endedAtMs && b.startedAtMs < a.endedAtMs),
    );
    assert.ok(!overlapping, JSON.stringify(record.segments));

    const shown = [...messages].join('\n');
    assert.ok(
      [...messages].some((message) => /^trials \d\/3 done \(1 running, 1 waiting for a worker, /.test(message)),
      shown,
    );
    assert.ok(![...messages].some((message) => message.includes('(2 running')), shown);
    const headers = [...tables].join('\n');
    assert.ok(
      [...tables].some((header) => /1 running, 1 waiting for a worker|1 waiting for a worker, 1 running/.test(header)),
      headers,
    );
    assert.ok(![...tables].some((header) => header.includes('2 running')), headers);
  });
});
