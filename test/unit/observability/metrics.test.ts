import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createFineflowMetrics, errorTypeLabel } from '../../../src/observability/metrics';
import { instrumentStore } from '../../../src/observability/instrumented-store';
import { createUiMetrics } from '../../../src/observability/ui-metrics';
import { startMetricsServer } from '../../../src/observability/metrics-server';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import { parseListenAddress } from '../../../src/config';

/**
 * The value of the sample `name{labels}` in a Prometheus text page, labels compared as a set (prom-client puts
 * default labels first or last depending on the metric type), or undefined.
 */
function sample(text: string, series: string): number | undefined {
  const parse = (s: string): { name: string; labels: string[] } => {
    const brace = s.indexOf('{');
    if (brace < 0) return { name: s, labels: [] };
    return {
      name: s.slice(0, brace),
      labels: s
        .slice(brace + 1, s.lastIndexOf('}'))
        .split(/,(?=\w+=")/)
        .sort(),
    };
  };
  const wanted = parse(series);
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const space = line.lastIndexOf(' ');
    const got = parse(line.slice(0, space));
    if (got.name === wanted.name && got.labels.join(',') === wanted.labels.join(','))
      return Number(line.slice(space + 1));
  }
  return undefined;
}

test('a stage attempt records its duration, outcome, queue wait and running gauge with bounded labels', async () => {
  const metrics = createFineflowMetrics({ pool: 'cpu', slots: 4, processMetrics: false });
  const attempt = metrics.stageStarted('fine-tune', 0.25);
  let text = await metrics.text();
  assert.equal(sample(text, 'fineflow_stages_running{pool="cpu",stage_type="fine-tune"}'), 1);
  assert.equal(sample(text, 'fineflow_worker_activity_slots{pool="cpu"}'), 4);
  attempt.end('failed', 'FineflowDependencyUnavailable');
  attempt.end('succeeded'); // a second end is ignored
  text = await metrics.text();
  assert.equal(sample(text, 'fineflow_stages_running{pool="cpu",stage_type="fine-tune"}'), 0);
  assert.equal(
    sample(
      text,
      'fineflow_stage_attempts_total{stage_type="fine-tune",outcome="failed",error_type="FineflowDependencyUnavailable",pool="cpu"}',
    ),
    1,
  );
  assert.equal(
    sample(text, 'fineflow_stage_duration_seconds_count{stage_type="fine-tune",outcome="failed",pool="cpu"}'),
    1,
  );
  assert.equal(sample(text, 'fineflow_stage_queue_wait_seconds_bucket{le="0.1",stage_type="fine-tune",pool="cpu"}'), 0);
  assert.equal(
    sample(text, 'fineflow_stage_queue_wait_seconds_bucket{le="0.25",stage_type="fine-tune",pool="cpu"}'),
    1,
  );
  assert.doesNotMatch(text, /outcome="succeeded"/, 'the ignored second end recorded nothing');
});

test('error types outside Fineflow collapse to `other`, so a stage module cannot mint label values', () => {
  assert.equal(errorTypeLabel('FineflowInvalidInput'), 'FineflowInvalidInput');
  assert.equal(errorTypeLabel('MyRandomError-1234'), 'other');
  assert.equal(errorTypeLabel(undefined), 'other');
});

test('training progress sets samples/s and counts each new epoch once (a resumed attempt counts only its own)', async () => {
  const metrics = createFineflowMetrics({ processMetrics: false });
  const attempt = metrics.stageStarted('fine-tune', 0);
  attempt.progress({ epoch: 0 });
  attempt.progress({ epoch: 6, samplesPerSecond: 120.5 }); // resumed from a checkpoint at epoch 5
  attempt.progress({ epoch: 6, samplesPerSecond: 130 }); // the same epoch again (heartbeat)
  attempt.progress({ epoch: 7, samplesPerSecond: Number.NaN });
  attempt.progress({ epoch: 'x' });
  attempt.progress(undefined);
  const text = await metrics.text();
  assert.equal(sample(text, 'fineflow_training_epochs_total{stage_type="fine-tune"}'), 2);
  assert.equal(sample(text, 'fineflow_training_samples_per_second{stage_type="fine-tune"}'), 130);
});

test('the instrumented store counts requests, errors by type and bytes both ways', async () => {
  const metrics = createFineflowMetrics({ processMetrics: false });
  const store = instrumentStore(createMemoryObjectStore(), metrics);
  await store.ensureBucket('bkt');
  await store.putBytes('s3://bkt/a.txt', 'hello');
  await store.putStream('s3://bkt/s.bin', Readable.from([Buffer.alloc(1000)]));
  assert.equal((await store.getBytes('s3://bkt/a.txt')).toString(), 'hello');
  await assert.rejects(store.getBytes('s3://bkt/missing'));
  assert.equal(await store.stat('s3://bkt/missing'), undefined);
  const text = await metrics.text();
  assert.equal(sample(text, 'fineflow_object_store_requests_total{operation="put",outcome="ok",error_type="none"}'), 2);
  assert.equal(sample(text, 'fineflow_object_store_requests_total{operation="get",outcome="ok",error_type="none"}'), 1);
  assert.equal(
    sample(text, 'fineflow_object_store_requests_total{operation="get",outcome="error",error_type="FineflowNotFound"}'),
    1,
  );
  assert.equal(
    sample(text, 'fineflow_object_store_requests_total{operation="stat",outcome="ok",error_type="none"}'),
    1,
  );
  assert.equal(sample(text, 'fineflow_object_store_bytes_total{direction="in"}'), 1005);
  assert.equal(sample(text, 'fineflow_object_store_bytes_total{direction="out"}'), 5);
});

test('cache lookups are counted by stage type and result', async () => {
  const metrics = createFineflowMetrics({ processMetrics: false });
  metrics.cacheLookup('prepare-data', 'hit');
  metrics.cacheLookup('prepare-data', 'hit');
  metrics.cacheLookup('prepare-data', 'miss');
  const text = await metrics.text();
  assert.equal(sample(text, 'fineflow_cache_lookups_total{stage_type="prepare-data",result="hit"}'), 2);
  assert.equal(sample(text, 'fineflow_cache_lookups_total{stage_type="prepare-data",result="miss"}'), 1);
});

test('ui metrics label requests by route pattern and count open event streams', async () => {
  const ui = createUiMetrics();
  ui.request('GET', '/api/runs/:id', 200, 0.01);
  ui.request('DELETE', '/api/runs/:id', 404, 0.01);
  const close = ui.streamOpened();
  let text = await ui.text();
  assert.equal(sample(text, 'fineflow_ui_requests_total{method="GET",route="/api/runs/:id",status="200"}'), 1);
  assert.equal(sample(text, 'fineflow_ui_requests_total{method="other",route="/api/runs/:id",status="404"}'), 1);
  assert.equal(sample(text, 'fineflow_ui_event_streams'), 1);
  close();
  close();
  text = await ui.text();
  assert.equal(sample(text, 'fineflow_ui_event_streams'), 0);
  assert.match(text, /fineflow_process_resident_memory_bytes|fineflow_nodejs_heap_size_used_bytes/);
});

test('listen addresses parse host:port and IPv6, and a bad one names the variable and an example', () => {
  assert.deepEqual(parseListenAddress('0.0.0.0:9464', 'X'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseListenAddress('[::1]:0', 'X'), { host: '::1', port: 0 });
  assert.throws(
    () => parseListenAddress('9464', 'FINEFLOW_METRICS_ADDRESS'),
    /FINEFLOW_METRICS_ADDRESS=9464.*127\.0\.0\.1:9464/,
  );
  assert.throws(() => parseListenAddress('h:70000', 'X'), /host:port/);
});

test('a draining worker is live but not ready; a failed one is neither; without health the probes are 404', async () => {
  const metrics = createFineflowMetrics({ pool: 'cpu', slots: 1 });
  let state = { live: true, ready: false, state: 'DRAINING', pool: 'cpu' };
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics, health: () => state });
  const bare = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics });
  try {
    const probe = async (base: string, path: string) => (await fetch(base.replace(/\/metrics$/, path))).status;
    assert.equal(await probe(server.url, '/healthz'), 200);
    assert.equal(await probe(server.url, '/readyz'), 503);
    state = { live: false, ready: false, state: 'FAILED', pool: 'cpu' };
    assert.equal(await probe(server.url, '/healthz'), 503);
    assert.equal(await probe(bare.url, '/readyz'), 404);
    assert.equal(await probe(server.url, '/metrics'), 200);
  } finally {
    await server.close();
    await bare.close();
  }
});
