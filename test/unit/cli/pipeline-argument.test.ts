/**
 * The pipeline FILE of `validate`, `plan`, `submit` and `schedule apply` is read one way: a missing one is
 * a usage error (exit 2) naming FILE as given, an oversized one is refused from its size with the
 * file-too-large diagnostic (never read whole), and diagnostics name FILE as given.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, it } from 'node:test';
import { UsageError } from '../../../src/cli/command';
import { main } from '../../../src/cli/main';
import { readPipelineArgument } from '../../../src/cli/pipeline-argument';
import { MAX_PIPELINE_BYTES } from '../../../src/spec/parse';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ff-pipeline-argument-'));
  await writeFile(path.join(dir, 'huge.yaml'), '');
  await truncate(path.join(dir, 'huge.yaml'), MAX_PIPELINE_BYTES + 1);
  await writeFile(
    path.join(dir, 'typo.yaml'),
    'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: t}\nstagse: {}\n',
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fineflow(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: '', stderr: '' };
  stdout.on('data', (c: Buffer) => (chunks.stdout += c.toString()));
  stderr.on('data', (c: Buffer) => (chunks.stderr += c.toString()));
  const code = await main(argv, { stdout, stderr, env: {}, cwd: dir });
  return { code, ...chunks };
}

const COMMANDS = [['validate'], ['plan'], ['submit'], ['schedule', 'apply']] as const;

it('names FILE as given in diagnostics and in the error for a missing one', () => {
  const parsed = readPipelineArgument('typo.yaml', dir);
  assert.equal(parsed.file, 'typo.yaml');
  assert.throws(
    () => readPipelineArgument('sub/none.yaml', dir),
    (error: Error) => error instanceof UsageError && error.message === 'cannot read sub/none.yaml: no such file',
  );
  assert.throws(
    () => readPipelineArgument('.', dir),
    (error: Error) => error instanceof UsageError && error.message === '. is not a file',
  );
});

it('every command that takes a pipeline FILE answers a missing one with exit 2 and its name', async () => {
  for (const words of COMMANDS) {
    const result = await fineflow(...words, 'nosuch.yaml');
    assert.equal(result.code, 2, `${words.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /cannot read nosuch\.yaml: no such file/, words.join(' '));
  }
});

it('every command refuses an oversized FILE from its size, with the file-too-large diagnostic', async () => {
  for (const words of COMMANDS) {
    const result = await fineflow(...words, 'huge.yaml', '--json');
    assert.equal(result.code, 1, `${words.join(' ')}: ${result.stderr}`);
    const diagnostics =
      (JSON.parse(result.stdout) as { diagnostics?: { code: string; file: string }[] }).diagnostics ??
      (JSON.parse(result.stdout) as { files: { diagnostics: { code: string; file: string }[] }[] }).files[0]
        ?.diagnostics;
    assert.deepEqual(
      diagnostics?.map((d) => [d.code, d.file]),
      [['file-too-large', 'huge.yaml']],
      words.join(' '),
    );
  }
});
