import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pushDirectory } from '../../../src/cli/commands/data';
import type { FineflowConfig } from '../../../src/config';
import {
  ConflictError,
  CorruptDataError,
  FineflowError,
  NotFoundError,
  ResourceLimitError,
} from '../../../src/core/errors';
import { createMinioObjectStore } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { rawMinioClient, requireStack } from '../../helpers/stack';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const isCode = (code: string) => (error: unknown) => error instanceof FineflowError && error.details.code === code;

void describe('MinIO object store (real MinIO)', () => {
  let config: FineflowConfig;
  let store: ObjectStore;
  const bucket = `ff-it-${randomBytes(4).toString('hex')}`;
  const root = `s3://${bucket}/`;

  before(async () => {
    config = await requireStack();
    store = createMinioObjectStore(config.s3);
    await store.ensureBucket(bucket);
  });
  after(async () => {
    if (!store) return;
    await store.removePrefix(root);
    await rawMinioClient(config).removeBucket(bucket);
  });

  void it('bootstraps a bucket idempotently, also when two callers race', async () => {
    const fresh = `ff-it-${randomBytes(4).toString('hex')}`;
    await assert.rejects(store.putBytes(`s3://${fresh}/x`, 'x'), isCode('bucket-not-found'));
    await Promise.all([store.ensureBucket(fresh), store.ensureBucket(fresh)]);
    await store.ensureBucket(fresh);
    await store.putBytes(`s3://${fresh}/x`, 'x');
    assert.equal((await store.getBytes(`s3://${fresh}/x`)).toString(), 'x');
    await store.removePrefix(`s3://${fresh}/`);
    await rawMinioClient(config).removeBucket(fresh);
  });

  void it('round-trips bytes, JSON and streams (small, empty, multi-part) with sha256 recorded', async () => {
    const bytes = await store.putBytes(`${root}a/hello.txt`, 'hello');
    assert.deepEqual({ size: bytes.size, sha256: bytes.sha256 }, { size: 5, sha256: sha256('hello') });
    await store.putJson(`${root}a/metrics.json`, { accuracy: 0.91, labels: ['ok', 'defect'] });
    assert.deepEqual(await store.getJson(`${root}a/metrics.json`), { accuracy: 0.91, labels: ['ok', 'defect'] });

    const empty = await store.putStream(`${root}a/empty.bin`, Readable.from([]));
    assert.equal(empty.size, 0);
    assert.equal((await store.getBytes(`${root}a/empty.bin`)).length, 0);

    // Larger than one 6 MiB part, so it goes through the multipart path and the metadata copy.
    const big = randomBytes(19 * 1024 * 1024 + 123);
    const progress: number[] = [];
    const put = await store.putStream(`${root}a/big.bin`, Readable.from([big.subarray(0, 5e6), big.subarray(5e6)]), {
      onProgress: (n) => progress.push(n),
      contentType: 'application/x-test',
    });
    assert.deepEqual(
      { size: put.size, sha256: put.sha256, uri: put.uri },
      { size: big.length, sha256: sha256(big), uri: `${root}a/big.bin` },
    );
    assert.equal(progress.at(-1), big.length);
    const info = await store.stat(`${root}a/big.bin`);
    assert.equal(info?.sha256, sha256(big));
    assert.equal(info?.size, big.length);
    assert.equal(info?.etag, put.etag);
    assert.ok((await store.getBytes(`${root}a/big.bin`)).equals(big));
    assert.equal((await store.stat(`${root}a/hello.txt`))?.sha256, sha256('hello'));
  });

  void it('fails a read whose bytes do not match the recorded sha256', async () => {
    // Write with the raw client, as a tool that mislabels an object would.
    const raw = rawMinioClient(config);
    await raw.putObject(bucket, 'corrupt.bin', Buffer.from('actual bytes'), 12, { sha256: sha256('other bytes') });
    await assert.rejects(
      store.getBytes(`${root}corrupt.bin`),
      (error: unknown) => error instanceof CorruptDataError && error.details.code === 'checksum-mismatch',
    );
    // Objects written by other tools (no sha256) are read as they are.
    await raw.putObject(bucket, 'foreign.bin', Buffer.from('foreign'), 7);
    assert.equal((await store.getBytes(`${root}foreign.bin`)).toString(), 'foreign');
    assert.equal((await store.stat(`${root}foreign.bin`))?.sha256, undefined);
  });

  void it('rejects a put whose source stream fails, instead of hanging, and leaves no object', async () => {
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent >= 12 * 1024 * 1024) {
          this.destroy(new Error('disk read failed'));
          return;
        }
        sent += 1024 * 1024;
        this.push(Buffer.alloc(1024 * 1024, 1));
      },
    });
    await assert.rejects(store.putStream(`${root}broken.bin`, failing), /disk read failed/);
    assert.equal(await store.stat(`${root}broken.bin`), undefined);
  });

  void it('maps a missing object to not-found, and stat to undefined', async () => {
    await assert.rejects(store.getBytes(`${root}nope`), isCode('not-found'));
    await assert.rejects(store.getStream(`${root}nope`), NotFoundError);
    assert.equal(await store.stat(`${root}nope`), undefined);
  });

  void it('refuses to read an object over the in-memory cap, counting bytes as they arrive', async () => {
    await store.putBytes(`${root}cap/big.json`, `[${'1,'.repeat(50_000)}1]`);
    await assert.rejects(
      store.getJson(`${root}cap/big.json`, { maxBytes: 64 * 1024 }),
      (error: unknown) => error instanceof ResourceLimitError && error.details.code === 'object-too-large',
    );
    await assert.rejects(store.getBytes(`${root}cap/big.json`, { maxBytes: 1000 }), ResourceLimitError);
    assert.equal((await store.getJson<number[]>(`${root}cap/big.json`)).length, 50_001);
  });

  void it('supports conditional writes (If-None-Match: *, If-Match: etag) on the pinned MinIO', async () => {
    const uri = `${root}cond/a.json`;
    const first = await store.putJson(uri, { n: 1 }, { condition: { ifNoneMatch: '*' } });
    await assert.rejects(store.putJson(uri, { n: 2 }, { condition: { ifNoneMatch: '*' } }), ConflictError);
    const second = await store.putJson(uri, { n: 2 }, { condition: { ifMatch: (await store.stat(uri))?.etag ?? '' } });
    await assert.rejects(store.putJson(uri, { n: 3 }, { condition: { ifMatch: first.etag } }), ConflictError);
    assert.deepEqual(await store.getJson(uri), { n: 2 });
    assert.equal((await store.stat(uri))?.etag, second.etag);
  });

  void it('lists recursively in key order and removes only the prefix', async () => {
    for (const key of ['l/r/b', 'l/r/a/2', 'l/r/a/1', 'l/rx/1']) await store.putBytes(`${root}${key}`, key);
    assert.deepEqual(
      (await store.list(`${root}l/r/`)).map((o) => o.key),
      ['l/r/a/1', 'l/r/a/2', 'l/r/b'],
    );
    await store.removePrefix(`${root}l/r/`);
    assert.deepEqual(
      (await store.list(`${root}l/`)).map((o) => o.key),
      ['l/rx/1'],
    );
    await store.remove(`${root}l/rx/1`);
    assert.deepEqual(await store.list(`${root}l/`), []);
    await store.removePrefix(`${root}l/`);
  });

  void it('lists a bounded range: keys after startAfter, at most maxKeys, in key order', async () => {
    const keys = Array.from({ length: 12 }, (_, index) => `bounded/${String(index).padStart(2, '0')}`);
    for (const key of keys) await store.putBytes(`${root}${key}`, key);
    const prefix = `${root}bounded/`;
    const base = (await store.list(prefix)).map((o) => o.key);
    const under = base[0]?.slice(0, -'00'.length) ?? '';
    assert.deepEqual(
      (await store.list(prefix, { startAfter: `${under}04`, maxKeys: 3 })).map((o) => o.key.slice(under.length)),
      ['05', '06', '07'],
    );
    assert.deepEqual(
      (await store.list(prefix, { startAfter: `${under}09` })).map((o) => o.key.slice(under.length)),
      ['10', '11'],
    );
    assert.equal((await store.list(prefix, { maxKeys: 5 })).length, 5);
    await store.removePrefix(prefix);
  });

  void it('pushes a directory (fineflow data push) with a location-independent dataset version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ff-push-'));
    try {
      await mkdir(join(dir, 'train', 'defect'), { recursive: true });
      await writeFile(join(dir, 'train', 'defect', '001.png'), randomBytes(1000));
      await writeFile(join(dir, 'labels.csv'), 'file,label\n001.png,defect\n');
      const lines: string[] = [];
      const first = await pushDirectory(store, bucket, dir, `${root}datasets/v1`, (line) => lines.push(line));
      assert.deepEqual(
        first.files.map((f) => f.uri),
        [`${root}datasets/v1/labels.csv`, `${root}datasets/v1/train/defect/001.png`],
      );
      assert.ok(lines.some((line) => line.includes('[2/2]')));
      const second = await pushDirectory(store, bucket, dir, `${root}datasets/copy/`, () => undefined);
      assert.equal(second.version, first.version);
      assert.match(first.version, /^[0-9a-f]{64}$/);
      const listed = await store.list(`${root}datasets/v1/`);
      assert.deepEqual(
        listed.map((o) => o.size),
        first.files.map((f) => f.size),
      );
      await writeFile(join(dir, 'labels.csv'), 'file,label\n001.png,ok\n');
      assert.notEqual(
        (await pushDirectory(store, bucket, dir, `${root}datasets/v2/`, () => undefined)).version,
        first.version,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
