/**
 * `fineflow data pull` writes each file whole or not at all: a download cut midway (a store stream
 * that fails after some bytes) or bytes failing the manifest's sha256 leave no partial file, no
 * temporary file, and an existing file keeps its old contents. In-memory store: no server.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { sha256Hex } from '../../../src/canonical-json';
import { pullDatasetVersion } from '../../../src/cli/commands/data';
import type { DatasetVersionManifest } from '../../../src/datasets/dataset-version';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import type { ObjectStore } from '../../../src/storage/object-store';

const PREFIX = 's3://data/set/';
const GOOD = 'a,b\n1,2\n3,4\n';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ff-data-pull-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** What the store sends for `sub/cut.csv`, whatever it holds: a dropped connection, or other bytes. */
type Served = () => Readable;

/**
 * `ok.csv` and `sub/cut.csv` (both holding GOOD) in the memory store, sealed as a version; reading
 * `sub/cut.csv` streams what `served` gives, as a connection cut midway or corrupted in transit would.
 */
async function versionServing(served?: Served): Promise<{ store: ObjectStore; manifest: DatasetVersionManifest }> {
  const memory = createMemoryObjectStore({ buckets: ['data'] });
  const objects = [];
  for (const key of ['ok.csv', 'sub/cut.csv']) {
    const { etag } = await memory.putBytes(`${PREFIX}${key}`, GOOD);
    objects.push({ key, size: GOOD.length, sha256: sha256Hex(GOOD), etag });
  }
  const manifest: DatasetVersionManifest = {
    format: 1,
    id: 'v-test',
    prefix: PREFIX,
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'test',
    count: 2,
    bytes: 2 * GOOD.length,
    objects,
  };
  const store: ObjectStore = {
    ...memory,
    async getStream(uri, options) {
      return served && uri.endsWith('cut.csv') ? served() : memory.getStream(uri, options);
    },
  };
  return { store, manifest };
}

const droppedConnection: Served = () =>
  Readable.from(
    (async function* () {
      yield Buffer.from('a,b\n1,');
      throw new Error('read ECONNRESET');
    })(),
  );
const corrupted: Served = () => Readable.from([Buffer.from(GOOD.replace('3', '8'))]);

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(folder.length + 1))
    .sort();
}

test('a download cut midway leaves no partial file and no temporary file', async () => {
  const out = join(dir, 'cut');
  const { store, manifest } = await versionServing(droppedConnection);
  await assert.rejects(
    pullDatasetVersion(store, manifest, out, () => undefined),
    /ECONNRESET/,
  );
  assert.deepEqual(await filesUnder(out), ['ok.csv'], 'only the file that arrived whole');
  assert.equal(await readFile(join(out, 'ok.csv'), 'utf8'), GOOD);
});

test('bytes that fail the manifest sha256 are not kept, and an existing file keeps its contents', async () => {
  const out = join(dir, 'corrupt');
  const { store, manifest } = await versionServing(corrupted);
  await mkdir(join(out, 'sub'), { recursive: true });
  await writeFile(join(out, 'sub', 'cut.csv'), 'older copy\n');
  await assert.rejects(
    pullDatasetVersion(store, manifest, out, () => undefined),
    /is corrupt: sha256/,
  );
  assert.equal(await readFile(join(out, 'sub', 'cut.csv'), 'utf8'), 'older copy\n');
  assert.deepEqual(await filesUnder(out), ['ok.csv', 'sub/cut.csv']);
});

test('a pull that succeeds writes every object verified, with nothing else beside them', async () => {
  const out = join(dir, 'whole');
  const { store, manifest } = await versionServing();
  const lines: string[] = [];
  assert.equal(await pullDatasetVersion(store, manifest, out, (line) => lines.push(line)), 2 * GOOD.length);
  assert.deepEqual(await filesUnder(out), ['ok.csv', 'sub/cut.csv']);
  assert.equal(await readFile(join(out, 'sub', 'cut.csv'), 'utf8'), GOOD);
  assert.equal(lines.length, 2);
});
