import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { Client } from 'minio';
import type { FineflowConfig } from '../../../src/config';
import { createMinioObjectStore } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { requireStack } from '../../helpers/stack';

const MiB = 1024 * 1024;
const OBJECT_SIZE = 200 * MiB;
/** Memory may grow by a few upload parts and socket buffers, never by the object size. */
const MAX_RSS_GROWTH = 60 * MiB;

/** 200 MiB of varying bytes generated on the fly (1 MiB chunks), hashed as they are produced. */
function generated(size: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  const seed = randomBytes(MiB);
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.from(seed);
      chunk.writeUInt32BE(produced / MiB, 0);
      produced += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

/** Samples RSS while `work` runs and returns the peak growth over the starting RSS. */
async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 25);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss()) - start;
}

void describe('MinIO object store streaming (200 MiB)', () => {
  let store: ObjectStore;
  let config: FineflowConfig;
  const bucket = `ff-it-${randomBytes(4).toString('hex')}`;
  const uri = `s3://${bucket}/big/200mib.bin`;

  before(async () => {
    config = await requireStack();
    store = createMinioObjectStore(config.s3);
    await store.ensureBucket(bucket);
    // Warm up: a multi-part upload allocates the client's working set of part buffers, sockets and
    // crypto state once; the measurement below must then see no growth with the object size.
    await store.putStream(`s3://${bucket}/warm.bin`, generated(32 * MiB).stream);
    await pipeline(await store.getStream(`s3://${bucket}/warm.bin`), new Writable({ write: (_c, _e, cb) => cb() }));
  });
  after(async () => {
    if (!store) return;
    await store.removePrefix(`s3://${bucket}/`);
    await new Client({
      endPoint: config.s3.endPoint,
      port: config.s3.port,
      useSSL: config.s3.useSSL,
      accessKey: config.s3.accessKey,
      secretKey: config.s3.secretKey,
    }).removeBucket(bucket);
  });

  void it('puts and gets 200 MiB with flat memory, recording and verifying sha256', async () => {
    const source = generated(OBJECT_SIZE);
    let put: Awaited<ReturnType<ObjectStore['putStream']>> | undefined;
    const putGrowth = await peakRssGrowth(async () => {
      put = await store.putStream(uri, source.stream);
    });
    const expected = source.digest();
    assert.equal(put?.size, OBJECT_SIZE);
    assert.equal(put?.sha256, expected);
    assert.equal((await store.stat(uri))?.sha256, expected);

    const readHash = createHash('sha256');
    let readBytes = 0;
    const getGrowth = await peakRssGrowth(async () => {
      await pipeline(
        await store.getStream(uri),
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            readHash.update(chunk);
            readBytes += chunk.length;
            callback();
          },
        }),
      );
    });
    assert.equal(readBytes, OBJECT_SIZE);
    assert.equal(readHash.digest('hex'), expected);
    console.log(
      `RSS growth: put ${(putGrowth / MiB).toFixed(1)} MiB, get ${(getGrowth / MiB).toFixed(1)} MiB (limit ${MAX_RSS_GROWTH / MiB} MiB)`,
    );
    assert.ok(putGrowth < MAX_RSS_GROWTH, `put grew RSS by ${(putGrowth / MiB).toFixed(1)} MiB`);
    assert.ok(getGrowth < MAX_RSS_GROWTH, `get grew RSS by ${(getGrowth / MiB).toFixed(1)} MiB`);
  });
});
