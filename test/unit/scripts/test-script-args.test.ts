/**
 * scripts/test.sh's arguments, run for real in `--list` mode on a scratch checkout: a directory expands to
 * the test files under it, paths are taken from the caller's directory and normalised, and a path that
 * selects no test fails naming it (node --test given a directory runs nothing and passes). `--list` starts
 * nothing: no bootstrap, no lock, no stack.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const SCRIPT = path.resolve(__dirname, '../../../scripts/test.sh');
const TREE = [
  'test/unit/a/x.test.ts',
  'test/unit/a/deep/y.test.ts',
  'test/unit/a/helper.ts',
  'test/unit/b.test.ts',
  'test/integration/c.test.ts',
  'test/security/s.test.ts',
  'test/e2e/e.test.ts',
  'test/browser/w.test.ts',
  'test/fixtures/data.ts',
];
let dir: string;

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ff-test-args-'));
  mkdirSync(path.join(dir, 'scripts'));
  copyFileSync(SCRIPT, path.join(dir, 'scripts/test.sh'));
  for (const file of TREE) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), '');
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: readonly string[], cwd = dir): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', [path.join(dir, 'scripts/test.sh'), ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function listed(args: readonly string[], cwd = dir): string[] {
  const result = run(['--list', ...args], cwd);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

void describe('scripts/test.sh arguments', () => {
  void it('expands a directory to every test file under it, sorted, and nothing else', () => {
    assert.deepEqual(listed(['unit', 'test/unit/a']), ['test/unit/a/deep/y.test.ts', 'test/unit/a/x.test.ts']);
  });

  void it("lists a scope's directories when no path is given", () => {
    assert.deepEqual(listed(['unit']), ['test/unit/a/deep/y.test.ts', 'test/unit/a/x.test.ts', 'test/unit/b.test.ts']);
    assert.deepEqual(listed(['integration']), [
      'test/integration/c.test.ts',
      'test/security/s.test.ts',
      'test/e2e/e.test.ts',
      'test/browser/w.test.ts',
    ]);
  });

  void it("takes paths from the caller's directory, normalised and without duplicates", () => {
    const absolute = path.join(dir, 'test/unit/b.test.ts');
    assert.deepEqual(listed(['./test/unit/a/', 'test/unit/a/x.test.ts', absolute]), [
      'test/unit/a/deep/y.test.ts',
      'test/unit/a/x.test.ts',
      'test/unit/b.test.ts',
    ]);
    assert.deepEqual(listed(['unit', 'unit/b.test.ts', '../test/integration'], path.join(dir, 'test')), [
      'test/unit/b.test.ts',
      'test/integration/c.test.ts',
    ]);
  });

  void it('fails naming a path that selects no test, with a likely target', () => {
    const missing = run(['unit', '--list', 'test/unit/a/x-typo.test.ts']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /test\/unit\/a\/x-typo\.test\.ts matches no test: no such file or directory/);
    const typo = run(['unit', '--list', 'test/unit/b']);
    assert.match(typo.stderr, /did you mean test\/unit\/b\.test\.ts\?/);
    const scope = run(['units']);
    assert.equal(scope.status, 2);
    assert.match(
      scope.stderr,
      /units matches no test.*a scope \(the first argument\) is all, unit, integration or security/,
    );
    const empty = run(['--list', 'test/fixtures']);
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /test\/fixtures: no \*\.test\.ts file under this directory/);
    const helper = run(['--list', 'test/unit/a/helper.ts']);
    assert.equal(helper.status, 2);
    assert.match(helper.stderr, /test\/unit\/a\/helper\.ts is not a test file/);
  });

  void it('rejects an unknown option with the usage, and documents --quick and --name', () => {
    const unknown = run(['unit', '--fast']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown option --fast\nusage: scripts\/test\.sh/);
    const help = run(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--quick +skip typecheck, lint/);
    assert.match(help.stdout, /--name PATTERN/);
    assert.equal(run(['--name']).status, 2);
  });

  void it('starts nothing in --list mode: no bootstrap, no run lock', () => {
    listed(['unit']);
    assert.equal(existsSync(path.join(dir, '.fineflow')), false);
  });
});
