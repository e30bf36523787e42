import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkBindAddress,
  checkRequest,
  cookieValue,
  redactSecrets,
  TOKEN_COOKIE,
  type AccessPolicy,
} from '../../../src/ui/access';
import { indexHtml } from '../../../src/ui/page';

const loopback: AccessPolicy = { host: '127.0.0.1', port: 8090, csrfToken: 'csrf-secret-value', readOnly: false };
const json = { host: '127.0.0.1:8090', 'content-type': 'application/json', 'x-fineflow-csrf': 'csrf-secret-value' };

test('a non-loopback bind address needs a token of at least 16 characters', () => {
  assert.doesNotThrow(() => checkBindAddress('127.0.0.1', undefined));
  assert.doesNotThrow(() => checkBindAddress('localhost', undefined));
  assert.throws(() => checkBindAddress('0.0.0.0', undefined), /FINEFLOW_UI_TOKEN/);
  assert.throws(() => checkBindAddress('0.0.0.0', 'short'), /at least 16/);
  assert.doesNotThrow(() => checkBindAddress('0.0.0.0', 'a-long-enough-token'));
});

test('on loopback, the Host header must name the server itself (DNS rebinding)', () => {
  assert.deepEqual(checkRequest(loopback, { method: 'GET', path: '/api/runs', headers: { host: '127.0.0.1:8090' } }), {
    ok: true,
  });
  assert.deepEqual(checkRequest(loopback, { method: 'GET', path: '/api/runs', headers: { host: 'localhost:8090' } }), {
    ok: true,
  });
  const rebound = checkRequest(loopback, { method: 'GET', path: '/api/runs', headers: { host: 'evil.example:8090' } });
  assert.equal(rebound.ok ? 0 : rebound.status, 400);
});

test('every action needs the CSRF header and a JSON body', () => {
  assert.deepEqual(checkRequest(loopback, { method: 'POST', path: '/api/runs/r/cancel', headers: json }), { ok: true });
  const noCsrf = checkRequest(loopback, {
    method: 'POST',
    path: '/api/runs/r/cancel',
    headers: { ...json, 'x-fineflow-csrf': undefined },
  });
  assert.equal(noCsrf.ok ? 0 : noCsrf.status, 403);
  const wrongCsrf = checkRequest(loopback, {
    method: 'POST',
    path: '/api/runs/r/cancel',
    headers: { ...json, 'x-fineflow-csrf': 'csrf-secret-valuX' },
  });
  assert.equal(wrongCsrf.ok ? 0 : wrongCsrf.status, 403);
  const form = checkRequest(loopback, {
    method: 'POST',
    path: '/api/runs/r/cancel',
    headers: { ...json, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(form.ok ? 0 : form.status, 400);
});

test('read-only mode refuses actions but still validates pipelines', () => {
  const readOnly = { ...loopback, readOnly: true };
  const cancel = checkRequest(readOnly, { method: 'POST', path: '/api/runs/r/cancel', headers: json });
  assert.equal(cancel.ok ? 0 : cancel.status, 403);
  assert.deepEqual(checkRequest(readOnly, { method: 'POST', path: '/api/validate', headers: json }), { ok: true });
});

test('with a token, requests need it as a bearer header or the cookie', () => {
  const guarded: AccessPolicy = { ...loopback, host: '0.0.0.0', token: 'a-long-enough-token' };
  const none = checkRequest(guarded, { method: 'GET', path: '/api/runs', headers: { host: 'ui.example' } });
  assert.equal(none.ok ? 0 : none.status, 401);
  assert.deepEqual(
    checkRequest(guarded, {
      method: 'GET',
      path: '/api/runs',
      headers: { host: 'ui.example', authorization: 'Bearer a-long-enough-token' },
    }),
    { ok: true },
  );
  assert.deepEqual(
    checkRequest(guarded, {
      method: 'GET',
      path: '/',
      headers: { host: 'ui.example', cookie: `x=1; ${TOKEN_COOKIE}=a-long-enough-token` },
    }),
    { ok: true },
  );
  assert.equal(cookieValue(`a=1; ${TOKEN_COOKIE}=t%3D1`, TOKEN_COOKIE), 't=1');
});

test('secret-looking keys are redacted at any depth; other values pass unchanged', () => {
  const redacted = redactSecrets({
    outputs: { model: 's3://b/m', apiKey: 'k', nested: [{ password: 'p', ok: 1 }] },
    secretKey: 'x',
    token: null,
  });
  assert.deepEqual(redacted, {
    outputs: { model: 's3://b/m', apiKey: '***', nested: [{ password: '***', ok: 1 }] },
    secretKey: '***',
    token: '***',
  });
});

test('the page escapes its settings', () => {
  const html = indexHtml({ csrfToken: 'a"b<c', readOnly: true, temporalUiUrl: undefined, namespace: 'ns' });
  assert.match(html, /<meta name="fineflow-csrf" content="a&quot;b&lt;c">/);
  assert.match(html, /<meta name="fineflow-read-only" content="true">/);
});
