/**
 * scripts/npm-ensure.sh, run for real on a scratch checkout with an `npm` on PATH that records its calls:
 * npm ci only when the lockfile changed, refused (naming the pid) while another scripts/test.sh of the
 * checkout holds the run lock, allowed inside a test run that is the only one; a tree npm installed by hand from the
 * same lockfile (npm's node_modules/.package-lock.json says so) counts as installed, one from another lockfile not.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';

const SCRIPT = path.resolve(__dirname, '../../../scripts/npm-ensure.sh');
const MATCHER = path.resolve(__dirname, '../../../scripts/npm-tree-matches-lock.mjs');
let dir: string;
let env: NodeJS.ProcessEnv;

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ff-npm-ensure-'));
  mkdirSync(path.join(dir, 'scripts'));
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(SCRIPT, path.join(dir, 'scripts/npm-ensure.sh'));
  copyFileSync(MATCHER, path.join(dir, 'scripts/npm-tree-matches-lock.mjs'));
  // The fake npm: records the call and does what npm ci does to node_modules (deletes, recreates).
  writeFileSync(
    path.join(dir, 'bin/npm'),
    '#!/usr/bin/env bash\necho "$*" >> npm-calls.log\nrm -rf node_modules && mkdir node_modules\n',
  );
  chmodSync(path.join(dir, 'bin/npm'), 0o755);
  writeFileSync(path.join(dir, 'package-lock.json'), '{"v": 1}\n');
  const { FINEFLOW_TEST_RUN_LOCK_FD: _fd, FINEFLOW_TEST_RUN_PID: _pid, ...rest } = process.env;
  env = { ...rest, PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}` };
});
after(() => rmSync(dir, { recursive: true, force: true }));

const calls = (): number =>
  existsSync(path.join(dir, 'npm-calls.log'))
    ? readFileSync(path.join(dir, 'npm-calls.log'), 'utf8').split('\n').length - 1
    : 0;
const ensure = (command = 'bash scripts/npm-ensure.sh') =>
  spawnSync('bash', ['-c', command], { cwd: dir, env, encoding: 'utf8' });

it('installs when there is no stamp, then not again until the lockfile changes', () => {
  assert.equal(ensure().status, 0);
  assert.equal(calls(), 1);
  assert.match(readFileSync(path.join(dir, 'npm-calls.log'), 'utf8'), /^ci --ignore-scripts/);
  assert.equal(ensure().status, 0);
  assert.equal(calls(), 1, 'up to date: no npm ci');
});

it('refuses, naming the pid, while another test run of the checkout holds the run lock', async () => {
  writeFileSync(path.join(dir, 'package-lock.json'), '{"v": 2}\n');
  mkdirSync(path.join(dir, '.fineflow/locks'), { recursive: true });
  writeFileSync(path.join(dir, 'node_modules/in-use'), '');
  // Another test.sh: holds the run lock shared and has written its pid file.
  const other = spawn('bash', ['-c', 'exec 9>.fineflow/locks/test-run.lock; flock -s 9; echo held; exec sleep 60'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await once(other.stdout, 'data');
    writeFileSync(path.join(dir, `.fineflow/locks/test-run.${other.pid}.pid`), String(other.pid));
    const refused = ensure();
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      new RegExp(`another scripts/test.sh of this checkout is running \\(pid ${other.pid}\\)`),
    );
    assert.equal(calls(), 1, 'no npm ci under a running test');
    assert.ok(existsSync(path.join(dir, 'node_modules/in-use')), 'node_modules left alone');
  } finally {
    other.kill('SIGKILL');
    await once(other, 'exit');
  }
  // Inside a test run that is the only one (its descriptor passed on): the install goes ahead.
  const inside = ensure(
    'exec 9>.fineflow/locks/test-run.lock; flock -s 9; FINEFLOW_TEST_RUN_LOCK_FD=9 bash scripts/npm-ensure.sh',
  );
  assert.equal(inside.status, 0, inside.stderr);
  assert.equal(calls(), 2);
});

/** A lockfile as npm writes it: the root, a dependency, and an optional binary for `os` only. */
function lockfile(version: string, optionalOs: string): Record<string, unknown> {
  return {
    name: 'fineflow',
    version: '0.1.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'fineflow', version: '0.1.0', dependencies: { left: version } },
      'node_modules/left': {
        version,
        resolved: `https://registry.npmjs.org/left/-/left-${version}.tgz`,
        integrity: `sha512-${version}`,
      },
      'node_modules/@esbuild/only-there': { version: '0.25.0', dev: true, optional: true, os: [optionalOs] },
    },
  };
}

/** What npm records in node_modules after installing `lock`: every entry but the root's and the skipped binary's. */
function installedBy(lock: Record<string, unknown>): void {
  const {
    '': _root,
    'node_modules/@esbuild/only-there': _skipped,
    ...installed
  } = lock.packages as object as Record<string, unknown>;
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  rmSync(path.join(dir, 'node_modules/.fineflow-lock-sha256'), { force: true });
  writeFileSync(path.join(dir, 'node_modules/.package-lock.json'), JSON.stringify({ ...lock, packages: installed }));
}

const sha256 = (file: string): string =>
  createHash('sha256')
    .update(readFileSync(path.join(dir, file)))
    .digest('hex');

it('a tree npm installed by hand from this lockfile counts as installed, and is stamped', () => {
  const lock = lockfile('1.0.0', 'aix');
  writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  installedBy(lock);
  const before = calls();
  const result = ensure();
  assert.equal(result.status, 0, result.stderr);
  assert.equal(calls(), before, 'no second npm ci after a manual one');
  assert.equal(
    readFileSync(path.join(dir, 'node_modules/.fineflow-lock-sha256'), 'utf8').trim(),
    sha256('package-lock.json'),
  );
});

it('a tree installed from another lockfile, or without an optional package for this platform, is reinstalled', () => {
  // The lockfile moved on (a pull, a branch switch) after a manual install.
  installedBy(lockfile('1.0.0', 'aix'));
  writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lockfile('1.0.1', 'aix'), null, 2)}\n`);
  let before = calls();
  assert.equal(ensure().status, 0);
  assert.equal(calls(), before + 1, 'a changed dependency: npm ci');
  // The optional binary is for this machine, and the record lacks it.
  const here = lockfile('1.0.0', process.platform);
  writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(here, null, 2)}\n`);
  installedBy(here);
  before = calls();
  assert.equal(ensure().status, 0);
  assert.equal(calls(), before + 1, "this platform's optional package missing: npm ci");
});
