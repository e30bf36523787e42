/**
 * `fineflow ui`'s HTTP API on the real stack, without a browser: readiness, the token, the CSRF
 * header and read-only mode as a client meets them over the wire.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import type { RunningUi } from '../../../src/ui/server';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { startUiFor } from '../../e2e/helpers/ui-browser';

const TOKEN = 'ui-api-test-token-0123456789';
let h: RuntimeHarness;
let ui: RunningUi;

before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
  ui = await startUiFor(h, { readOnly: true, token: TOKEN });
});
after(async () => {
  await ui?.close();
  await h?.close();
});

const auth = { Authorization: `Bearer ${TOKEN}` };

/** fetch() will not send a foreign Host header; node:http does. */
function getWithHost(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpGet(`${ui.url}${path}`, { headers: { Host: host } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

async function csrfToken(): Promise<string> {
  const html = await (await fetch(`${ui.url}/`, { headers: auth })).text();
  const found = /<meta name="fineflow-csrf" content="([^"]+)">/.exec(html)?.[1];
  assert.ok(found, 'the page carries a CSRF token');
  return found;
}

test('readiness reports Temporal and the object store', async () => {
  const response = await fetch(`${ui.url}/readyz`, { headers: auth });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, temporal: 'ok', store: 'ok' });
});

test('health and readiness answer probes without the token or a matching Host header', async () => {
  // A kubelet probe names the pod's address as Host, which the loopback UI refuses for everything else.
  assert.equal((await getWithHost('/api/runs', '10.1.2.3:8080')).status, 400);
  assert.deepEqual(await getWithHost('/healthz', '10.1.2.3:8080'), { status: 200, body: '{"ok":true}' });
  const ready = await fetch(`${ui.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ok: true, temporal: 'ok', store: 'ok' });
});

test('without the token nothing is served; the token as a query sets a cookie that works', async () => {
  assert.equal((await fetch(`${ui.url}/api/runs`)).status, 401);
  const login = await fetch(`${ui.url}/?token=${TOKEN}`, { redirect: 'manual' });
  assert.equal(login.status, 303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  assert.match(cookie, /^fineflow_ui_token=/);
  assert.equal((await fetch(`${ui.url}/api/runs`, { headers: { Cookie: cookie } })).status, 200);
});

test('actions need the CSRF header, and read-only mode refuses them while validation still works', async () => {
  const csrf = await csrfToken();
  const post = (path: string, headers: Record<string, string>, body: unknown) =>
    fetch(`${ui.url}${path}`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  assert.equal((await post('/api/runs/some-run/cancel', {}, {})).status, 403);
  const refused = await post('/api/runs/some-run/cancel', { 'X-Fineflow-Csrf': csrf }, {});
  assert.equal(refused.status, 403);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /read-only/);
  const validated = await post(
    '/api/validate',
    { 'X-Fineflow-Csrf': csrf },
    { yaml: 'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: x}\nstages: {}\n' },
  );
  assert.equal(validated.status, 200);
  const answer = (await validated.json()) as { valid: boolean; diagnostics: { code: string }[] };
  assert.equal(typeof answer.valid, 'boolean');
  assert.ok(Array.isArray(answer.diagnostics));
});
