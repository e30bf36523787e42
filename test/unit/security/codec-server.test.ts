import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadCodecServerConfig } from '../../../src/config';
import { payloadsFromJson, payloadsToJson, createCodecServer } from '../../../src/security/codec-server';
import { AesGcmPayloadCodec, parseCodecKeys } from '../../../src/security/payload-codec';

const TOKEN = 'test-token-0123456789abcdef';
const UI = 'http://127.0.0.1:8233';
const codec = new AesGcmPayloadCodec(parseCodecKeys(`k1:${randomBytes(32).toString('base64')}`, 'test'));
const server = createCodecServer({ codec, token: TOKEN, allowedOrigins: [UI], maxBodyBytes: 64 * 1024 });
let base = '';

before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  server.closeAllConnections();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: JSON.stringify(body),
  });
}

const jsonOf = (value: unknown) => payloadsToJson([defaultPayloadConverter.toPayload(value)]);

void describe('codec server', () => {
  void it('encodes then decodes over HTTP, under any path prefix, for the allowed origin', async () => {
    const encoded = await post('/namespaces/default/encode', jsonOf({ secret: 'canary-51' }), {
      origin: UI,
      'x-namespace': 'default',
    });
    assert.equal(encoded.status, 200);
    assert.equal(encoded.headers.get('access-control-allow-origin'), UI);
    const encodedBody = (await encoded.json()) as unknown;
    assert.ok(!JSON.stringify(encodedBody).includes(Buffer.from('canary-51').toString('base64').slice(0, 8)));
    const decoded = await post('/decode', encodedBody);
    assert.equal(decoded.status, 200);
    const [payload] = payloadsFromJson(await decoded.json());
    assert.deepEqual(defaultPayloadConverter.fromPayload(payload as Payload), { secret: 'canary-51' });
  });

  void it('requires the bearer token', async () => {
    assert.equal((await post('/decode', jsonOf(1), { authorization: '' })).status, 401);
    assert.equal((await post('/decode', jsonOf(1), { authorization: `Bearer ${TOKEN}x` })).status, 401);
    assert.equal((await post('/decode', jsonOf(1), { authorization: TOKEN })).status, 401);
  });

  void it('answers CORS preflight for the Temporal UI origin only, and refuses other origins', async () => {
    const preflight = await fetch(`${base}/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), UI);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const evil = await fetch(`${base}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const evilPost = await post('/decode', jsonOf(1), { origin: 'https://evil.example' });
    assert.equal(evilPost.status, 403);
    assert.equal(evilPost.headers.get('access-control-allow-origin'), null);
  });

  void it('refuses malformed, oversized and misrouted requests', async () => {
    assert.equal((await post('/decode', { nope: 1 })).status, 400);
    assert.equal((await post('/decode', { payloads: [{ data: '%%%' }] })).status, 400);
    assert.equal((await post('/decode', { payloads: [{ data: 'A'.repeat(128 * 1024) }] })).status, 413);
    assert.equal((await post('/other', jsonOf(1))).status, 404);
    assert.equal((await fetch(`${base}/decode`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 405);
  });

  void it('says which key is missing when a payload cannot be decrypted', async () => {
    const other = new AesGcmPayloadCodec(parseCodecKeys(`k9:${randomBytes(32).toString('base64')}`, 'test'));
    const response = await post('/decode', payloadsToJson(await other.encode([defaultPayloadConverter.toPayload(1)])));
    assert.equal(response.status, 422);
    assert.match(
      ((await response.json()) as { error: string }).error,
      /key 'k9', which is not in this process's key ring \(k1\)/,
    );
  });
});

void describe('loadCodecServerConfig', () => {
  void it('requires a long token and real origins; defaults to the local Temporal UI', () => {
    assert.throws(() => loadCodecServerConfig({}), /FINEFLOW_CODEC_SERVER_TOKEN must be set/);
    assert.throws(() => loadCodecServerConfig({ FINEFLOW_CODEC_SERVER_TOKEN: 'short' }), /at least 24/);
    assert.deepEqual(
      loadCodecServerConfig({ FINEFLOW_CODEC_SERVER_TOKEN: TOKEN, FINEFLOW_TEMPORAL_UI_PORT: '8335' }).allowedOrigins,
      ['http://127.0.0.1:8335', 'http://localhost:8335'],
    );
    assert.throws(
      () =>
        loadCodecServerConfig({
          FINEFLOW_CODEC_SERVER_TOKEN: TOKEN,
          FINEFLOW_CODEC_SERVER_ORIGINS: 'https://ui.example.com/path',
        }),
      /is not an origin/,
    );
  });
});
