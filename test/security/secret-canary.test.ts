/**
 * Item 2 of docs/security.md, end to end on the real stack: a pipeline gives a canary secret to a
 * `select-model` stage whose http model host demands it. The run must succeed (so the value
 * really reached the request), and afterwards the canary must be absent from the whole Temporal
 * history (fetched raw through the client), the run's status, everything the worker process
 * printed, the stage logs and every object the run wrote to the store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { loadTf } from '../../src/ml/backend';
import { buildModel } from '../../src/ml/models/architectures';
import { saveModel } from '../../src/ml/models/load-model';
import { compilePlan } from '../../src/spec';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import { startRuntimeHarness, type RuntimeHarness } from '../fixtures/runtime/harness';

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const SECRET_VARIABLE = 'FINEFLOW_TEST_MODEL_TOKEN';

let h: RuntimeHarness;
let server: Server;
let base = '';
const authorizations: (string | undefined)[] = [];

before(async () => {
  const { tf } = loadTf({ preference: 'auto' });
  const files = createMemoryObjectStore({ buckets: ['models'] });
  await saveModel(
    tf,
    files,
    buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 }),
    's3://models/tiny',
  );
  server = createServer((request, response) => {
    authorizations.push(request.headers.authorization);
    if (request.headers.authorization !== `Bearer ${CANARY}`) {
      response.writeHead(401).end();
      return;
    }
    files.getBytes(`s3://models/tiny/${(request.url ?? '').replace(/^\/private\//, '')}`).then(
      (bytes) => response.writeHead(200).end(bytes),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  h = await startRuntimeHarness({ cpuWorker: false });
  // The operator's decisions: this model host may be reached, and this one variable may be a secret.
  const config = {
    ...h.config,
    outbound: {
      allowUrlPrefixes: [`${base}/`],
      allowAddresses: ['127.0.0.1/32'],
      fileRoots: [],
      maxDownloadBytes: 1 << 20,
    },
    secrets: { allowEnv: [SECRET_VARIABLE], fileRoots: [] },
  };
  await h.addWorker({ pool: h.pools.cpu, config, secretEnv: { [SECRET_VARIABLE]: `Bearer ${CANARY}` } });
});
after(async () => {
  await h?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Everything this process writes to stdout/stderr while `run` runs (the in-process workers' log output). */
async function capturingOutput<T>(run: () => Promise<T>): Promise<{ value: T; output: string }> {
  const chunks: string[] = [];
  const original = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const tap =
    (write: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = tap(original.out) as typeof process.stdout.write;
  process.stderr.write = tap(original.err) as typeof process.stderr.write;
  try {
    return { value: await run(), output: chunks.join('') };
  } finally {
    process.stdout.write = original.out;
    process.stderr.write = original.err;
  }
}

/** JSON of anything, with byte arrays (Temporal payloads) spelled out as text so a search sees them. */
function rawText(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item instanceof Uint8Array
      ? Buffer.from(item).toString('latin1')
      : typeof item === 'bigint'
        ? item.toString()
        : item,
  );
}

test('a canary secret is used by the stage and appears nowhere in history, status, worker output, logs or the store', async () => {
  const yaml = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: secret-canary}
secrets:
  modelToken: {env: ${SECRET_VARIABLE}}
defaults: {pool: ${h.pools.cpu}, retry: {maxAttempts: 1}, cache: false}
stages:
  select:
    uses: select-model
    with:
      candidates: ["${base}/private/model.json"]
      auth: \${{ secrets.modelToken }}
`;
  const { plan, diagnostics } = compilePlan(yaml, 'secret-canary.yaml');
  assert.ok(plan, JSON.stringify(diagnostics));
  assert.ok(!JSON.stringify(plan).includes(CANARY));
  const started = new Date(Date.now() - 1000);

  const { value: runId, output } = await capturingOutput(async () => {
    const id = await h.runs.submit(plan);
    const result = await h.runs.result(id);
    assert.equal(result.status, 'succeeded', rawText(result));
    return id;
  });
  assert.ok(authorizations.includes(`Bearer ${CANARY}`), 'the stage sent the secret to the model host');

  const history = await h.client.workflow.getHandle(runId).fetchHistory();
  const historyText = rawText(history);
  assert.ok((history.events ?? []).length > 5 && historyText.includes('select-model'), 'the history was read');
  assert.ok(!historyText.includes(CANARY), 'history holds no secret value');
  assert.ok(!rawText(await h.runs.state(runId)).includes(CANARY), 'status holds no secret value');
  assert.ok(!output.includes(CANARY), 'the worker printed no secret value');

  const written = (await h.store.list(`s3://${h.config.s3.bucket}/`)).filter((info) => info.lastModified >= started);
  assert.ok(
    written.some((info) => info.key.startsWith(`runs/${runId}/select/`)),
    'the run wrote its log and outputs',
  );
  for (const info of written) {
    const bytes = await h.store.getBytes(`s3://${info.bucket}/${info.key}`);
    assert.ok(!bytes.includes(CANARY), `${info.key} holds no secret value`);
  }
});
