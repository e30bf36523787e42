import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createCacheActivities } from '../../../activities/cache';
import { externalUrisOf } from '../../../src/cache/cache-key';
import { fingerprintExternal } from '../../../src/cache/cache-store';
import {
  fingerprintFileUri,
  fingerprintHttpUri,
  unfingerprintableReason,
} from '../../../src/cache/cache-uri-fingerprint';
import { createOutboundPolicy, installOutboundPolicy } from '../../../src/security/outbound';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import { plannedStage } from '../cache/stage-fixtures';

const BUCKET = 'fineflow';

/** What the local server answers for each path; tests change it between requests. */
const resources: { [path: string]: { status?: number; headers: { [name: string]: string } } } = {};
let server: Server;
let base: string;
let heads = 0;

before(async () => {
  server = createServer((request, response) => {
    if (request.method === 'HEAD') heads += 1;
    const resource = resources[request.url ?? ''];
    if (!resource) {
      response.writeHead(404).end();
      return;
    }
    // No body on purpose: a fingerprint must never need one.
    response.writeHead(resource.status ?? 200, resource.headers).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  allowOutbound(`${base}/`);
});

/** Fingerprints obey the outbound policy: the operator allows these local URLs and the temp directory. */
function allowOutbound(...prefixes: string[]): void {
  installOutboundPolicy(
    createOutboundPolicy({
      allowUrlPrefixes: prefixes,
      allowAddresses: ['127.0.0.1/32'],
      fileRoots: [tmpdir()],
      maxDownloadBytes: 1 << 20,
    }),
  );
}
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

void describe('file:// fingerprints', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ff-fingerprint-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it('a small file is hashed: new content changes it, touching alone does not', async () => {
    const file = join(dir, 'small.csv');
    await writeFile(file, 'a,b\n1,2\n');
    const uri = pathToFileURL(file).href;
    const first = await fingerprintFileUri(uri);
    assert.match(first, /^sha256:[0-9a-f]{64}$/);
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    assert.equal(await fingerprintFileUri(uri), first);
    await writeFile(file, 'a,b\n1,3\n');
    assert.notEqual(await fingerprintFileUri(uri), first);
  });

  void it('a large file uses size and mtime', async () => {
    const file = join(dir, 'large.bin');
    await writeFile(file, Buffer.alloc(64, 1));
    const uri = pathToFileURL(file).href;
    const first = await fingerprintFileUri(uri, { hashFilesUpToBytes: 16 });
    assert.match(first, /^stat:64:/);
    await utimes(file, new Date(), new Date(Date.now() + 60_000));
    assert.notEqual(await fingerprintFileUri(uri, { hashFilesUpToBytes: 16 }), first);
  });

  void it('a directory is fingerprinted by its listing; a missing path is `missing`', async () => {
    const folder = join(dir, 'images');
    await mkdir(join(folder, 'cat'), { recursive: true });
    await writeFile(join(folder, 'cat', '1.png'), 'x');
    const uri = pathToFileURL(folder).href;
    const first = await fingerprintFileUri(uri);
    assert.match(first, /^listing:/);
    await writeFile(join(folder, 'cat', '2.png'), 'y');
    assert.notEqual(await fingerprintFileUri(uri), first);
    assert.match(
      unfingerprintableReason(await fingerprintFileUri(uri, { maxDirectoryEntries: 1 })) ?? '',
      /more than 1 files/,
    );
    assert.equal(await fingerprintFileUri(pathToFileURL(join(dir, 'nope.csv')).href), 'missing');
  });
});

void describe('http(s):// fingerprints (local server)', () => {
  void it('uses the ETag, and changes when the server changes it', async () => {
    resources['/data.csv'] = { headers: { etag: '"v1"', 'content-length': '10' } };
    const uri = `${base}/data.csv`;
    const first = await fingerprintHttpUri(uri);
    assert.equal(first, 'etag:"v1":10');
    resources['/data.csv'] = { headers: { etag: '"v2"', 'content-length': '10' } };
    assert.notEqual(await fingerprintHttpUri(uri), first);
  });

  void it('falls back to Last-Modified; a 404 is `missing`', async () => {
    resources['/lm.csv'] = { headers: { 'last-modified': 'Wed, 01 Jan 2026 00:00:00 GMT', 'content-length': '3' } };
    assert.equal(await fingerprintHttpUri(`${base}/lm.csv`), 'modified:Wed, 01 Jan 2026 00:00:00 GMT:3');
    assert.equal(await fingerprintHttpUri(`${base}/gone.csv`), 'missing');
  });

  void it('without validators, on an error status or an unreachable host the input is unfingerprintable', async () => {
    resources['/bare.csv'] = { headers: { 'content-length': '3' } };
    assert.match(
      unfingerprintableReason(await fingerprintHttpUri(`${base}/bare.csv`)) ?? '',
      /neither ETag nor Last-Modified/,
    );
    resources['/refused.csv'] = { status: 405, headers: {} };
    assert.match(unfingerprintableReason(await fingerprintHttpUri(`${base}/refused.csv`)) ?? '', /answered 405/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    allowOutbound(`${base}/`, `http://127.0.0.1:${port}/`);
    assert.match(
      unfingerprintableReason(await fingerprintHttpUri(`http://127.0.0.1:${port}/x`)) ?? '',
      /HEAD .* failed/,
    );
  });
});

void describe('the stage cache with file and http inputs', () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  const cache = createCacheActivities(store, BUCKET, { now: () => new Date('2026-01-01T00:00:00Z') });

  async function play(runId: string, source: string) {
    const stage = plannedStage('prepare', 'prepare-data', { source });
    const lookup = await cache.lookupStageCache({
      runId,
      stage,
      resolvedInputs: { source },
      upstream: {},
      pipeline: 'p',
    });
    if (!lookup.hit) {
      const put = await store.putBytes(`s3://${BUCKET}/runs/${runId}/prepare/out.json`, `{"run":"${runId}"}`);
      await cache.recordStageCache({
        key: lookup.key,
        runId,
        stage,
        pipeline: 'p',
        result: { outputs: { dataset: put.uri } },
      });
    }
    return lookup;
  }

  void it('treats file and http URIs as external inputs', () => {
    assert.deepEqual(
      externalUrisOf({ a: 'file:///data/x.csv', b: ['https://example.test/y', 'http://h/z'], c: 'plain' }),
      ['file:///data/x.csv', 'http://h/z', 'https://example.test/y'],
    );
  });

  void it('a changed ETag behind the same URI misses and says the input changed', async () => {
    resources['/train.csv'] = { headers: { etag: '"a"' } };
    const uri = `${base}/train.csv`;
    assert.equal((await play('h1', uri)).hit, false);
    assert.equal((await play('h2', uri)).hit, true);
    resources['/train.csv'] = { headers: { etag: '"b"' } };
    const changed = await play('h3', uri);
    assert.equal(changed.hit, false);
    assert.match(changed.hit ? '' : changed.reason, new RegExp(`input ${uri} changed`));
  });

  void it('a changed local file misses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ff-fingerprint-'));
    try {
      const file = join(dir, 'rows.csv');
      await writeFile(file, '1\n');
      const uri = pathToFileURL(file).href;
      assert.equal((await play('f1', uri)).hit, false);
      assert.equal((await play('f2', uri)).hit, true);
      await writeFile(file, '2\n');
      assert.equal((await play('f3', uri)).hit, false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('an input without a stable fingerprint is never served from the cache, and says why', async () => {
    resources['/live.csv'] = { headers: {} };
    const uri = `${base}/live.csv`;
    const first = await play('u1', uri);
    const second = await play('u2', uri);
    assert.equal(second.hit, false, 'recorded once, still not reused');
    assert.match(
      second.hit ? '' : second.reason,
      /^not cacheable: HEAD .*live\.csv gave neither ETag nor Last-Modified/,
    );
    assert.equal(second.key, first.key);
    assert.match(await fingerprintExternal(store, BUCKET, uri), /^unfingerprintable:/);
    assert.ok(heads > 0);
  });
});
