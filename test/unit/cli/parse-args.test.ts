import assert from 'node:assert/strict';
import { it } from 'node:test';
import { UsageError, parseArgs, stageModulePaths, wantsHelp, type OptionSpec } from '../../../src/cli/command';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'set', kind: 'multi', valueName: 'k=v', description: 'override' },
  { name: 'watch', short: 'w', kind: 'boolean', description: 'follow' },
  { name: 'output', short: 'o', kind: 'string', valueName: 'FILE', description: 'where' },
  { name: 'stage-module', kind: 'multi', valueName: 'PATH', description: 'modules', deprecatedNames: ['stage-types'] },
];

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof UsageError, `a UsageError, not ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a UsageError');
}

void it('parses positionals, booleans, values (spaced and =) and repeated options', () => {
  const args = parseArgs(['a.yaml', '--set', 'x=1', '-w', '--set=y=2', '-o', 'out.csv', '--json', 'b.yaml'], OPTIONS);
  assert.deepEqual(args.positionals, ['a.yaml', 'b.yaml']);
  assert.deepEqual(args.flags, { watch: true, json: true });
  assert.deepEqual(args.values, { output: 'out.csv' });
  assert.deepEqual(args.multi, { set: ['x=1', 'y=2'] });
});

void it('everything after -- is positional, even what looks like an option', () => {
  const args = parseArgs(['--watch', '--', '--set', '-w'], OPTIONS);
  assert.deepEqual(args.positionals, ['--set', '-w']);
  assert.deepEqual(args.flags, { watch: true });
});

void it('unknown options name the nearest known one; unknown short options list the short ones', () => {
  assert.equal(
    usageError(() => parseArgs(['--wacth'], OPTIONS)),
    'unknown option --wacth (did you mean --watch?)',
  );
  assert.equal(
    usageError(() => parseArgs(['--stage-modul', 'x'], OPTIONS)),
    'unknown option --stage-modul (did you mean --stage-module?)',
  );
  assert.equal(
    usageError(() => parseArgs(['--frobnicate'], OPTIONS)),
    'unknown option --frobnicate',
  );
  assert.equal(
    usageError(() => parseArgs(['-x'], OPTIONS)),
    'unknown option -x; short options: -w, -o, -h',
  );
});

void it('values: missing, given to a flag, or an option where a value belongs are usage errors', () => {
  assert.equal(
    usageError(() => parseArgs(['--output'], OPTIONS)),
    '--output needs a value (FILE)',
  );
  assert.equal(
    usageError(() => parseArgs(['--watch=yes'], OPTIONS)),
    '--watch takes no value',
  );
  assert.match(
    usageError(() => parseArgs(['--output', '--watch'], OPTIONS)),
    /--output is followed by an option.*--output=VALUE/,
  );
  assert.deepEqual(parseArgs(['--output=-'], OPTIONS).values, { output: '-' });
});

void it('a deprecated name parses as the current one and leaves a note', () => {
  const notes: string[] = [];
  const args = parseArgs(['--stage-types', 'a.js', '--stage-types=b.js', '--stage-module', 'c.js'], OPTIONS, (n) =>
    notes.push(n),
  );
  assert.deepEqual(args.multi['stage-module'], ['a.js', 'b.js', 'c.js']);
  assert.deepEqual(notes, [
    '--stage-types is deprecated; use --stage-module (same meaning)',
    '--stage-types is deprecated; use --stage-module (same meaning)',
  ]);
});

void it('--help anywhere before -- asks for help', () => {
  assert.equal(wantsHelp(['x', '--bogus', '-h']), true);
  assert.equal(wantsHelp(['--', '--help']), false);
  assert.equal(wantsHelp(['x']), false);
});

void it('--stage-module paths resolve against the working directory; package names stay names', () => {
  const args = parseArgs(
    [
      '--stage-module',
      './a.js',
      '--stage-module',
      'lib/b.js',
      '--stage-module',
      'pkg',
      '--stage-module',
      '@team/stages',
    ],
    OPTIONS,
  );
  assert.deepEqual(stageModulePaths(args, '/work/p'), ['/work/p/a.js', '/work/p/lib/b.js', 'pkg', '@team/stages']);
});
