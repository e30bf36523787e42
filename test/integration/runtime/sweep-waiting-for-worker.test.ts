/**
 * A sweep with `parallelism: 2` on a pool of one slot (a `fineflow worker --concurrency 1`): the second trial's
 * activity waits in the queue while the first trains. The run's progress for the stage, `status`'s trial table and
 * the `sweepState` query say so (`1 running, 1 waiting for a worker`); before, every trial the sweep had started
 * counted as running (`2 running`) although one slot never trains two. Real Temporal dev server and MinIO.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SegmentRecord } from '../../../src/core/sweep/sweep-types';
import type { Plan } from '../../../src/core/spec/plan-types';
import { compilePlan } from '../../../src/spec/compile';
import { sweepTrialTables } from '../../../src/client/sweep-trials-lookup';
import { renderTrialTable } from '../../../src/client/sweep-trial-table';
import { generateLoans, pushLoanCsv } from '../../e2e/helpers/example-data';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';

const PIPELINE = `
apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: sweep-waiting-for-worker}
params:
  dataset: s3://datasets/loans/
defaults: {pool: cpu, onFailure: fail}
stages:
  prepare:
    uses: prepare-data
    with:
      source: \${{ params.dataset }}
      format: csv
      labelColumn: default
      split: {train: 0.7, validation: 0.15, test: 0.15, stratify: true, seed: 1}
  sweep:
    uses: hyperparameter-sweep
    pool: trials
    with:
      data: \${{ stages.prepare.outputs.dataset }}
      objective: {metric: validation.loss, goal: minimize}
      algorithm: grid
      maxTrials: 3
      parallelism: 2
      trial: {architecture: mlp, epochs: 30, batchSize: 8, learningRate: 0.01, seed: 3}
      space:
        hiddenUnits: {choice: [4, 6, 8]}
`;

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
    const dataset = `s3://${h.config.s3.bucket}/datasets/waiting-${randomSuffix()}/`;
    await pushLoanCsv(h.store, `${dataset}loans.csv`, generateLoans(300, 42));
    const compiled = compilePlan(PIPELINE, 'sweep-waiting-for-worker.yaml', { set: { dataset } });
    assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
    const pools: Record<string, string> = { cpu: h.pools.cpu, trials: pool };
    const plan: Plan = {
      ...compiled.plan,
      stages: compiled.plan.stages.map((stage) => ({ ...stage, pool: pools[stage.pool] ?? stage.pool })),
    };
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
