/**
 * `fineflow submit` as a user types it, with tracing on: the CLI process exports a `fineflow submit` span
 * (service fineflow-cli, the pipeline and the run id) whose child is Temporal's StartWorkflow:pipelineRun, and
 * the control worker's RunWorkflow:pipelineRun is that span's child in the same trace. The spans go over
 * OTLP/HTTP to a receiver of this test (an ephemeral port); no param value reaches any of them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomSuffix } from '../../fixtures/runtime/harness';
import { startWorkerPair, type WorkerPair } from '../../fixtures/runtime/worker-pair';

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly attributes?: readonly { key: string; value: { stringValue?: string } }[];
}
interface OtlpBody {
  readonly resourceSpans: readonly {
    resource?: { attributes?: readonly { key: string; value: { stringValue?: string } }[] };
    scopeSpans: readonly { spans: readonly OtlpSpan[] }[];
  }[];
}

const REPO = path.resolve(__dirname, '../../..');
const suffix = randomSuffix();
const secretish = `param-value-${suffix}`;
const bodies: OtlpBody[] = [];
let receiver: Server;
let pair: WorkerPair;
let otel: Record<string, string>;
let dir: string;

before(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  otel = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}` };
  pair = await startWorkerPair({ env: otel });
  dir = await mkdtemp(path.join(tmpdir(), 'ff-submit-trace-'));
});
after(async () => {
  await pair?.close();
  receiver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((a) => a.key === key)?.value.stringValue;

test("fineflow submit's span is the parent of the run's trace", { timeout: 120_000 }, async () => {
  const file = path.join(dir, 'traced.yaml');
  await writeFile(
    file,
    [
      'apiVersion: fineflow/v1',
      'kind: Pipeline',
      `metadata: {name: submit-traced-${suffix}}`,
      `params: {greeting: ${secretish}}`,
      `defaults: {pool: ${pair.pools.cpu}, retry: {maxAttempts: 1}, cache: false}`,
      'stages:',
      '  hello: {uses: test-echo, with: {value: "${{ params.greeting }}"}}',
    ].join('\n'),
  );
  const stageModule = path.join(REPO, 'test/stage-types/index.ts');
  const args = ['submit', file, '--stage-module', stageModule, '--control-pool', pair.pools.control, '--json'];
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(REPO, 'bin/fineflow.js'), ...args], {
    cwd: REPO,
    env: { ...process.env, ...otel },
    timeout: 60_000,
  });
  const runId = (JSON.parse(stdout) as { runId: string }).runId;
  assert.equal((await pair.runs.result(runId)).status, 'succeeded');
  // SIGTERM drains the workers, whose shutdown exports what is still buffered; the CLI exported before it exited.
  await Promise.all([pair.control.stop('SIGTERM'), pair.cpu.stop('SIGTERM')]);

  const spansOf = (service: string) =>
    bodies.flatMap((body) =>
      body.resourceSpans
        .filter((r) => r.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue === service)
        .flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    );
  const cli = spansOf('fineflow-cli');
  const submit = cli.filter((s) => s.name === 'fineflow submit');
  assert.equal(submit.length, 1, `one submit span among ${cli.map((s) => s.name).join(', ')}`);
  const submitSpan = submit[0]!;
  assert.equal(attribute(submitSpan, 'fineflow.run.id'), runId);
  assert.equal(attribute(submitSpan, 'fineflow.pipeline'), `submit-traced-${suffix}`);
  const start = cli.filter((s) => s.name === 'StartWorkflow:pipelineRun' && s.parentSpanId === submitSpan.spanId);
  assert.equal(start.length, 1, 'the start call is a child of the submit span');
  assert.deepEqual(
    cli.map((s) => s.name).sort(),
    ['StartWorkflow:pipelineRun', 'fineflow submit'],
    'only the start call is traced, not the client calls around it',
  );
  const run = spansOf('fineflow-worker').filter(
    (s) => s.name === 'RunWorkflow:pipelineRun' && attribute(s, 'fineflow.run.id') === runId,
  );
  assert.equal(run.length, 1);
  assert.equal(run[0]!.traceId, submitSpan.traceId, 'the run continues the trace the CLI started');
  assert.equal(run[0]!.parentSpanId, start[0]!.spanId);
  assert.ok(!JSON.stringify(bodies).includes(secretish), 'no param value reaches a span');
});
