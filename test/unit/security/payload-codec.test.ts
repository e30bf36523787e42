import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadCodecSetting } from '../../../src/config';
import { InvalidInputError } from '../../../src/core/errors';
import { connectClient, connectWorker, dataConverterFor } from '../../../src/client/temporal-connection';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  parseCodecKeys,
} from '../../../src/security/payload-codec';

const entry = (id: string): string => `${id}:${randomBytes(32).toString('base64')}`;
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('utf8');
const CANARY = 'canary-7f3a9c';

function payloadOf(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

void describe('payload codec (AES-256-GCM)', () => {
  const oldEntry = entry('old');
  const newEntry = entry('new');

  void it('encrypts each payload with a fresh IV, names the key, and decodes back to the original', async () => {
    const codec = new AesGcmPayloadCodec(parseCodecKeys(oldEntry, 'test'));
    const original = payloadOf({ params: { token: CANARY } });
    const [a, b] = await codec.encode([original, original]);
    assert.ok(a && b);
    assert.equal(text(a.metadata?.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(a.metadata?.[KEY_ID_METADATA]), 'old');
    assert.ok(!Buffer.from(a.data ?? []).includes(CANARY), 'ciphertext holds no plaintext');
    assert.ok(
      !Buffer.from(a.data ?? []).equals(Buffer.from(b.data ?? [])),
      'same plaintext, different ciphertext (fresh IV)',
    );
    const [decoded] = await codec.decode([a]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded as Payload), { params: { token: CANARY } });
  });

  void it('rotation: the newest key encrypts, an old key still decrypts', async () => {
    const before = new AesGcmPayloadCodec(parseCodecKeys(oldEntry, 'test'));
    const after = new AesGcmPayloadCodec(parseCodecKeys(`${newEntry}\n${oldEntry}`, 'test'));
    assert.equal(after.activeKeyId, 'new');
    const [fromBefore] = await before.encode([payloadOf('x')]);
    assert.deepEqual(
      defaultPayloadConverter.fromPayload((await after.decode([fromBefore as Payload]))[0] as Payload),
      'x',
    );
    const [fromAfter] = await after.encode([payloadOf('y')]);
    assert.equal(text(fromAfter?.metadata?.[KEY_ID_METADATA]), 'new');
    await assert.rejects(
      before.decode([fromAfter as Payload]),
      (error: Error) =>
        error instanceof InvalidInputError &&
        /key 'new', which is not in this process's key ring \(old\)/.test(error.message),
    );
  });

  void it('refuses a payload encrypted under the same id with another key, or altered, or with a swapped id', async () => {
    const mine = new AesGcmPayloadCodec(parseCodecKeys(oldEntry, 'test'));
    const impostor = new AesGcmPayloadCodec(parseCodecKeys(entry('old'), 'test'));
    const [foreign] = await impostor.encode([payloadOf('x')]);
    await assert.rejects(mine.decode([foreign as Payload]), /authentication failed/);
    const [own] = await mine.encode([payloadOf('x')]);
    const altered = Buffer.from(own?.data ?? []);
    altered[20] = (altered[20] ?? 0) ^ 1;
    await assert.rejects(mine.decode([{ ...own, data: altered }]), /authentication failed/);
    const two = new AesGcmPayloadCodec(parseCodecKeys(`${newEntry},${oldEntry}`, 'test'));
    const [byOld] = await mine.encode([payloadOf('x')]);
    const swapped = { ...byOld, metadata: { ...byOld?.metadata, [KEY_ID_METADATA]: Buffer.from('new') } };
    await assert.rejects(two.decode([swapped]), /authentication failed/);
  });

  void it('passes payloads that were never encrypted through decode', async () => {
    const codec = new AesGcmPayloadCodec(parseCodecKeys(oldEntry, 'test'));
    const plain = payloadOf({ a: 1 });
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });

  void it('keeps key material out of inspect and JSON', () => {
    const ring = parseCodecKeys(oldEntry, 'test');
    const secret = oldEntry.split(':')[1] as string;
    assert.ok(!inspect(ring, { depth: 5 }).includes(secret));
    assert.ok(!JSON.stringify(ring).includes(secret));
  });
});

void describe('parseCodecKeys', () => {
  const fails = (input: string, pattern: RegExp): void => {
    assert.throws(
      () => parseCodecKeys(input, 'FINEFLOW_CODEC_KEYS'),
      (error: Error) => error instanceof InvalidInputError && pattern.test(error.message),
    );
  };

  void it('reads comma- or line-separated entries, newest first, skipping comments', () => {
    const ring = parseCodecKeys(`# rotated today\n${entry('k2')}\n\n${entry('k1')}`, 'file');
    assert.deepEqual(
      ring.map((k) => k.id),
      ['k2', 'k1'],
    );
  });

  void it('names the problem without quoting the key', () => {
    fails('', /lists no key/);
    fails('nokey', /entry 1 must be <id>:<base64 key>/);
    fails('bad id!:abc', /entry 1 must be/);
    fails(`k:${randomBytes(16).toString('base64')}`, /key 'k' must be 32 bytes in base64.*got 16/);
    fails('k:not base64!!', /got 0/);
    fails(`${entry('k')},${entry('k')}`, /'k' is listed twice/);
    const short = `k:${randomBytes(16).toString('base64')}`;
    assert.throws(
      () => parseCodecKeys(short, 'X'),
      (error: Error) => !error.message.includes(short.slice(2)),
    );
  });
});

void describe('loadCodecSetting', () => {
  const loopback = '127.0.0.1:7233';

  void it('uses FINEFLOW_CODEC_KEYS or the key file; refuses both, and off with keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'codec-'));
    const file = join(dir, 'keys');
    writeFileSync(file, `${entry('from-file')}\n`);
    const inline = loadCodecSetting({ FINEFLOW_CODEC_KEYS: entry('inline') }, loopback, dir);
    assert.equal(inline.mode === 'encrypt' && inline.keys[0].id, 'inline');
    const fromFile = loadCodecSetting({ FINEFLOW_CODEC_KEY_FILE: file }, 'temporal.example.com:7233', dir);
    assert.equal(fromFile.mode === 'encrypt' && fromFile.keys[0].id, 'from-file');
    assert.throws(
      () => loadCodecSetting({ FINEFLOW_CODEC_KEYS: entry('a'), FINEFLOW_CODEC_KEY_FILE: file }, loopback),
      /not both/,
    );
    assert.throws(
      () => loadCodecSetting({ FINEFLOW_CODEC: 'off', FINEFLOW_CODEC_KEYS: entry('a') }, loopback),
      /contradicts/,
    );
    assert.throws(
      () => loadCodecSetting({ FINEFLOW_CODEC: 'maybe' }, loopback),
      /FINEFLOW_CODEC=maybe must be on or off/,
    );
    assert.throws(
      () => loadCodecSetting({ FINEFLOW_CODEC_KEY_FILE: join(dir, 'absent') }, loopback),
      /FINEFLOW_CODEC_KEY_FILE=.*cannot be read \(ENOENT\)/,
    );
    assert.deepEqual(loadCodecSetting({ FINEFLOW_CODEC: 'off' }, loopback), { mode: 'off' });
  });

  void it("falls back to the local stack's key file only for a loopback Temporal", () => {
    const cwd = mkdtempSync(join(tmpdir(), 'codec-'));
    const relative = { FINEFLOW_STACK_DIR: '.fineflow/dev' };
    assert.deepEqual(loadCodecSetting(relative, loopback, cwd), { mode: 'missing' });
    mkdirSync(join(cwd, '.fineflow/dev'), { recursive: true });
    writeFileSync(join(cwd, '.fineflow/dev/codec-keys'), `${entry('stack')}\n`);
    const local = loadCodecSetting(relative, loopback, cwd);
    assert.equal(local.mode === 'encrypt' && local.keys[0].id, 'stack');
    assert.deepEqual(loadCodecSetting(relative, 'temporal.example.com:7233', cwd), { mode: 'missing' });
    const custom = join(cwd, 'other');
    mkdirSync(custom);
    writeFileSync(join(custom, 'codec-keys'), `${entry('custom')}\n`);
    const viaStackDir = loadCodecSetting({ FINEFLOW_STACK_DIR: custom }, loopback, cwd);
    assert.equal(viaStackDir.mode === 'encrypt' && viaStackDir.keys[0].id, 'custom');
  });
});

void describe('dataConverterFor', () => {
  const temporal = { address: '127.0.0.1:7233', namespace: 'default' };

  void it('refuses to talk to Temporal without a key unless encryption was turned off', async () => {
    const missing = { ...temporal, codec: { mode: 'missing' as const } };
    assert.throws(() => dataConverterFor(missing), /no payload encryption key is configured.*FINEFLOW_CODEC=off/);
    await assert.rejects(connectClient(missing), /no payload encryption key/);
    await assert.rejects(connectWorker(missing), /no payload encryption key/);
    assert.deepEqual(dataConverterFor({ ...temporal, codec: { mode: 'off' } }), {});
    const converter = dataConverterFor({
      ...temporal,
      codec: { mode: 'encrypt', keys: parseCodecKeys(entry('k'), 't'), source: 't' },
    });
    assert.ok(converter.payloadCodecs?.[0] instanceof AesGcmPayloadCodec);
  });
});
