/**
 * Attack class: decompression and parsing bombs in pipeline authors' data. Asserted on bytes and
 * work done, not wall time (the machine is shared): a 20000×20000 PNG of ~400 KB is refused from
 * its header, and the process grows by far less than the 1.6 GB the image would inflate to; a CSV
 * with 100,000 columns is refused by prepare-data inside its header, without reading further.
 */
import assert from 'node:assert/strict';
import { crc32, createDeflate } from 'node:zlib';
import jpeg from 'jpeg-js';
import { describe, it } from 'node:test';
import { ResourceLimitError } from '../../src/core/errors';
import { decodeImage, pngHeader } from '../../src/ml/data/images';
import { prepareDataset } from '../../src/ml/data/prepare';
import { readCsvRecords, readLines } from '../../src/ml/data/text-records';
import { createMemoryObjectStore } from '../unit/ml/helpers/memory-object-store';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid greyscale PNG of `size`×`size` black pixels, deflated row by row (never holding the raw image). */
async function pngBomb(size: number): Promise<Buffer> {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const deflate = createDeflate({ level: 9 });
  const compressed: Buffer[] = [];
  deflate.on('data', (data: Buffer) => compressed.push(data));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const row = Buffer.alloc(size + 1); // filter byte 0 + zero pixels
  for (let y = 0; y < size; y += 1)
    if (!deflate.write(row)) await new Promise((resolve) => deflate.once('drain', resolve));
  deflate.end();
  await done;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', Buffer.concat(compressed)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

void describe('decompression bombs', () => {
  void it('a 20000×20000 PNG is refused from its header, with under 100 MB of growth', async () => {
    const bomb = await pngBomb(20_000);
    assert.ok(bomb.length < 600_000, `the bomb is ${bomb.length} bytes`);
    assert.deepEqual(pngHeader(bomb), { width: 20_000, height: 20_000, channels: 1, rawBytes: 20_000 * 20_001 });
    const before = process.memoryUsage();
    assert.throws(
      () => decodeImage(bomb, 'png'),
      (error: unknown) =>
        error instanceof ResourceLimitError && /20000×20000.*at most 16777216 pixels/.test(error.message),
    );
    const after = process.memoryUsage();
    assert.ok(after.rss - before.rss < 100 * 1024 * 1024, `rss grew by ${after.rss - before.rss} bytes`);
    assert.ok(
      after.arrayBuffers - before.arrayBuffers < 10 * 1024 * 1024,
      `array buffers grew by ${after.arrayBuffers - before.arrayBuffers} bytes`,
    );
  });

  void it('a JPEG declaring 20000×20000 pixels is refused at its frame header', () => {
    const small = Buffer.from(jpeg.encode({ data: Buffer.alloc(8 * 8 * 4, 128), width: 8, height: 8 }, 90).data);
    const sof = small.indexOf(Buffer.from([0xff, 0xc0]));
    assert.ok(sof > 0);
    small.writeUInt16BE(20_000, sof + 5); // scan lines
    small.writeUInt16BE(20_000, sof + 7); // samples per line
    const before = process.memoryUsage().rss;
    assert.throws(() => decodeImage(small, 'jpeg'), /maxResolutionInMP limit exceeded/);
    assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024);
  });

  void it('a small PNG still decodes', async () => {
    const image = decodeImage(await pngBomb(16), 'png');
    assert.deepEqual([image.width, image.height, image.rgba.length], [16, 16, 16 * 16 * 4]);
  });
});

async function* chunksOf(items: readonly string[]): AsyncGenerator<string> {
  yield* items;
}

/** Drain an async iterable, counting what the consumer pulled from `chunks`. */
async function drain<T>(records: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const record of records) out.push(record);
  return out;
}

void describe('parsing bombs', () => {
  void it('a 100,000-column CSV is refused by prepare-data with the file, line and limit', async () => {
    const store = createMemoryObjectStore();
    const header = `${Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(',')},label\n`;
    const row = `${Array(100_000).fill('1').join(',')},a\n`;
    await store.putBytes('s3://raw/wide/data.csv', header + row + row);
    await assert.rejects(
      prepareDataset(store, {
        source: 's3://raw/wide/',
        format: 'csv',
        split: { train: 1, validation: 0, test: 0, seed: 1 },
        outputPrefix: 's3://out/wide',
      }),
      (error: unknown) =>
        error instanceof ResourceLimitError && /data\.csv:1: more than 10000 columns/.test(error.message),
    );
  });

  void it('the CSV reader stops inside the record that breaks a limit, without reading on', async () => {
    let pulled = 0;
    async function* chunks(): AsyncGenerator<string> {
      for (let i = 0; i < 1000; i += 1) {
        pulled += 1;
        yield 'x,'.repeat(1000);
      }
    }
    await assert.rejects(drain(readCsvRecords(chunks(), { maxFields: 5000 })), /line 1: more than 5000 columns/);
    assert.equal(pulled, 6, 'the 5001st field is in the sixth chunk of 1000: refused there');
    // At the cap a wide record parses, each field once.
    const wide = await drain(readCsvRecords(chunksOf([`${Array(10_000).fill('v').join(',')}\n`])));
    assert.equal(wide[0]?.fields.length, 10_000);
  });

  void it('a JSONL line without an end is refused once over the cap, and records are counted', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<string> {
      for (;;) {
        pulled += 1;
        yield 'a'.repeat(64 * 1024);
      }
    }
    await assert.rejects(
      drain(readLines(endless(), { maxRecordChars: 1024 * 1024, source: 'x.jsonl' })),
      /x\.jsonl:1: a line longer than 1048576 characters/,
    );
    assert.equal(pulled, 17);
    await assert.rejects(drain(readLines(chunksOf(['{}\n{}\n{}\n']), { maxRecords: 2 })), /line 3: more than 2 lines/);
    assert.deepEqual(
      (await drain(readLines(chunksOf(['a\r\n\nb', 'c\n', 'd'])))).map((l) => [l.text, l.line]),
      [
        ['a', 1],
        ['bc', 3],
        ['d', 4],
      ],
    );
  });
});
