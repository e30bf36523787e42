/**
 * What `npm pack` puts in the tarball (read from `npm pack --dry-run`, no build needed): what `bin` needs and none of
 * what a user should not get (tests, benches, TypeScript sources, caches, stack state), and what the launcher does
 * in a package that was packed without `npm run build` (the checkout's .npmrc sets ignore-scripts, so `npm pack`
 * does not run prepack). `npm run pack` (scripts/pack.ts) builds, packs, and refuses a tarball without the compiled
 * files: its check is run here on what npm packs of a package without and with dist/.
 * test/e2e/package-install.test.ts packs with `npm run pack`, installs the tarball and runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { missingFromPackage } from '../../../scripts/pack';
import { EXAMPLE_CODE_DIRECTORY } from '../../../src/examples/seed-data';

const root = path.join(__dirname, '../../..');
const run = promisify(execFile);

/** Paths a published package must not carry, whatever `files` grows to. */
const NOT_SHIPPED: readonly RegExp[] = [
  /^test\//,
  /^bench\//,
  /^scripts\//,
  /^docs\//,
  /(^|\/)\.fineflow\//,
  /(^|\/)node_modules\//,
  /^build\//,
  /^test-artifacts\//,
  /\.test\.[cm]?[jt]s$/,
  /^(?!dist\/).*(?<!\.d)\.ts$/,
  /\.tgz$/,
];

test('npm pack ships bin, README and schema, and no tests, benches, sources or state', async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as { files: { path: string }[] }[];
  const files = (packed?.files ?? []).map((f) => f.path);
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    files: string[];
  };
  for (const bin of Object.values(manifest.bin)) assert.ok(files.includes(bin.replace(/^\.\//, '')), bin);
  for (const needed of ['README.md', 'package.json', 'schema/pipeline.schema.json', 'infra/stack.sh']) {
    assert.ok(files.includes(needed), `${needed} is not in the tarball`);
  }
  assert.deepEqual(
    files.filter((f) => NOT_SHIPPED.some((re) => re.test(f))),
    [],
  );
  // The launcher's fallback is the compiled CLI: `files` must carry it once built.
  assert.ok(manifest.files.includes('dist/src/'), 'package.json files lacks dist/src/ (bin/fineflow.js runs it)');
});

test("npm pack ships what `fineflow dev seed` reads: the example pipelines and the command examples' code", async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as { files: { path: string }[] }[];
  const files = new Set((packed?.files ?? []).map((f) => f.path));
  const examples = readdirSync(path.join(root, 'pipelines')).filter((file) => file.endsWith('.yaml'));
  assert.deepEqual(
    examples.filter((file) => !files.has(`pipelines/${file}`)),
    [],
    'example pipelines missing from the tarball',
  );
  // The seeder pushes this folder for sweep-command and sklearn-baseline (src/examples/seed-data.ts).
  const code = readdirSync(path.join(root, ...EXAMPLE_CODE_DIRECTORY), { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => [...EXAMPLE_CODE_DIRECTORY, entry.name].join('/'));
  assert.ok(code.length > 0, `${EXAMPLE_CODE_DIRECTORY.join('/')} has files`);
  assert.deepEqual(
    code.filter((file) => !files.has(file)),
    [],
    'the command examples’ code is missing from the tarball',
  );
});

test('the launcher of a package packed without a build says so and how to fix it', async () => {
  const pkg = mkdtempSync(path.join(tmpdir(), 'fineflow-launcher-'));
  try {
    mkdirSync(path.join(pkg, 'bin'));
    copyFileSync(path.join(root, 'bin', 'fineflow.js'), path.join(pkg, 'bin', 'fineflow.js'));
    const failed = await run(process.execPath, [path.join(pkg, 'bin', 'fineflow.js'), '--help']).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.equal(failed?.code, 1);
    assert.match(failed?.stderr ?? '', /dist\/src\/cli\/main\.js is missing/);
    assert.match(failed?.stderr ?? '', /run `npm run pack` \(it builds, then packs\)/);

    // Built: the launcher runs the compiled CLI.
    mkdirSync(path.join(pkg, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(
      path.join(pkg, 'dist', 'src', 'cli', 'main.js'),
      "exports.runCli = () => process.stdout.write('compiled cli ran\\n');\n",
    );
    const ran = await run(process.execPath, [path.join(pkg, 'bin', 'fineflow.js'), '--help']);
    assert.equal(ran.stdout, 'compiled cli ran\n');
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
});

test('npm run pack builds before it packs, and its check refuses a package without the compiled files', async () => {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    main: string;
    bin: Record<string, string>;
  };
  assert.equal(manifest.scripts.pack, 'node --import tsx scripts/pack.ts');
  // The package as the checkout packs it (its package.json and `files`), before and after a build wrote dist/.
  const pkg = mkdtempSync(path.join(tmpdir(), 'fineflow-pack-check-'));
  try {
    copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
    mkdirSync(path.join(pkg, 'bin'));
    copyFileSync(path.join(root, 'bin', 'fineflow.js'), path.join(pkg, 'bin', 'fineflow.js'));
    const packedFiles = async (): Promise<string[]> => {
      const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkg });
      const [packed] = JSON.parse(stdout) as { files: { path: string }[] }[];
      return (packed?.files ?? []).map((f) => f.path);
    };
    assert.deepEqual(missingFromPackage(await packedFiles(), manifest), [
      'dist/src/index.js',
      'dist/src/cli/main.js',
      'dist/workflow-bundle.js',
      'dist/ui/',
    ]);
    for (const file of ['dist/src/index.js', 'dist/src/cli/main.js', 'dist/workflow-bundle.js', 'dist/ui/app.js']) {
      mkdirSync(path.dirname(path.join(pkg, file)), { recursive: true });
      writeFileSync(path.join(pkg, file), '// built\n');
    }
    assert.deepEqual(missingFromPackage(await packedFiles(), manifest), []);
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
});
