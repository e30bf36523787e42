import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { it } from 'node:test';
import { COMMAND_MODULES, COMMAND_SUMMARIES, main } from '../../../src/cli/main';
import type { CliCommand } from '../../../src/cli/command';

const ROOT = path.resolve(__dirname, '../../..');

async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: '', stderr: '' };
  stdout.on('data', (c: Buffer) => (chunks.stdout += c.toString()));
  stderr.on('data', (c: Buffer) => (chunks.stderr += c.toString()));
  const code = await main(argv, { stdout, stderr, env: {}, cwd: ROOT });
  return { code, ...chunks };
}

void it('the --help summaries equal each command module’s own summary, and every command has one', () => {
  for (const [name, moduleName] of COMMAND_MODULES) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { command } = require(`../../../src/cli/commands/${moduleName}`) as { command: CliCommand };
    assert.equal(COMMAND_SUMMARIES[moduleName], command.summary, `summary of ${name} in src/cli/main.ts`);
  }
});

void it('mistyped commands and options get the nearest name by edit distance', async () => {
  const logs = await runMain(['lgos']);
  assert.equal(logs.code, 2);
  assert.match(logs.stderr, /unknown command 'lgos' \(did you mean 'logs'\?\)/);
  const watch = await runMain(['status', 'run-1', '--wacth']);
  assert.equal(watch.code, 2);
  assert.match(watch.stderr, /unknown option --wacth \(did you mean --watch\?\)/);
});

void it('a closed pipe ends the command quietly: `fineflow schema | head -c 10`', () => {
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', 'node bin/fineflow.js schema | head -c 10'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(result.stderr, '', 'no stack trace on a broken pipe');
  assert.equal(result.stdout.length, 10);
  assert.equal(result.status, 0);
});
