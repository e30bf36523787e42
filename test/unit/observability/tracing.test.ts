/**
 * Tracing's pure parts: the OTLP settings read from the environment (off by default, validated,
 * headers never quoted in errors), the attributes Fineflow puts on stage spans (ids only), and the
 * exporter wrapper that strips credentials from URIs in error texts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadObservabilityConfig, loadTracingConfig } from '../../../src/config';
import { stageSpanAttributes } from '../../../src/core/run/trace-attributes';
import { redactingExporter } from '../../../src/observability/tracing';

void test('tracing is off unless an OTLP endpoint is set', () => {
  assert.equal(loadObservabilityConfig({}).tracing, undefined);
  assert.equal(loadTracingConfig({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' }), undefined);
});

void test('the base endpoint gets /v1/traces; the traces endpoint is used as it is and wins', () => {
  assert.deepEqual(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), {
    endpoint: 'http://collector:4318/v1/traces',
    headers: {},
    serviceName: 'fineflow-worker',
    cliServiceName: 'fineflow-cli',
  });
  const both = loadTracingConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp/traces',
    OTEL_SERVICE_NAME: 'fineflow-gpu',
    OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc, x-team=ml',
  });
  assert.deepEqual(both, {
    endpoint: 'https://traces.example.com/otlp/traces',
    headers: { authorization: 'Bearer abc', 'x-team': 'ml' },
    serviceName: 'fineflow-gpu',
    cliServiceName: 'fineflow-gpu',
  });
});

void test('bad endpoints and headers fail naming the variable, never quoting a header value', () => {
  const refuse = (env: Record<string, string>, pattern: RegExp) => assert.throws(() => loadTracingConfig(env), pattern);
  refuse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT: collector: is not supported/);
  refuse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, /OTEL_EXPORTER_OTLP_ENDPOINT=not a url: not a URL/);
  refuse({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://c:4317' }, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: grpc: .*http/);
  refuse(
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://user:pw@c:4318' },
    /carries credentials; put them in OTEL_EXPORTER_OTLP_HEADERS/,
  );
  refuse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/?token=1' }, /remove the query/);
  const headerError = (() => {
    try {
      loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'sekrit-value' });
    } catch (error) {
      return String(error);
    }
    return '';
  })();
  assert.match(headerError, /OTEL_EXPORTER_OTLP_HEADERS: every entry must be name=value/);
  assert.doesNotMatch(headerError, /sekrit/);
  refuse(
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'a=%E0%A4%A' },
    /the value of a is not valid percent-encoding/,
  );
  refuse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'x'.repeat(201) }, /OTEL_SERVICE_NAME/);
});

void test('stage span attributes: ids, pool and the attempt within the run, never inputs', () => {
  const input = {
    context: { runId: 'r-1', pipeline: 'p', stageId: 'train', attempt: 3, outputPrefix: 's3://b/runs/r-1/train/' },
    inputs: { token: 'do-not-export' },
  };
  assert.deepEqual(stageSpanAttributes(input, 'fineflow-gpu'), {
    'fineflow.pool': 'gpu',
    'fineflow.run.id': 'r-1',
    'fineflow.stage.id': 'train',
    'fineflow.pipeline': 'p',
    'fineflow.stage.attempt': 3,
  });
  // Temporal's second attempt of an execution that began at run attempt 3 is the run's attempt 4.
  assert.equal(stageSpanAttributes(input, 'fineflow-gpu', 2)['fineflow.stage.attempt'], 4);
  assert.deepEqual(stageSpanAttributes({ key: 'abc' }, 'other-queue'), {});
  assert.deepEqual(stageSpanAttributes(undefined, undefined), {});
  assert.equal(
    String(stageSpanAttributes({ context: { stageId: 'x'.repeat(1000) } }, undefined)['fineflow.stage.id']).length,
    256,
  );
});

void test('exported spans lose URI credentials in status messages and exception events', async () => {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider();
  provider.addSpanProcessor(new SimpleSpanProcessor(redactingExporter(memory)));
  const span = provider.getTracer('t').startSpan('RunActivity:fine-tune', { attributes: { 'fineflow.stage.id': 's' } });
  const message = 'cannot read https://user:hunter2@data.example.com/x.csv?X-Amz-Signature=abc';
  span.recordException(new Error(message));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
  await provider.forceFlush();
  const [exported] = memory.getFinishedSpans();
  assert.ok(exported);
  assert.equal(exported.name, 'RunActivity:fine-tune');
  assert.equal(exported.attributes['fineflow.stage.id'], 's');
  assert.equal(exported.parentSpanId, undefined);
  const texts = JSON.stringify([exported.status, exported.events]);
  assert.doesNotMatch(texts, /hunter2|X-Amz-Signature=abc/);
  assert.match(String(exported.status.message), /data\.example\.com/);
});
