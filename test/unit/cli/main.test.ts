import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { it } from 'node:test';
import { main } from '../../../src/cli/main';
import { COMMAND_MODULES, COMMAND_SUMMARIES } from '../../../src/cli/registry';
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
    assert.equal(COMMAND_SUMMARIES[name], command.summary, `summary of ${name} in src/cli/registry.ts`);
    assert.equal(command.name, name);
  }
});

void it('every command shows examples in --help and either honours --json or refuses it with a reason', async () => {
  for (const [name, moduleName] of COMMAND_MODULES) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { command } = require(`../../../src/cli/commands/${moduleName}`) as { command: CliCommand };
    assert.ok(command.examples.length > 0, `${name} has examples`);
    assert.ok(
      command.examples.some((example) => example.command.includes(`fineflow ${name}`)),
      `${name} has an example running it`,
    );
    const help = await runMain([name, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /\nexamples:\n  # /, `${name} --help shows examples`);
    if (command.json === true) {
      assert.match(help.stdout, /--json/, `${name} --help lists --json`);
      continue;
    }
    assert.match(help.stdout, /no --json: /);
    // Refused before anything runs: no connection is attempted, the reason is printed, exit 2.
    const refused = await runMain([name, '--json']);
    assert.equal(refused.code, 2, `${name} --json is refused`);
    assert.match(refused.stderr, new RegExp(`fineflow ${name}: --json is not supported: ${escape(command.json)}`));
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

void it('`fineflow help CMD` and `CMD --help` print the same help; --help wins over other mistakes', async () => {
  const viaHelp = await runMain(['help', 'plan']);
  const viaFlag = await runMain(['plan', '--bogus', '--help']);
  assert.equal(viaHelp.code, 0);
  assert.equal(viaFlag.code, 0);
  assert.equal(viaHelp.stdout, viaFlag.stdout);
  assert.match(viaHelp.stdout, /^usage: fineflow plan FILE/);
  const unknown = await runMain(['help', 'sumbit']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /did you mean 'submit'/);
});

void it('--stage-types still works in validate, with a note naming --stage-module', async () => {
  const stageModule = path.join(ROOT, 'test/stage-types/index.ts');
  const result = await runMain(['validate', 'pipelines/quickstart.yaml', '--stage-types', stageModule]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /fineflow validate: --stage-types is deprecated; use --stage-module/);
  const current = await runMain(['validate', 'pipelines/quickstart.yaml', `--stage-module=${stageModule}`]);
  assert.equal(current.code, 0, current.stderr);
  assert.equal(current.stderr, '');
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

void it('schema --typescript prints the types of the --stage-module stage types, and needs one', async () => {
  const typed = await runMain(['schema', '--typescript', '--stage-module', 'test/stage-types/index.ts']);
  assert.equal(typed.code, 0, typed.stderr);
  assert.match(typed.stdout, /from 'fineflow';/);
  assert.match(typed.stdout, /export interface StageInputValues \{/);
  assert.match(typed.stdout, /readonly "test-echo": \{/);
  // Only the module's own types: the built-in ones ship with the package.
  assert.doesNotMatch(typed.stdout, /"fine-tune"/);
  const bare = await runMain(['schema', '--typescript']);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /needs --stage-module PATH/);
  const json = await runMain(['schema', '--typescript', '--json', '--stage-module', 'test/stage-types/index.ts']);
  assert.equal(json.code, 2);
});

void it('gc --keep-sweeps takes a whole number from 1 to 100000 and names the bounds otherwise', async () => {
  for (const bad of ['0', '100001', '2.5', '-3', 'all', '']) {
    const result = await runMain(['gc', `--keep-sweeps=${bad}`]);
    assert.equal(result.code, 2, bad);
    assert.match(result.stderr, /--keep-sweeps .*expected a whole number of records from 1 to 100000/, bad);
  }
});

void it('`runs --status` with an unknown status is a usage error before any connection (exit 2, the statuses named)', async () => {
  const refused = await runMain(['runs', '--status', 'done']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /--status done: expected one of running, waiting, succeeded, failed, cancelled, terminated, timed-out/,
  );
  assert.match(
    refused.stderr,
    /usage: fineflow runs \[--pipeline P\] \[--status running\|waiting\|succeeded\|failed\|cancelled\|terminated\|timed-out\]/,
  );
});

void it('retry --help says a retry keeps the pinned base model and rerun takes the alias’s new version', async () => {
  const retry = (await runMain(['retry', '--help'])).stdout.replace(/\s+/g, ' ');
  assert.match(retry, /keeps the base model version its first attempt pinned/);
  assert.match(retry, /fineflow rerun RUN --from STAGE/);
  const rerun = (await runMain(['rerun', '--help'])).stdout.replace(/\s+/g, ' ');
  assert.match(rerun, /pins the version the alias names now/);
});

void it('a usage error prints the usage as --help does: one line per sub-command form, each a full command', async () => {
  const refused = await runMain(['models', 'show']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.deepEqual(refused.stderr.split('\n').slice(1), [
    'usage: fineflow models list',
    '       fineflow models show NAME[@VERSION|@ALIAS]',
    '       fineflow models promote NAME VERSION --alias A',
    '       fineflow models export MODEL --format tfjs|keras|savedmodel --output DIR',
    '',
  ]);
});

void it('schema refuses two of --list, --markdown and --typescript at once (it printed the last one’s output)', async () => {
  const refused = await runMain(['schema', '--list', '--markdown']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, /fineflow schema: --list and --markdown print different things; give one of them/);
});

void it('a missing or mistyped sub-command gets one wording and a suggestion, whichever command has it', async () => {
  for (const [argv, message] of [
    [['models', 'lst'], "unknown sub-command 'lst' (did you mean 'list'?); one of list, show, promote, export"],
    [['data', 'pussh'], "unknown sub-command 'pussh' (did you mean 'push'?); one of push, versions, diff, pull, ls"],
    [['dev', 'upp'], "unknown sub-command 'upp' (did you mean 'up'?); one of up, down, status, logs, seed"],
    [
      ['schedule', 'lst'],
      "unknown sub-command 'lst' (did you mean 'list'?); one of apply, list, describe, pause, unpause, trigger, " +
        'backfill, delete',
    ],
    [['models'], 'give a sub-command: list, show, promote, export'],
    [['dev'], 'give a sub-command: up, down, status, logs, seed'],
  ] as const) {
    const refused = await runMain([...argv]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr.split('\n')[0], `fineflow ${argv[0]}: ${message}`);
  }
});
