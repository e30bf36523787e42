import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { completionScript } from '../../../src/cli/completion';
import { allCommands } from '../../../src/cli/registry';

const commands = allCommands();

/** What bash offers for `line` (the cursor at its end) with the generated script loaded. */
function bashComplete(line: string): string[] {
  const words = line.split(' ');
  const script = `${completionScript('bash', commands)}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${words.length - 1}
_fineflow
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean).sort();
}

void it('bash completes commands, sub-commands and each command’s own options', () => {
  assert.deepEqual(bashComplete('fineflow val'), ['validate']);
  assert.deepEqual(bashComplete('fineflow s'), [
    'schedule',
    'schema',
    'serve',
    'setup',
    'status',
    'submit',
    'sweep-history',
  ]);
  assert.deepEqual(bashComplete('fineflow status run-1 --w'), ['--watch']);
  assert.deepEqual(bashComplete('fineflow schedule '), [
    'apply',
    'backfill',
    'delete',
    'describe',
    'list',
    'pause',
    'trigger',
    'unpause',
  ]);
  assert.deepEqual(bashComplete('fineflow help sub'), ['submit']);
  assert.deepEqual(bashComplete('fineflow completion '), ['bash', 'fish', 'zsh']);
});

void it('bash offers the current option names only, and --json only where a command has it', () => {
  assert.deepEqual(bashComplete('fineflow validate --stage'), ['--stage-module']);
  assert.deepEqual(bashComplete('fineflow ui --j'), []);
  assert.deepEqual(bashComplete('fineflow runs --j'), ['--json']);
  // After an option that takes a value, bash falls back to file names (complete -o default).
  assert.deepEqual(bashComplete('fineflow validate --stage-module '), []);
});

void it('the bash script parses, and the zsh and fish scripts cover every command and option', () => {
  const bash = spawnSync('bash', ['-n'], { input: completionScript('bash', commands), encoding: 'utf8' });
  assert.equal(bash.status, 0, bash.stderr);
  const zsh = completionScript('zsh', commands);
  const fish = completionScript('fish', commands);
  assert.match(zsh, /^#compdef fineflow\n/);
  for (const command of commands) {
    assert.match(zsh, new RegExp(`\\n    '${command.name}:`), `zsh lists ${command.name}`);
    assert.match(fish, new RegExp(`-n __fish_use_subcommand -f -a ${command.name} `), `fish lists ${command.name}`);
    for (const option of command.options) {
      const repeat = option.kind === 'multi' ? '\\*' : '';
      assert.match(zsh, new RegExp(`'${repeat}--${option.name}[=[]`), `zsh: ${command.name} --${option.name}`);
      assert.match(
        fish,
        new RegExp(`from ${command.name}' -l ${option.name}\\b`),
        `fish: ${command.name} --${option.name}`,
      );
    }
  }
  assert.doesNotMatch(zsh + fish, /stage-types/, 'deprecated names are not offered');
});
