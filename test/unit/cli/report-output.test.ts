/**
 * `fineflow report … --output FILE` writes all or nothing: a fetch that fails mid-way or a process that dies
 * mid-write leaves the user's old FILE as it was, and a failure leaves no temporary file behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, it } from 'node:test';
import { saveReport } from '../../../src/cli/commands/report';
import { createMemoryObjectStore } from '../ml/helpers/memory-object-store';

const REPORT = 's3://b/runs/r1/evaluate/report/report.html';
const OLD = '<html>the report of last week</html>\n';
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ff-report-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('replaces an existing file with the whole report', async () => {
  const store = createMemoryObjectStore();
  const report = `<html>${'x'.repeat(200_000)}</html>\n`;
  await store.putBytes(REPORT, report);
  const target = path.join(dir, 'whole.html');
  await writeFile(target, OLD);
  await saveReport(store, REPORT, target);
  assert.equal(await readFile(target, 'utf8'), report);
  assert.deepEqual(await readdir(dir).then((names) => names.filter((name) => name.includes('whole.html'))), [
    'whole.html',
  ]);
});

it('keeps the old file and leaves no temporary file when the fetch fails mid-way', async () => {
  const store = createMemoryObjectStore();
  await store.putBytes(REPORT, 'unused');
  const broken = {
    ...store,
    async getStream() {
      return Readable.from(
        (async function* () {
          yield Buffer.from('<html>half a rep');
          throw new Error('connection reset by peer');
        })(),
      );
    },
    async getBytes(): Promise<Buffer> {
      throw new Error('connection reset by peer');
    },
  };
  const target = path.join(dir, 'kept.html');
  await writeFile(target, OLD);
  await assert.rejects(saveReport(broken, REPORT, target), /connection reset by peer/);
  assert.equal(await readFile(target, 'utf8'), OLD);
  assert.deepEqual(await readdir(dir).then((names) => names.filter((name) => name.includes('kept.html'))), [
    'kept.html',
  ]);
});

it('keeps the old file when the process dies mid-write (file size limit)', async () => {
  const target = path.join(dir, 'crash.html');
  await writeFile(target, OLD);
  const script = path.join(dir, 'save-large-report.ts');
  const repo = path.resolve(__dirname, '../../..');
  await writeFile(
    script,
    `import { saveReport } from ${JSON.stringify(path.join(repo, 'src/cli/commands/report'))};
import { createMemoryObjectStore } from ${JSON.stringify(path.join(repo, 'test/unit/ml/helpers/memory-object-store'))};
async function main(): Promise<void> {
  const store = createMemoryObjectStore();
  await store.putBytes(${JSON.stringify(REPORT)}, 'n'.repeat(4 * 1024 * 1024));
  await saveReport(store, ${JSON.stringify(REPORT)}, process.argv[2] as string);
}
void main();
`,
  );
  // 256 KiB per file: the write of a 4 MiB report dies part-way (SIGXFSZ, or EFBIG where it is ignored).
  const child = spawnSync(
    'bash',
    ['-c', 'ulimit -f 256 && exec "$0" --import tsx "$1" "$2"', process.execPath, script, target],
    {
      cwd: repo,
      env: { ...process.env, TSX_DISABLE_CACHE: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.ok(child.status !== 0 || child.signal !== null, `the write must fail: ${child.stderr}`);
  const found = await readFile(target, 'utf8');
  assert.ok(found === OLD, `the old report is intact; found ${found.length} bytes (a half-written report)`);
});

it('refuses a report over the size an evaluation report can be, keeping the old file', async () => {
  const store = createMemoryObjectStore();
  await store.putBytes(REPORT, `<html>${'x'.repeat(5_000)}</html>`);
  const target = path.join(dir, 'large.html');
  await writeFile(target, OLD);
  await assert.rejects(
    saveReport(store, REPORT, target, 4_096),
    (error: Error) =>
      error.name === 'ResourceLimitError' &&
      /is 5013 bytes, more than the .* MiB an evaluation report can be.*Nothing was written/.test(error.message),
  );
  assert.equal(await readFile(target, 'utf8'), OLD);
  assert.deepEqual(await readdir(dir).then((names) => names.filter((name) => name.includes('large.html'))), [
    'large.html',
  ]);
});

it('stops a report that grows past the limit while it is read (the size said otherwise)', async () => {
  const store = createMemoryObjectStore();
  await store.putBytes(REPORT, '<html></html>');
  const growing = {
    ...store,
    async getStream() {
      return Readable.from(
        (async function* () {
          for (let i = 0; i < 10; i++) yield Buffer.alloc(1_024, 'y');
        })(),
      );
    },
  };
  const target = path.join(dir, 'grown.html');
  await writeFile(target, OLD);
  await assert.rejects(saveReport(growing, REPORT, target, 4_096), /over 4096 bytes, more than the/);
  assert.equal(await readFile(target, 'utf8'), OLD);
  assert.deepEqual(await readdir(dir).then((names) => names.filter((name) => name.includes('grown.html'))), [
    'grown.html',
  ]);
});
