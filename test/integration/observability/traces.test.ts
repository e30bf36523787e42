/**
 * OpenTelemetry traces from real `fineflow worker` processes, exported over OTLP/HTTP to a small
 * receiver of this test (FINEFLOW_TEST_OTLP_PORT, default 11731): a run of two stages, the second
 * retried once, gives one trace RunWorkflow:pipelineRun → StartActivity:<type> per stage →
 * RunActivity:<type> per attempt, with Fineflow's ids as attributes and no stage input in any span.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { makePlan } from '../../fixtures/runtime/plans';
import { randomSuffix } from '../../fixtures/runtime/harness';
import { startWorkerPair, type WorkerPair } from '../../fixtures/runtime/worker-pair';

interface OtlpValue {
  readonly stringValue?: string;
  readonly intValue?: number | string;
}
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly attributes?: readonly { key: string; value: OtlpValue }[];
  readonly status?: { code?: number };
}
interface OtlpBody {
  readonly resourceSpans: readonly {
    resource?: { attributes?: readonly { key: string; value: OtlpValue }[] };
    scopeSpans: readonly { spans: readonly OtlpSpan[] }[];
  }[];
}

const PORT = Number(process.env.FINEFLOW_TEST_OTLP_PORT ?? 11731);
const suffix = randomSuffix();
const secretish = `input-value-${suffix}`;
const bodies: string[] = [];
const headersSeen: string[] = [];
let receiver: Server;
let pair: WorkerPair;

before(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') bodies.push(Buffer.concat(chunks).toString('utf8'));
      headersSeen.push(String(request.headers['x-collector-key'] ?? ''));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  receiver.listen(PORT, '127.0.0.1');
  await once(receiver, 'listening');
  pair = await startWorkerPair({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PORT}`,
      OTEL_EXPORTER_OTLP_HEADERS: `x-collector-key=k-${suffix}`,
      OTEL_SERVICE_NAME: 'fineflow-test',
    },
  });
});
after(async () => {
  await pair?.close();
  receiver?.close();
});

function attribute(span: OtlpSpan, key: string): string | number | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  if (value?.stringValue !== undefined) return value.stringValue;
  return value?.intValue === undefined ? undefined : Number(value.intValue);
}

test('a run exports one trace: run → stage → attempt, with Fineflow ids and no inputs', async () => {
  assert.match(String(pair.control.ready.traces), new RegExp(`^http://127.0.0.1:${PORT}/v1/traces$`));
  const retry = { maxAttempts: 2, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 };
  const runId = await pair.runs.submit(
    makePlan('traced', [
      { id: 'echo', pool: pair.pools.cpu, with: { value: secretish } },
      { id: 'flaky', uses: 'test-flaky', pool: pair.pools.cpu, with: { failTimes: 1 }, retry, needs: ['echo'] },
    ]),
  );
  assert.equal((await pair.runs.result(runId)).status, 'succeeded');
  // SIGTERM drains the workers, whose shutdown exports what is still buffered.
  await Promise.all([pair.control.stop('SIGTERM'), pair.cpu.stop('SIGTERM')]);

  const parsed = bodies.map((body) => JSON.parse(body) as OtlpBody);
  const services = new Set(
    parsed.flatMap((b) =>
      b.resourceSpans.map((r) => r.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue),
    ),
  );
  assert.deepEqual([...services], ['fineflow-test']);
  assert.ok(
    headersSeen.every((h) => h === `k-${suffix}`),
    'every export carries OTEL_EXPORTER_OTLP_HEADERS',
  );
  const spans = parsed.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
  const run = spans.filter((s) => s.name === 'RunWorkflow:pipelineRun' && attribute(s, 'fineflow.run.id') === runId);
  assert.equal(run.length, 1, `one run span among ${spans.map((s) => s.name).join(', ')}`);
  const runSpan = run[0]!;
  assert.equal(attribute(runSpan, 'fineflow.pipeline'), 'traced');
  const trace = spans.filter((s) => s.traceId === runSpan.traceId);

  const stage = (type: string, id: string) => {
    const started = trace.filter((s) => s.name === `StartActivity:${type}` && attribute(s, 'fineflow.stage.id') === id);
    assert.equal(started.length, 1, `one StartActivity span for ${id}`);
    const span = started[0]!;
    assert.equal(span.parentSpanId, runSpan.spanId, `${id}'s stage span is a child of the run`);
    assert.equal(attribute(span, 'fineflow.pool'), pair.pools.cpu);
    assert.equal(attribute(span, 'fineflow.run.id'), runId);
    const attempts = trace.filter((s) => s.name === `RunActivity:${type}` && s.parentSpanId === span.spanId);
    for (const attempt of attempts) {
      assert.equal(attribute(attempt, 'fineflow.stage.id'), id);
      assert.equal(attribute(attempt, 'fineflow.pool'), pair.pools.cpu);
    }
    return attempts;
  };
  const echoAttempts = stage('test-echo', 'echo');
  assert.equal(echoAttempts.length, 1);
  assert.equal(attribute(echoAttempts[0]!, 'fineflow.stage.attempt'), 1);
  const flakyAttempts = stage('test-flaky', 'flaky');
  assert.deepEqual(flakyAttempts.map((s) => [attribute(s, 'fineflow.stage.attempt'), s.status?.code]).sort(), [
    [1, 2], // ERROR: the first attempt failed
    [2, 1], // OK
  ]);
  const everything = bodies.join('\n');
  assert.ok(!everything.includes(secretish), 'no stage input reaches a span');
  assert.ok(!everything.includes(`k-${suffix}`), 'the collector key is a header, never an attribute');
});
