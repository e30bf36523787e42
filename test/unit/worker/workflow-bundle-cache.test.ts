/**
 * The workflow bundle cache (src/worker/workflow-bundle-cache.ts): its keys, its atomic writes, and that a cached
 * bundle is used only while every file it was built from is unchanged. The last test bundles real workflow code with
 * webpack and edits a module the workflow imports: the key must change and the cache must miss.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import {
  buildLockFile,
  buildWorkflowBundle,
  bundleOptionsKey,
  cachedWorkflowBundle,
  readCachedWorkflowBundle,
  sha256,
  workflowBundleKey,
  writeCachedWorkflowBundle,
  writeFileAtomic,
  type BuildLockEvent,
  type BuiltWorkflowBundle,
  type WorkflowBundleRequest,
} from '../../../src/worker/workflow-bundle-cache';

const scratch = mkdtempSync(path.join(tmpdir(), 'ff-bundle-cache-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const VERSIONS = { '@temporalio/worker': '1.24.0', webpack: '5.0.0' };
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

test('the key changes with any input file, the missing paths or the options, and not with their order', () => {
  const options = bundleOptionsKey({ workflowsPath: '/w/index.ts', workflowInterceptorModules: [] }, VERSIONS);
  const key = workflowBundleKey(options, { '/w/index.ts': A, '/w/dag.ts': B }, ['/w/dag.js']);
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.equal(workflowBundleKey(options, { '/w/dag.ts': B, '/w/index.ts': A }, ['/w/dag.js']), key);
  assert.notEqual(workflowBundleKey(options, { '/w/index.ts': A, '/w/dag.ts': A }, ['/w/dag.js']), key);
  assert.notEqual(workflowBundleKey(options, { '/w/index.ts': A }, ['/w/dag.js']), key);
  assert.notEqual(workflowBundleKey(options, { '/w/index.ts': A, '/w/dag.ts': B }, []), key);

  const traced = bundleOptionsKey({ workflowsPath: '/w/index.ts', workflowInterceptorModules: ['/t.ts'] }, VERSIONS);
  const otherEntry = bundleOptionsKey({ workflowsPath: '/w/other.ts', workflowInterceptorModules: [] }, VERSIONS);
  const newWebpack = bundleOptionsKey(
    { workflowsPath: '/w/index.ts', workflowInterceptorModules: [] },
    { ...VERSIONS, webpack: '5.0.1' },
  );
  assert.equal(new Set([options, traced, otherEntry, newWebpack]).size, 4);
  assert.equal(
    bundleOptionsKey(
      { workflowsPath: '/w/index.ts', workflowInterceptorModules: [] },
      { webpack: '5.0.0', '@temporalio/worker': '1.24.0' },
    ),
    options,
  );
});

test('an atomic write is never read half-written, and leaves no temporary file', async () => {
  const dir = mkdtempSync(path.join(scratch, 'atomic-'));
  const file = path.join(dir, 'bundle.js');
  // Large enough that a plain writeFile is seen part-way by a concurrent reader.
  const contents = ['x', 'y', 'z'].map((c) => c.repeat(4 * 2 ** 20));
  await writeFileAtomic(file, contents[0] ?? '');
  const seen = new Set<number>();
  let writing = true;
  const reader = (async () => {
    while (writing) {
      const text = readFileSync(file, 'utf8');
      const index = contents.indexOf(text);
      assert.ok(index >= 0, `read ${text.length} bytes starting ${JSON.stringify(text.slice(0, 1))}: a partial file`);
      seen.add(index);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  })();
  for (let round = 0; round < 3; round += 1) {
    await Promise.all(contents.map((content) => writeFileAtomic(file, content)));
  }
  writing = false;
  await reader;
  assert.ok(seen.size >= 1);
  assert.deepEqual(readdirSync(dir), ['bundle.js']);
  await assert.rejects(writeFileAtomic(path.join(dir, 'no-such-dir', 'f.js'), 'x'), { code: 'ENOENT' });
  assert.deepEqual(readdirSync(dir), ['bundle.js']);
});

/** A workflow "source tree" of plain files and a build that counts its calls and bundles them by concatenation. */
function fakeTree(name: string) {
  const dir = mkdtempSync(path.join(scratch, `${name}-`));
  const files = { index: path.join(dir, 'index.ts'), helper: path.join(dir, 'helper.ts') };
  writeFileSync(files.index, "export * from './helper';\n");
  writeFileSync(files.helper, 'export const answer = 1;\n');
  const missing = path.join(dir, 'helper.js');
  const request: WorkflowBundleRequest = { workflowsPath: files.index, workflowInterceptorModules: [] };
  let builds = 0;
  const build = async (): Promise<BuiltWorkflowBundle & { fresh: boolean }> => {
    builds += 1;
    const inputs = Object.fromEntries(Object.values(files).map((f) => [f, sha256(readFileSync(f))]));
    const code = Object.values(files)
      .map((f) => readFileSync(f, 'utf8'))
      .join('');
    return { code, inputs, missing: [missing], fresh: true };
  };
  return { dir, files, missing, request, build, cache: path.join(dir, 'cache'), builds: () => builds };
}

test('a cached bundle is reused while its sources are unchanged, and rebuilt after an edit', async () => {
  const tree = fakeTree('reuse');
  const first = await cachedWorkflowBundle(tree.cache, tree.request, tree.build);
  const again = await cachedWorkflowBundle(tree.cache, tree.request, tree.build);
  assert.equal(tree.builds(), 1);
  assert.equal(again.code, first.code);

  writeFileSync(tree.files.helper, 'export const answer = 2;\n');
  const edited = await cachedWorkflowBundle(tree.cache, tree.request, tree.build);
  assert.equal(tree.builds(), 2, 'an edit of an imported file is a miss');
  assert.match(edited.code, /answer = 2/);
  // One bundle per options: the stale one was removed when the new one was stored.
  assert.equal(readdirSync(tree.cache).filter((f) => f.endsWith('.js')).length, 1);

  writeFileSync(tree.missing, 'export const answer = 3;\n');
  await cachedWorkflowBundle(tree.cache, tree.request, tree.build);
  assert.equal(tree.builds(), 3, 'a file that now exists where the build found none could change resolution');
});

test('a corrupt or truncated cache entry is rebuilt, never used', async () => {
  const tree = fakeTree('corrupt');
  await cachedWorkflowBundle(tree.cache, tree.request, tree.build);
  const bundleFile = readdirSync(tree.cache).find((f) => f.endsWith('.js')) ?? '';
  const manifestFile = readdirSync(tree.cache).find((f) => f.endsWith('.inputs.json')) ?? '';

  writeFileSync(path.join(tree.cache, bundleFile), 'export const answer = 1;\n'.slice(0, 10));
  assert.equal(await readCachedWorkflowBundle(tree.cache, tree.request), undefined);
  const rebuilt = await cachedWorkflowBundle(tree.cache, tree.request, tree.build);
  assert.equal(tree.builds(), 2);
  assert.match(rebuilt.code, /answer = 1;\n$/);

  const manifest = readFileSync(path.join(tree.cache, manifestFile), 'utf8');
  for (const broken of [manifest.slice(0, manifest.length / 2), '[]', '{"format":1}', '']) {
    writeFileSync(path.join(tree.cache, manifestFile), broken);
    assert.equal(await readCachedWorkflowBundle(tree.cache, tree.request), undefined, JSON.stringify(broken));
  }
  // A manifest naming a relative (or foreign) input is not trusted either.
  writeFileSync(
    path.join(tree.cache, manifestFile),
    manifest.replace(JSON.stringify(tree.files.helper), JSON.stringify('helper.ts')),
  );
  assert.equal(await readCachedWorkflowBundle(tree.cache, tree.request), undefined);
});

test('a real workflow bundle: editing a module the workflow imports changes the key and misses the cache', async () => {
  // Under the repository, so webpack resolves @temporalio/workflow from its node_modules.
  const root = path.join(__dirname, '../../../.fineflow/tmp');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(path.join(root, 'bundle-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    path.join(dir, 'workflows.ts'),
    "import { greeting } from './greeting';\nexport async function greet(): Promise<string> {\n  return greeting;\n}\n",
  );
  writeFileSync(path.join(dir, 'greeting.ts'), "export const greeting = 'hello from the first build';\n");
  const request = { workflowsPath: path.join(dir, 'workflows.ts'), workflowInterceptorModules: [] };
  const cache = path.join(dir, 'cache');

  const first = await buildWorkflowBundle(request);
  assert.ok(first.inputs[path.join(dir, 'greeting.ts')], 'the imported module is one of the key inputs');
  const firstKey = await writeCachedWorkflowBundle(cache, request, first);
  assert.equal((await readCachedWorkflowBundle(cache, request))?.key, firstKey);

  writeFileSync(path.join(dir, 'greeting.ts'), "export const greeting = 'hello from the second build';\n");
  assert.equal(await readCachedWorkflowBundle(cache, request), undefined, 'the stale bundle is not used');
  const second = await cachedWorkflowBundle(cache, request);
  assert.match(second.code, /hello from the second build/);
  const secondKey = (await readCachedWorkflowBundle(cache, request))?.key;
  assert.ok(secondKey);
  assert.notEqual(secondKey, firstKey);
});

/** A build that starts, then waits for `release()`: lets a test hold a builder mid-build. */
function heldBuild(tree: ReturnType<typeof fakeTree>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const startedBuilding = new Promise<void>((resolve) => (started = resolve));
  const build = async () => {
    started();
    await released;
    return tree.build();
  };
  return { build, release, startedBuilding };
}

test('two builders missing at once: one builds, the other waits for its bundle', { timeout: 60_000 }, async () => {
  const tree = fakeTree('two-builders');
  const held = heldBuild(tree);
  const events: BuildLockEvent[] = [];
  const first = cachedWorkflowBundle(tree.cache, tree.request, held.build);
  await held.startedBuilding;
  const lockFile = buildLockFile(tree.cache, tree.request);
  assert.equal(JSON.parse(readFileSync(lockFile, 'utf8')).pid, process.pid, 'the builder holds the lock');
  let waiting!: () => void;
  const secondWaits = new Promise<void>((resolve) => (waiting = resolve));
  const second = cachedWorkflowBundle(tree.cache, tree.request, tree.build, {
    onLockEvent: (event) => {
      events.push(event);
      if (event.kind === 'waiting') waiting();
    },
  });
  await secondWaits;
  held.release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(tree.builds(), 1, 'webpack ran once');
  assert.equal(b.code, a.code);
  assert.deepEqual(
    events.map((event) => event.kind),
    ['waiting'],
  );
  assert.equal(existsSync(lockFile), false, 'the lock is released');
});

test(
  "a killed builder's lock is taken over: the next process builds instead of waiting out the bound",
  { timeout: 120_000 },
  async () => {
    const tree = fakeTree('killed-builder');
    const lockFile = buildLockFile(tree.cache, tree.request);
    // A real builder process: takes the lock through the same code, then hangs in its build until it is killed.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const { cachedWorkflowBundle } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/worker/workflow-bundle-cache'))});
       cachedWorkflowBundle(${JSON.stringify(tree.cache)}, ${JSON.stringify(tree.request)}, () => {
         process.stdout.write('building\\n');
         return new Promise(() => setInterval(() => undefined, 60_000));
       });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(child, 'exit');
    // A child that dies before it builds (a broken import) fails the test instead of leaving it waiting for a line.
    const first = await Promise.race([
      once(child.stdout, 'data').then(([chunk]) => String(chunk)),
      exited.then(([code]) => `exited with ${String(code)} before building`),
    ]);
    assert.equal(first, 'building\n');
    assert.equal(JSON.parse(readFileSync(lockFile, 'utf8')).pid, child.pid, 'the child holds the lock');
    child.kill('SIGKILL');
    await exited;

    const events: BuildLockEvent[] = [];
    const started = Date.now();
    const result = await cachedWorkflowBundle(tree.cache, tree.request, tree.build, {
      waitMs: 60_000,
      onLockEvent: (event) => events.push(event),
    });
    assert.ok(Date.now() - started < 30_000, `took over at once, not after the bound (${Date.now() - started} ms)`);
    assert.equal(tree.builds(), 1);
    assert.match(result.code, /answer = 1/);
    assert.deepEqual(
      events.map((event) => [event.kind, event.holder?.pid]),
      [['took-over', child.pid]],
    );
    assert.equal(existsSync(lockFile), false, 'the lock is released');
    assert.ok(await readCachedWorkflowBundle(tree.cache, tree.request), 'the bundle is stored');
  },
);

test('a live holder that never finishes is waited for up to the bound, then this process builds itself', async () => {
  const tree = fakeTree('bounded-wait');
  const lockFile = buildLockFile(tree.cache, tree.request);
  mkdirSync(tree.cache, { recursive: true });
  // A holder that is alive (this very process) but is not building: only the bound ends the wait.
  const foreign = `${JSON.stringify({ pid: process.pid, host: hostname(), startedAt: Date.now() })}\n`;
  writeFileSync(lockFile, foreign);
  const events: BuildLockEvent[] = [];
  const started = Date.now();
  const result = await cachedWorkflowBundle(tree.cache, tree.request, tree.build, {
    waitMs: 300,
    checkEveryMs: 50,
    onLockEvent: (event) => events.push(event),
  });
  assert.ok(Date.now() - started >= 300, 'waited for the bound');
  assert.equal(tree.builds(), 1);
  assert.match(result.code, /answer = 1/);
  assert.deepEqual(
    events.map((event) => event.kind),
    ['waiting', 'gave-up-waiting'],
  );
  assert.equal(readFileSync(lockFile, 'utf8'), foreign, "another process's lock is left to it");

  // A lock never written (its builder died between creating and writing it) is stale after a grace period only.
  rmSync(tree.cache, { recursive: true, force: true });
  mkdirSync(tree.cache, { recursive: true });
  writeFileSync(lockFile, '');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lockFile, old, old);
  const takenOver: BuildLockEvent[] = [];
  await cachedWorkflowBundle(tree.cache, tree.request, tree.build, { onLockEvent: (e) => takenOver.push(e) });
  assert.deepEqual(
    takenOver.map((event) => event.kind),
    ['took-over'],
  );
  assert.equal(tree.builds(), 2);
});
