/**
 * Every command's `--help` reads in a 120-column terminal: prose and option descriptions wrap under their own
 * column, a long flag puts its description on the next line instead of running into it, and a command with
 * sub-commands shows one usage line per form. Example command lines are left whole, so they can be pasted.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { HELP_WIDTH, formatHelp, wrapHelpLine } from '../../../src/cli/command';
import { allCommands } from '../../../src/cli/registry';

it('wraps at spaces under the given indent, keeping the line’s own indent and words longer than a line', () => {
  assert.deepEqual(wrapHelpLine('  aaa bbb ccc', 9, '    '), ['  aaa bbb', '    ccc']);
  assert.deepEqual(wrapHelpLine('short', 80, ''), ['short']);
  assert.deepEqual(wrapHelpLine('x averyveryverylongword y', 8, '  '), ['x', '  averyveryverylongword', '  y']);
});

it('every line of every command’s help fits, except example command lines', () => {
  for (const command of allCommands()) {
    const examples = new Set(command.examples.map((e) => `  ${e.command}`));
    for (const line of formatHelp(command).split('\n'))
      if (!examples.has(line)) assert.ok(line.length <= HELP_WIDTH, `fineflow ${command.name} --help: ${line}`);
  }
});

it('an option’s description never runs into its flag', () => {
  for (const command of allCommands()) {
    const help = formatHelp(command);
    const options = help.slice(help.indexOf('\noptions:\n'), help.indexOf('\nexamples:\n'));
    for (const line of options.split('\n').filter((l) => /^ {2}(-\w, | {4})--/.test(l))) {
      const flag = /^ {2}(?:-\w, | {4})--\S+(?: \S+)?/.exec(line)?.[0] ?? '';
      assert.ok(line === flag || line.slice(flag.length).startsWith(' '), `fineflow ${command.name}: ${line}`);
      assert.ok(line === flag || line[32] === ' ', `description not in its column: ${line}`);
    }
  }
});

it('a command with sub-commands shows one usage line per form, each a full command', () => {
  const models = allCommands().find((c) => c.name === 'models');
  assert.ok(models);
  const usage = formatHelp(models).split('\n\n')[0]?.split('\n') ?? [];
  assert.deepEqual(
    usage.map((line) => line.replace(/^(usage:)? +/, '')),
    [
      'fineflow models list',
      'fineflow models show NAME[@VERSION|@ALIAS]',
      'fineflow models promote NAME VERSION --alias A',
      'fineflow models export MODEL --format tfjs|keras|savedmodel --output DIR',
    ],
  );
});

it('submit and data push name every option they take in their usage line', () => {
  // submit's usage left out --stage-module and --control-pool (plan's and validate's name theirs), data's --delete.
  for (const [name, form] of [
    ['submit', 'fineflow submit'],
    ['data', 'fineflow data push'],
  ] as const) {
    const command = allCommands().find((c) => c.name === name);
    assert.ok(command);
    const usage = (formatHelp(command).split('\n\n')[0] ?? '').replace(/\n +/g, ' ');
    const line = usage.split(/(?=fineflow )/).find((l) => l.startsWith(form)) ?? '';
    const options = (command.options ?? []).map((o) => o.name).filter((o) => o !== 'help' && o !== 'json');
    for (const option of name === 'data' ? ['delete'] : options)
      assert.ok(line.includes(`--${option}`), `${form}: --${option} missing from its usage: ${line}`);
  }
});

it('alternatives inside brackets are one form, not sub-commands: every usage line’s brackets balance', () => {
  for (const command of allCommands()) {
    for (const line of formatHelp(command).split('\n\n')[0]?.split('\n') ?? []) {
      let depth = 0;
      for (const char of line) {
        depth += char === '[' ? 1 : char === ']' ? -1 : 0;
        assert.ok(depth >= 0, `fineflow ${command.name}: ${line}`);
      }
      assert.equal(depth, 0, `fineflow ${command.name}: ${line}`);
    }
  }
  const schema = allCommands().find((c) => c.name === 'schema');
  assert.ok(schema);
  assert.equal(
    formatHelp(schema).split('\n')[0],
    'usage: fineflow schema [--stage-module PATH]… [--list | --markdown | --typescript]',
  );
});

it('"no --json" is an entry of its own in the options, not a line of --help’s description', () => {
  for (const command of allCommands().filter((c) => c.json !== true)) {
    const help = formatHelp(command);
    assert.match(help, /\n {2}-h, --help +show help for this command\n {2}no --json: /, `fineflow ${command.name}`);
  }
});
