/**
 * `--json` is a contract: a command (or sub-command) either refuses it, with its reason and exit 2,
 * or prints nothing but JSON on stdout, whatever happens, errors included. Every command and
 * sub-command is run here with the first example its `--help` shows, plus `--json`, against
 * services that are not there (no codec key, S3 on a closed port), so each one goes as far as it
 * can and then fails: the error must reach stdout as JSON too, through main's one error handler.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { main } from '../../../src/cli/main';
import { COMMAND_MODULES } from '../../../src/cli/registry';
import { EXIT, type CliCommand } from '../../../src/cli/command';

const ROOT = path.resolve(__dirname, '../../..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'fineflow-json-contract-'));
// The examples name files of the repository (pipelines/…, test/…): run them in a scratch copy of
// those folders' places, so a command that writes (predict's output, report's HTML) writes there.
for (const folder of ['pipelines', 'test']) symlinkSync(path.join(ROOT, folder), path.join(scratch, folder));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** `dev up` starts Temporal and MinIO: not from a unit test. Its JSON is checked by test/integration/infra. */
const NOT_RUN = new Set(['dev up']);

async function run(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: '', stderr: '' };
  stdout.on('data', (c: Buffer) => (chunks.stdout += c.toString()));
  stderr.on('data', (c: Buffer) => (chunks.stderr += c.toString()));
  const env = {
    // Nothing to talk to: no codec key (Temporal is refused before connecting), S3 on a closed port.
    FINEFLOW_S3_ENDPOINT: 'http://127.0.0.1:1',
    FINEFLOW_STACK_DIR: path.join(scratch, 'stack'),
    HOME: scratch,
  };
  const code = await main(argv, { stdout, stderr, env, cwd: scratch });
  return { code, ...chunks };
}

/** The words of an example after `fineflow`, shell quotes removed, output redirections dropped. */
function exampleArgv(example: string): string[] {
  const words = example.replace(/^fineflow\s+/, '').match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
  const argv: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] as string;
    if (word === '>' || word === '|') break;
    argv.push(word.replace(/^(["'])(.*)\1$/, '$2'));
  }
  return argv;
}

function commandOf(moduleName: string): CliCommand {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`../../../src/cli/commands/${moduleName}`) as { command: CliCommand }).command;
}

/** Each command, and each sub-command, with the first example that runs it. */
function cases(): { label: string; command: CliCommand; argv: string[] }[] {
  const out: { label: string; command: CliCommand; argv: string[] }[] = [];
  for (const [name, moduleName] of COMMAND_MODULES) {
    const command = commandOf(moduleName);
    for (const sub of command.subcommands ?? [undefined]) {
      const label = sub ? `${name} ${sub}` : name;
      const example = command.examples
        .map((e) => exampleArgv(e.command))
        .find((argv) => argv[0] === name && (sub === undefined || argv[1] === sub));
      const argv = example ?? [name, ...(sub ? [sub] : [])];
      out.push({ label, command, argv: argv.filter((word) => word !== '--watch' && word !== '--follow') });
    }
  }
  return out;
}

describe('every command honours --json or refuses it', () => {
  for (const { label, command, argv } of cases()) {
    if (NOT_RUN.has(label)) continue;
    it(label, async () => {
      const result = await run([...argv.filter((word) => word !== '--json'), '--json']);
      const sub = label.split(' ')[1];
      const reason = command.json !== true ? command.json : sub ? command.jsonRefusedFor?.[sub] : undefined;
      if (reason !== undefined) {
        assert.equal(result.code, EXIT.usage, `${label} refuses --json with exit 2`);
        assert.match(result.stderr, /--json is not supported/);
        assert.ok(result.stderr.includes(reason), `the refusal gives the reason: ${result.stderr}`);
        assert.match(result.stdout, /^\{"error":\{"type":"usage"/, 'and says so on stdout as JSON');
        return;
      }
      const text = result.stdout.trim();
      assert.notEqual(text, '', `${label} --json printed nothing on stdout (exit ${result.code}): ${result.stderr}`);
      // One JSON document, or JSON lines (worker events, logs).
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text.split('\n').map((line) => JSON.parse(line) as unknown);
      }
      assert.ok(parsed !== undefined);
      // An error (rather than an outcome such as `"healthy": false`) carries the exit code it ended with.
      const last = (Array.isArray(parsed) ? parsed[parsed.length - 1] : parsed) as { error?: { exitCode?: number } };
      if (last.error) assert.equal(last.error.exitCode, result.code, `${label}: ${text}`);
    });
  }

  it('covers every sub-command (no sub-command is missed by the cases above)', () => {
    const labels = new Set(cases().map((c) => c.label));
    for (const [name, moduleName] of COMMAND_MODULES) {
      const command = commandOf(moduleName);
      for (const sub of command.subcommands ?? []) assert.ok(labels.has(`${name} ${sub}`));
      for (const refused of Object.keys(command.jsonRefusedFor ?? {}))
        assert.ok(command.subcommands?.includes(refused), `${name}: jsonRefusedFor names a real sub-command`);
    }
  });
});
