/**
 * Prometheus scrape of real `fineflow worker` processes (`--metrics`) while a pipeline runs on
 * the test stack: the stage gauge shows the running stage, and afterwards durations, attempts
 * by error type, queue wait, cache hit/miss counters, store requests and the Temporal SDK's own
 * metrics are on the page with the labels the Grafana dashboard queries (and only those labels:
 * no run or stage ids). The dashboard's every metric name must be on a real page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunClient } from '../../../src/client/run-client';
import { makePlan } from '../../fixtures/runtime/plans';
import { randomSuffix } from '../../fixtures/runtime/harness';
import type { WorkerProcess } from '../../fixtures/runtime/worker-process';
import { startWorkerPair, type WorkerPair } from '../../fixtures/runtime/worker-pair';
import { dashboardMetricNames, parsePrometheusText, type PromSample } from '../../helpers/prometheus';

const suffix = randomSuffix();
let pair: WorkerPair;
let pools: WorkerPair['pools'];
let runs: RunClient;
let control: WorkerProcess;
let cpu: WorkerProcess;

before(async () => {
  pair = await startWorkerPair({ cpuConcurrency: 3, extraArgs: ['--metrics', '127.0.0.1:0'] });
  ({ pools, runs, control, cpu } = pair);
});
after(() => pair?.close());

async function scrape(worker: WorkerProcess): Promise<PromSample[]> {
  const url = worker.ready.metrics;
  assert.equal(typeof url, 'string', `the ready line names the metrics URL: ${JSON.stringify(worker.ready)}`);
  const response = await fetch(url as string);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  return parsePrometheusText(await response.text());
}

function value(samples: readonly PromSample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const retry = { maxAttempts: 2, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 };

function plan(token: string) {
  return makePlan('metrics-scrape', [
    { id: 'cached', pool: pools.cpu, with: { value: token }, cache: { enabled: true } },
    {
      id: 'slow',
      pool: pools.cpu,
      with: { value: 1, sleepMs: 2_500, steps: 5, reportEpochs: true },
      needs: ['cached'],
    },
    { id: 'flaky', uses: 'test-flaky', pool: pools.cpu, with: { failTimes: 1 }, retry, needs: ['cached'] },
  ]);
}

test('counters move during and after a run, with the dashboard labels and bounded cardinality', async () => {
  const before = await scrape(cpu);
  const beforeEcho = value(before, 'fineflow_stage_attempts_total', { stage_type: 'test-echo', outcome: 'succeeded' });
  const token = `metrics-${suffix}`;

  const first = await runs.submit(plan(token));
  // During the run: the slow stage shows in the running gauge of its pool.
  let during: PromSample[] = [];
  for (let i = 0; i < 200; i++) {
    const state = await runs.state(first);
    if (state.stages.find((s) => s.id === 'slow')?.progress) {
      during = await scrape(cpu);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(value(during, 'fineflow_stages_running', { stage_type: 'test-echo', pool: pools.cpu }), 1);
  assert.equal((await runs.result(first)).status, 'succeeded');
  const second = await runs.submit(plan(token));
  const result = await runs.result(second);
  assert.equal(result.status, 'succeeded');
  assert.match(result.stages.find((s) => s.id === 'cached')?.reason ?? '', /cache hit/);

  const stages = await scrape(cpu);
  // 2 runs × (cached once + slow) test-echo successes; test-flaky failed once per run, then succeeded.
  assert.equal(
    value(stages, 'fineflow_stage_attempts_total', { stage_type: 'test-echo', outcome: 'succeeded' }) - beforeEcho,
    3,
  );
  assert.equal(
    value(stages, 'fineflow_stage_attempts_total', {
      stage_type: 'test-flaky',
      outcome: 'failed',
      error_type: 'FineflowInternal',
    }),
    2,
  );
  assert.equal(
    value(stages, 'fineflow_stage_duration_seconds_count', {
      stage_type: 'test-echo',
      outcome: 'succeeded',
      pool: pools.cpu,
    }),
    3,
  );
  const slowBucket = value(stages, 'fineflow_stage_duration_seconds_bucket', {
    stage_type: 'test-echo',
    outcome: 'succeeded',
    le: '1',
  });
  assert.equal(slowBucket, 1, 'the cached stage took under 1 s, the two 2.5 s stages did not');
  assert.equal(value(stages, 'fineflow_stage_queue_wait_seconds_count', { stage_type: 'test-flaky' }), 4);
  assert.equal(value(stages, 'fineflow_worker_activity_slots', { pool: pools.cpu }), 3);
  assert.equal(value(stages, 'fineflow_training_epochs_total', { stage_type: 'test-echo' }), 10, '5 steps × 2 runs');
  assert.equal(value(stages, 'fineflow_training_samples_per_second', { stage_type: 'test-echo' }), 2);
  assert.ok(value(stages, 'fineflow_object_store_requests_total', { operation: 'put', outcome: 'ok' }) >= 8, 'logs');
  assert.ok(value(stages, 'fineflow_object_store_bytes_total', { direction: 'in' }) > 0);

  const runtime = await scrape(control);
  assert.equal(value(runtime, 'fineflow_cache_lookups_total', { stage_type: 'test-echo', result: 'miss' }), 1);
  assert.equal(value(runtime, 'fineflow_cache_lookups_total', { stage_type: 'test-echo', result: 'hit' }), 1);
  // The SDK's metrics ride on the same page: workflow tasks ran on the control worker.
  assert.ok(value(runtime, 'temporal_workflow_task_execution_latency_count') > 0, 'SDK metrics appended');

  for (const page of [stages, runtime]) {
    // Node's process metrics (fineflow_process_*, fineflow_nodejs_*) carry prom-client's fixed labels.
    const own = page.filter((s) => /^fineflow_(?!process_|nodejs_)/.test(s.name));
    const labelNames = new Set(own.flatMap((s) => Object.keys(s.labels)));
    const allowed = ['pool', 'stage_type', 'outcome', 'error_type', 'result', 'operation', 'direction', 'le'];
    assert.deepEqual(
      [...labelNames].filter((l) => !allowed.includes(l)),
      [],
    );
    const text = JSON.stringify(page);
    for (const id of [first, second, 'slow', 'flaky'])
      assert.ok(!text.includes(`"${id}"`), `${id} is not a label value`);
  }

  // Every metric the dashboard queries exists on a real page (histograms by their _bucket series).
  const onPages = new Set([...stages, ...runtime].map((s) => s.name));
  const dashboard = JSON.parse(readFileSync(path.resolve(__dirname, '../../../infra/grafana/fineflow.json'), 'utf8'));
  const missing = dashboardMetricNames(dashboard).filter(
    (name) => !onPages.has(name) && !name.startsWith('fineflow_ui_'),
  );
  assert.deepEqual(missing, [], 'dashboard metrics missing from the scrape');
});

test('the metrics listener answers the Kubernetes probes: live and ready while the worker polls', async () => {
  const base = String(cpu.ready.metrics).replace(/\/metrics$/, '');
  for (const probe of ['/healthz', '/readyz']) {
    const response = await fetch(`${base}${probe}`);
    assert.equal(response.status, 200, probe);
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(body, { ok: true, pool: pools.cpu, state: 'RUNNING', live: true, ready: true }, probe);
  }
  assert.equal((await fetch(`${base}/nothing`)).status, 404);
});
