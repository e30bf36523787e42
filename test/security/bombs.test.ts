/**
 * Attack class: decompression and parsing bombs in pipeline authors' data. Asserted on bytes, not
 * wall time (the machine is shared): a 20000×20000 PNG of ~400 KB is refused from its header, and
 * the process grows by far less than the 1.6 GB the image would inflate to.
 */
import assert from 'node:assert/strict';
import { crc32, createDeflate } from 'node:zlib';
import { describe, it } from 'node:test';
import { ResourceLimitError } from '../../src/errors';
import { decodeImage, pngHeader } from '../../src/ml/data/images';

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
  for (let y = 0; y < size; y += 1) if (!deflate.write(row)) await new Promise((resolve) => deflate.once('drain', resolve));
  deflate.end();
  await done;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', Buffer.concat(compressed)), chunk('IEND', Buffer.alloc(0))]);
}

void describe('decompression bombs', () => {
  void it('a 20000×20000 PNG is refused from its header, with under 100 MB of growth', async () => {
    const bomb = await pngBomb(20_000);
    assert.ok(bomb.length < 600_000, `the bomb is ${bomb.length} bytes`);
    assert.deepEqual(pngHeader(bomb), { width: 20_000, height: 20_000, channels: 1, rawBytes: 20_000 * 20_001 });
    const before = process.memoryUsage();
    assert.throws(() => decodeImage(bomb, 'png'), (error: unknown) => error instanceof ResourceLimitError && /20000×20000.*at most 16777216 pixels/.test(error.message));
    const after = process.memoryUsage();
    assert.ok(after.rss - before.rss < 100 * 1024 * 1024, `rss grew by ${after.rss - before.rss} bytes`);
    assert.ok(after.arrayBuffers - before.arrayBuffers < 10 * 1024 * 1024, `array buffers grew by ${after.arrayBuffers - before.arrayBuffers} bytes`);
  });

  void it('a small PNG still decodes', async () => {
    const image = decodeImage(await pngBomb(16), 'png');
    assert.deepEqual([image.width, image.height, image.rgba.length], [16, 16, 16 * 16 * 4]);
  });
});
