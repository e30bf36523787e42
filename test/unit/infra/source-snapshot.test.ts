/**
 * `npm run bench` runs every section on a copy of the source made when it starts (bench/source-snapshot.ts): an
 * edit to the checkout afterwards reaches no section, while ignored state (dependencies, results) stays shared.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import {
  OWNER_FILE,
  SNAPSHOT_PREFIX,
  removeStaleSnapshots,
  snapshotPlan,
  snapshotSource,
} from '../../../bench/source-snapshot';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'fineflow-snapshot-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function write(root: string, file: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
}

function gitRepo(): string {
  const root = path.join(scratch, 'checkout');
  write(root, '.gitignore', 'node_modules/\nbench/results/\n*.log\n');
  write(root, 'src/a.ts', 'export const a = 1;\n');
  write(root, 'src/gone.ts', 'export const gone = 1;\n');
  write(root, 'bench/section.ts', 'tracked\n');
  const git = (...args: string[]) => assert.equal(spawnSync('git', args, { cwd: root }).status, 0, args.join(' '));
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'init');
  // After the commit: an uncommitted edit, an untracked source file, a deleted tracked file, ignored state.
  write(root, 'src/a.ts', 'export const a = 2;\n');
  write(root, 'src/new.ts', 'export const added = 1;\n');
  unlinkSync(path.join(root, 'src/gone.ts'));
  write(root, 'node_modules/dep/index.js', 'module.exports = 1;\n');
  write(root, 'bench/results/old.json', '{}\n');
  write(root, 'run.log', 'log\n');
  return root;
}

it('copies the source as it is in the working tree and links ignored state back', () => {
  const root = gitRepo();
  const snapshot = snapshotSource(root, scratch);
  try {
    const at = (file: string) => path.join(snapshot.directory, file);
    assert.equal(readFileSync(at('src/a.ts'), 'utf8'), 'export const a = 2;\n');
    assert.ok(existsSync(at('src/new.ts')));
    assert.equal(existsSync(at('src/gone.ts')), false);
    assert.equal(snapshot.files, 4, '.gitignore, src/a.ts, src/new.ts, bench/section.ts');
    for (const linked of ['node_modules', 'bench/results', 'run.log'])
      assert.ok(lstatSync(at(linked)).isSymbolicLink(), linked);

    // Edits after the snapshot do not reach it; state written through a link lands in the checkout.
    write(root, 'src/a.ts', 'export const a = 3;\n');
    write(root, 'bench/section.ts', 'edited\n');
    assert.equal(readFileSync(at('src/a.ts'), 'utf8'), 'export const a = 2;\n');
    assert.equal(readFileSync(at('bench/section.ts'), 'utf8'), 'tracked\n');
    writeFileSync(at('bench/results/new.json'), '{"x":1}\n');
    assert.equal(readFileSync(path.join(root, 'bench/results/new.json'), 'utf8'), '{"x":1}\n');
    assert.equal(readFileSync(at('node_modules/dep/index.js'), 'utf8'), 'module.exports = 1;\n');
  } finally {
    snapshot.remove();
  }
  assert.equal(existsSync(snapshot.directory), false);
  assert.ok(existsSync(path.join(root, 'bench/results/new.json')), 'removing the copy leaves linked state alone');
});

it('a tracked file matched by an ignore rule is source, copied rather than linked', () => {
  const plan = snapshotPlan('a.ts\0keep.log\0a.ts\0', 'node_modules/\0keep.log\0');
  assert.deepEqual(plan, { copy: ['a.ts', 'keep.log'], link: ['build', 'node_modules'] });
});

it('links build/ even before set-up creates it, so the bench trains with the graph addon set-up restores', () => {
  // The bench snapshots first and runs infra/tfjs-native/setup.sh after; in a checkout that had no build/ yet, the
  // snapshot had no addon and trained a whole run of curves with the eager engine (other floats, same cache keys).
  const root = path.join(scratch, 'fresh');
  write(root, '.gitignore', '/build/\n');
  write(root, 'src/a.ts', 'export const a = 1;\n');
  assert.equal(spawnSync('git', ['init', '-q'], { cwd: root }).status, 0);
  const snapshot = snapshotSource(root, scratch);
  try {
    write(root, 'build/native/fineflow_tf_graph.node', 'addon\n');
    assert.equal(readFileSync(path.join(snapshot.directory, 'build/native/fineflow_tf_graph.node'), 'utf8'), 'addon\n');
  } finally {
    snapshot.remove();
  }
  assert.ok(
    existsSync(path.join(root, 'build/native/fineflow_tf_graph.node')),
    'removing the copy leaves build/ alone',
  );
});

it('does not link build/ whole when a path inside it is copied or linked on its own', () => {
  assert.deepEqual(snapshotPlan('build/keep.txt\0a.ts\0', 'build/native/\0'), {
    copy: ['a.ts', 'build/keep.txt'],
    link: ['build/native'],
  });
});

/** Resolves once `check` holds, or rejects after `ms` naming `what` (a condition, not a fixed sleep). */
async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  it(`a bench killed by ${signal} while a section runs leaves no snapshot behind`, async () => {
    // A real bench-like process: it snapshots, then blocks in spawnSync as bench.ts does while a section runs. The
    // signal goes to its whole process group, as Ctrl-C in a terminal does.
    const parent = mkdtempSync(path.join(scratch, `killed-${signal}-`));
    const root = path.join(parent, 'checkout');
    write(root, 'src/a.ts', 'export const a = 1;\n');
    assert.equal(spawnSync('git', ['init', '-q'], { cwd: root }).status, 0);
    const module = path.resolve(__dirname, '../../../bench/source-snapshot.ts');
    const code =
      `const { snapshotSource } = require(${JSON.stringify(module)});` +
      `const s = snapshotSource(${JSON.stringify(root)}, ${JSON.stringify(parent)});` +
      `require('node:fs').writeSync(1, s.directory + '\\n');` +
      `require('node:child_process').spawnSync('sleep', ['60']);`;
    const bench = spawn(process.execPath, ['--import', 'tsx', '-e', code], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(bench.stdout!, 'data')) as [Buffer];
    const directory = line.toString().trim();
    assert.ok(directory.startsWith(path.join(parent, SNAPSHOT_PREFIX)), directory);
    assert.ok(existsSync(path.join(directory, 'src/a.ts')));
    process.kill(-bench.pid!, signal);
    const [, killedBy] = (await once(bench, 'exit')) as [number | null, string | null];
    assert.equal(killedBy, signal);
    await until(() => !existsSync(directory), `${directory} still there`);
  });

it('a later start removes snapshots of dead benches (pid recorded inside) and old ownerless ones, no others', () => {
  const parent = mkdtempSync(path.join(scratch, 'stale-'));
  const make = (name: string, owner?: string) => {
    const directory = path.join(parent, `${SNAPSHOT_PREFIX}${name}`);
    mkdirSync(directory);
    if (owner !== undefined) writeFileSync(path.join(directory, OWNER_FILE), owner);
    return directory;
  };
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadOwner = make('dead', `${dead.stdout} 1\n`);
  const liveOwner = make('live', `${process.pid}\n`);
  const reusedPid = make('reused', `${process.pid} 1\n`); // our pid, another start time: a reused pid
  const garbage = make('garbage', 'x'.repeat(10_000));
  const oldOwnerless = make('old');
  utimesSync(oldOwnerless, new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 2 * 86_400_000));
  const newOwnerless = make('new');
  const notOurs = path.join(parent, 'other-dir');
  mkdirSync(notOurs);

  const removed = removeStaleSnapshots(parent);
  assert.deepEqual(removed.sort(), [deadOwner, garbage, oldOwnerless, reusedPid].sort());
  for (const kept of [liveOwner, newOwnerless, notOurs]) assert.ok(existsSync(kept), kept);
});
