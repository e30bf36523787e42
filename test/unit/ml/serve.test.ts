/**
 * `fineflow serve`'s request parsing and HTTP server, on a loopback socket with a table model from
 * the in-memory store: answers equal the shared batch scorer's on the same instances; every bound
 * and error has its status and a message naming the instance and column; readiness follows the
 * model load (awaited, not timed); a token, when set, is required everywhere but /healthz.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { loadPredictor, predictBatch, type Predictor } from '../../../src/ml/predict/predictor';
import { predictRequestRecords } from '../../../src/ml/predict/serve-request';
import {
  checkServeBindAddress,
  startPredictServer,
  type RunningPredictServer,
} from '../../../src/serve/predict-server';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import { sensorPreprocessing, storeModel } from '../../helpers/sensor-model';

const { tf } = loadTf({ preference: 'cpu' });
const MODEL = 's3://fineflow/models/sensors/model.json';
const PREPROCESSING = sensorPreprocessing(['pass', 'fail'], ['temperature', 'line']);

let predictor: Predictor;
let server: RunningPredictServer;
before(async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  const model = buildModel(tf, { kind: 'mlp', inputShape: [3], hidden: [4] }, { numClasses: 2, seed: 5 });
  await storeModel(tf, store, model, MODEL, PREPROCESSING);
  model.dispose();
  predictor = await loadPredictor(tf, store, MODEL, { registryBucket: 'fineflow' });
  server = await startPredictServer(Promise.resolve(predictor), { limits: { maxBatch: 3 }, maxBodyBytes: 4096 });
  await server.ready;
});
after(async () => {
  await server?.close();
});

async function post(body: string, contentType = 'application/json', base = server.url) {
  const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

test('request parsing: instances become the records predict reads from files, with bounds', () => {
  const records = predictRequestRecords({ instances: [{ temperature: 25, line: 'a' }] }, 'table');
  assert.deepEqual(
    records.map((record) => ({ ...record, ...(record.kind === 'row' ? { cells: { ...record.cells } } : {}) })),
    [{ kind: 'row', where: 'instances[0]', cells: { temperature: 25, line: 'a' } }],
  );
  const image = predictRequestRecords({ instances: [{ b64: Buffer.from('png!').toString('base64') }] }, 'image');
  assert.equal(Buffer.from((image[0] as { bytes: Uint8Array }).bytes).toString(), 'png!');
  assert.throws(() => predictRequestRecords([], 'table'), /must be a JSON object with an "instances" list/);
  assert.throws(() => predictRequestRecords({ instances: [], x: 1 }, 'table'), /unknown field x/);
  assert.throws(() => predictRequestRecords({ instances: [] }, 'table'), /"instances" is empty/);
  assert.throws(() => predictRequestRecords({ instances: [1] }, 'table'), /instances\[0\]: must be an object/);
  assert.throws(
    () => predictRequestRecords({ instances: [{ t: { nested: 1 } }] }, 'table'),
    /instances\[0\]\.t: must be a number, string, boolean or null/,
  );
  assert.throws(() => predictRequestRecords({ instances: [{ b64: 'not base64!' }] }, 'image'), /instances\[0\]\.b64/);
  assert.throws(
    () => predictRequestRecords({ instances: [{}, {}] }, 'table', { maxBatch: 1, maxColumns: 5 }),
    (error: Error) => error.name === 'ResourceLimitError' || /at most 1 per request/.test(error.message),
  );
  assert.throws(
    () => predictRequestRecords({ instances: [{ a: 1, b: 2 }] }, 'table', { maxBatch: 1, maxColumns: 1 }),
    /has 2 columns, at most 1/,
  );
});

test('POST /predict answers what the shared batch scorer gives for the same instances', async () => {
  const instances = [
    { temperature: 25, line: 'a' },
    { temperature: 'NA', line: 'b' },
    { temperature: '12.5', line: 'b', label: 'ignored' },
  ];
  const { status, json } = await post(JSON.stringify({ instances }));
  assert.equal(status, 200, JSON.stringify(json));
  const expected = predictBatch(
    predictor,
    instances.map((cells, i) => ({ kind: 'row' as const, where: `instances[${i}]`, cells })),
  );
  const predictions = json.predictions as { input: string; predicted: string; probabilities: Record<string, number> }[];
  assert.equal(json.model, MODEL);
  assert.equal(predictions.length, 3);
  predictions.forEach((prediction, i) => {
    assert.equal(prediction.input, `instances[${i}]`);
    assert.equal(prediction.probabilities.pass, expected[i * 2]);
    assert.equal(prediction.probabilities.fail, expected[i * 2 + 1]);
    assert.equal(prediction.predicted, (expected[i * 2] ?? 0) >= (expected[i * 2 + 1] ?? 0) ? 'pass' : 'fail');
  });
});

test('POST /predict names the categories the model never saw, bounded, and only when there are some', async () => {
  const known = await post(JSON.stringify({ instances: [{ temperature: 25, line: 'a' }] }));
  assert.equal(known.status, 200, JSON.stringify(known.json));
  assert.equal('unknownCategories' in known.json, false);
  const typo = await post(
    JSON.stringify({
      instances: [
        { temperature: 20, line: 'c' },
        { temperature: 20, line: ' c ' },
        { temperature: 20, line: 'NA' },
      ],
    }),
  );
  assert.equal(typo.status, 200, JSON.stringify(typo.json));
  assert.deepEqual(typo.json.unknownCategories, { line: { c: 2 } });
  assert.equal((typo.json.predictions as unknown[]).length, 3);
  // Data, never an inherited property; a long value is cut.
  const odd = await post(
    JSON.stringify({
      instances: [
        { temperature: 20, line: '__proto__' },
        { temperature: 20, line: 'toString' },
        { temperature: 20, line: 'x'.repeat(500) },
      ],
    }),
  );
  assert.equal(odd.status, 200, JSON.stringify(odd.json));
  assert.deepEqual(JSON.parse(JSON.stringify(odd.json.unknownCategories)), {
    line: JSON.parse(`{"__proto__": 1, "toString": 1, "${'x'.repeat(80)}": 1}`),
  });
});

test('health, readiness and the model description', async () => {
  assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
  assert.deepEqual(await (await fetch(`${server.url}/readyz`)).json(), { status: 'ready', model: MODEL });
  const model = (await (await fetch(`${server.url}/model`)).json()) as Record<string, unknown>;
  assert.deepEqual(model.classes, ['pass', 'fail']);
  assert.deepEqual(model.takes, { kind: 'table', columns: ['temperature', 'line'] });
});

test('4xx answers name the problem: batch and body bounds, JSON, columns, paths, methods', async () => {
  const four = JSON.stringify({ instances: [{}, {}, {}, {}] });
  assert.equal((await post(four)).status, 413);
  assert.match(String((await post(four)).json.error), /4 entries, at most 3 per request; split the batch/);
  const big = await post(JSON.stringify({ instances: [{ temperature: 1, line: 'x'.repeat(5000) }] }));
  assert.equal(big.status, 413);
  assert.match(String(big.json.error), /larger than 4096 bytes/);
  assert.equal((await post('{"instances": [')).status, 400);
  assert.equal((await post('{}', 'text/plain')).status, 415);
  const missing = await post(JSON.stringify({ instances: [{ temperature: 1, line: 'a' }, { temperature: 2 }] }));
  assert.equal(missing.status, 400);
  assert.match(String(missing.json.error), /instances\[1\]: column line is absent/);
  assert.equal((await fetch(`${server.url}/nothing`)).status, 404);
  assert.equal((await fetch(`${server.url}/predict`)).status, 405);
  // fetch() sets Host itself; a DNS-rebinding page's request carries its own name.
  const rebinding = await new Promise<number>((resolve, reject) => {
    const request = httpRequest(`${server.url}/readyz`, { headers: { host: 'evil.example' } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
  assert.equal(rebinding, 400);
});

test('readiness waits for the model; a token is required beyond /healthz; public binds need one', async () => {
  let resolveLoad: (value: Predictor) => void = () => undefined;
  const loading = new Promise<Predictor>((resolve) => (resolveLoad = resolve));
  const token = 'a-token-of-sufficient-length';
  const guarded = await startPredictServer(loading, { token });
  try {
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await fetch(`${guarded.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${guarded.url}/readyz`)).status, 401);
    const notReady = await fetch(`${guarded.url}/readyz`, { headers: auth });
    assert.equal(notReady.status, 503);
    assert.equal(((await notReady.json()) as { status: string }).status, 'loading');
    resolveLoad(predictor);
    await guarded.ready;
    assert.equal((await fetch(`${guarded.url}/readyz`, { headers: auth })).status, 200);
    const answer = await fetch(`${guarded.url}/predict`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ temperature: 20, line: 'a' }] }),
    });
    assert.equal(answer.status, 200);
  } finally {
    await guarded.close();
  }
  assert.throws(() => checkServeBindAddress('0.0.0.0', undefined), /set FINEFLOW_SERVE_TOKEN/);
  assert.throws(() => checkServeBindAddress('0.0.0.0', 'short'), /at least 16 characters/);
  checkServeBindAddress('0.0.0.0', token);
});
