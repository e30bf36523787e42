/**
 * The all-or-nothing output file of `predict -o`: the target appears only on commit, with every
 * byte written; abort (any failure) deletes the temporary file and leaves an existing target as it was.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { openAtomicOutput, temporaryPathFor } from '../../../src/cli/atomic-output';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ff-atomic-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('names the temporary file as a hidden sibling of the target', () => {
  const temporary = temporaryPathFor('/data/out/predictions.csv');
  assert.match(temporary, /^\/data\/out\/\.predictions\.csv\.\d+\.[0-9a-f]{8}\.tmp$/);
  assert.notEqual(temporary, temporaryPathFor('/data/out/predictions.csv'));
});

it('shows the target only on commit, with every byte', async () => {
  const target = join(dir, 'committed.csv');
  const output = await openAtomicOutput(target);
  for (let i = 0; i < 1000; i++) output.stream.write(`${i},${'x'.repeat(100)}\n`);
  assert.deepEqual(await readdir(dir).then((names) => names.filter((n) => n === 'committed.csv')), []);
  await output.commit();
  await output.abort(); // after commit: a no-op, the file stays
  const lines = (await readFile(target, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 1000);
  assert.equal(lines[999]?.split(',')[0], '999');
  assert.deepEqual(
    (await readdir(dir)).filter((name) => name.endsWith('.tmp')),
    [],
  );
});

it('leaves nothing on abort and keeps an existing target unchanged', async () => {
  const fresh = join(dir, 'fresh.csv');
  const first = await openAtomicOutput(fresh);
  first.stream.write('half a line');
  await first.abort();
  const existing = join(dir, 'existing.csv');
  await writeFile(existing, 'old\n');
  const second = await openAtomicOutput(existing);
  second.stream.write('new\n');
  await second.abort();
  assert.equal(await readFile(existing, 'utf8'), 'old\n');
  const names = await readdir(dir);
  assert.ok(!names.includes('fresh.csv'), 'no target after abort');
  assert.deepEqual(
    names.filter((name) => name.endsWith('.tmp')),
    [],
  );
});

it('fails before any work when the folder cannot be written', async () => {
  await assert.rejects(openAtomicOutput(join(dir, 'missing-folder', 'out.csv')), /ENOENT/);
});
