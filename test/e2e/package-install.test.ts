/**
 * The npm package as a user gets it: `npm run pack` (build, then `npm pack`), the tarball installed into an
 * empty folder (no clone, no tsx, no sources), then the installed `fineflow` validates and plans
 * pipelines, its library entry point loads, its state goes to the user's home and the native
 * setup is reachable. Slow (a build and an install, a few minutes on a shared machine): it runs
 * in the e2e set, not with the unit tests.
 * Run with: bash scripts/test.sh integration test/e2e/package-install.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { compilePlan } from '../../src/spec';
import { freePort } from '../helpers/free-port';

const REPO = path.resolve(__dirname, '../..');
const run = promisify(execFile);

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end; a non-zero exit is a result here, not an exception. */
async function exec(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(file, [...args], {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Environment of the installed CLI: no FINEFLOW_STACK_DIR from the test stack, a home of its own. */
function userEnv(home: string): NodeJS.ProcessEnv {
  return { HOME: home, XDG_STATE_HOME: '', FINEFLOW_STACK_DIR: '', NODE_OPTIONS: '' };
}

void describe('the published package', () => {
  let work: string;
  let app: string;
  let home: string;
  let packed: { files: { path: string }[]; filename: string };
  const manifest = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  const fineflow = (): string => path.join(app, 'node_modules', '.bin', 'fineflow');

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'fineflow-pack-'));
    app = path.join(work, 'app');
    home = path.join(work, 'home');
    mkdirSync(app);
    mkdirSync(home);
    // The README's way: `npm run pack` builds dist/, packs, and refuses a tarball without the compiled files.
    const pack = await exec('npm', ['run', '--silent', 'pack', '--', '--json', '--pack-destination', work], REPO);
    assert.equal(pack.code, 0, `npm run pack failed:\n${pack.stderr}`);
    packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0] as typeof packed;
    writeFileSync(path.join(app, 'package.json'), '{"name": "app", "private": true}\n');
    // --ignore-scripts as the repository's .npmrc: tfjs-node's download is replaced by `fineflow setup`.
    const install = await exec(
      'npm',
      ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(work, packed.filename)],
      app,
    );
    assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.stderr}`);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  void it('ships the compiled code, the prebuilt bundles and the scripts it runs, and no tests or sources', () => {
    const files = packed.files.map((f) => f.path);
    for (const needed of [
      'bin/fineflow.js',
      'dist/src/cli/main.js',
      'dist/src/index.d.ts',
      'dist/workflow-bundle.js',
      'dist/ui/app.js',
      'infra/stack.sh',
      'infra/tfjs-native/setup.sh',
      'src/ml/graph/native/fineflow_tf_graph.c',
    ]) {
      assert.ok(files.includes(needed), `${needed} is missing from the tarball`);
    }
    const unwanted = files.filter((f) => /(^|\/)test\/|\.test\.|^bench\/|\.ts$/.test(f) && !f.endsWith('.d.ts'));
    assert.deepEqual(unwanted, [], 'tests, benchmarks and TypeScript sources stay out of the tarball');
    assert.ok(!existsSync(path.join(app, 'node_modules', 'tsx')), 'tsx is a development dependency only');
  });

  void it('validates every example pipeline and reports a broken one with its position', async () => {
    const shipped = path.join(app, 'node_modules', 'fineflow', 'pipelines');
    const examples = readdirSync(shipped).filter((file) => file.endsWith('.yaml'));
    assert.ok(examples.length >= 5, `examples shipped: ${examples.join(', ')}`);
    for (const file of examples) copyFileSync(path.join(shipped, file), path.join(app, file));
    // Sub-pipelines: the files they run ship beside them (pipelines/parts/).
    cpSync(path.join(shipped, 'parts'), path.join(app, 'parts'), { recursive: true });
    const valid = await exec(fineflow(), ['validate', ...examples], app, userEnv(home));
    assert.equal(valid.code, 0, valid.stderr);
    assert.equal(valid.stdout.split('\n').filter((line) => line.includes('is valid')).length, examples.length);
    writeFileSync(
      path.join(app, 'broken.yaml'),
      'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: b}\nstages:\n  a: {uses: fine-tun}\n',
    );
    const broken = await exec(fineflow(), ['validate', '--json', 'broken.yaml'], app, userEnv(home));
    assert.equal(broken.code, 1);
    const report = JSON.parse(broken.stdout) as { files: { diagnostics: Record<string, unknown>[] }[] };
    const [diagnostic] = report.files[0]?.diagnostics ?? [];
    assert.deepEqual(
      { code: diagnostic?.code, line: diagnostic?.line, column: diagnostic?.column, file: diagnostic?.file },
      { code: 'unknown-stage-type', line: 5, column: 13, file: 'broken.yaml' },
    );
  });

  void it("writes the command examples' code as `fineflow dev seed` pushes it, from the installed package", async () => {
    // The seeder's own catalogue in the installed dist/ (no stack needed to write the files it would push): the
    // Python of sweep-command and sklearn-baseline comes from the package's pipelines/python/, as from a checkout.
    const seedData = path.join(app, 'node_modules', 'fineflow', 'dist', 'src', 'examples', 'seed-data.js');
    for (const uri of [
      's3://datasets/code/sweep-command/',
      's3://datasets/code/sklearn-baseline/sklearn_baseline.py',
    ]) {
      const out = mkdtempSync(path.join(work, 'seed-'));
      const written = await exec(
        process.execPath,
        [
          '-e',
          'require(process.argv[1]).seedDataFor(process.argv[2]).write(process.argv[3]).then((n) => console.log(n))',
          seedData,
          uri,
          out,
        ],
        app,
        userEnv(home),
      );
      assert.equal(written.code, 0, `${uri}: ${written.stderr}`);
      const expected = readdirSync(path.join(REPO, 'pipelines', 'python'), { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => entry.name)
        .sort();
      assert.equal(written.stdout.trim(), String(expected.length), uri);
      assert.deepEqual(readdirSync(out).sort(), expected, uri);
      for (const file of expected)
        assert.ok(
          readFileSync(path.join(out, file)).equals(readFileSync(path.join(REPO, 'pipelines', 'python', file))),
          `${uri}: ${file} is the checkout's`,
        );
    }
  });

  void it('plans exactly what the clone plans', async () => {
    const planned = await exec(
      fineflow(),
      ['plan', 'quickstart.yaml', '--json', '--set', 'epochs=12'],
      app,
      userEnv(home),
    );
    assert.equal(planned.code, 0, planned.stderr);
    const expected = compilePlan(
      readFileSync(path.join(REPO, 'pipelines', 'quickstart.yaml'), 'utf8'),
      'quickstart.yaml',
      {
        set: ['epochs=12'],
      },
    );
    assert.ok(expected.plan);
    assert.deepEqual(JSON.parse(planned.stdout), JSON.parse(JSON.stringify(expected.plan)));
    const text = await exec(fineflow(), ['plan', 'quickstart.yaml'], app, userEnv(home));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /stages \(5, 5 levels\)/);
  });

  void it('answers --version and --help, and loads as a library from dist/', async () => {
    const version = await exec(fineflow(), ['--version'], app, userEnv(home));
    assert.equal(version.stdout.trim(), manifest.version);
    const help = await exec(fineflow(), ['--help'], app, userEnv(home));
    assert.equal(help.code, 0);
    assert.match(help.stdout, /\n {2}setup +build or restore the native TensorFlow backend/);
    const library = await exec(
      process.execPath,
      [
        '-e',
        "const f = require('fineflow'); console.log(require.resolve('fineflow'), typeof f.compilePlan, typeof f.InvalidInputError)",
      ],
      app,
      userEnv(home),
    );
    assert.equal(library.code, 0, library.stderr);
    assert.equal(
      library.stdout.trim(),
      `${path.join(app, 'node_modules', 'fineflow', 'dist', 'src', 'index.js')} function function`,
    );
  });

  void it("keeps the local stack's state in the user's home, not in the install directory", async () => {
    // Free ports, not fixed ones: anything another checkout or program listening on 11898/11899 failed this test.
    const status = await exec(fineflow(), ['dev', 'status', '--json'], app, {
      ...userEnv(home),
      FINEFLOW_TEMPORAL_PORT: String(await freePort()),
      FINEFLOW_MINIO_PORT: String(await freePort()),
    });
    assert.equal(status.code, 1, 'nothing listens on the ports chosen for this test');
    const endpoints = JSON.parse(status.stdout) as { healthy: boolean; env: { FINEFLOW_CODEC_KEY_FILE: string } };
    assert.equal(endpoints.healthy, false);
    assert.equal(
      endpoints.env.FINEFLOW_CODEC_KEY_FILE,
      path.join(home, '.local', 'state', 'fineflow', 'dev', 'codec-keys'),
    );
    assert.match(status.stderr, new RegExp(`state: ${path.join(home, '.local/state/fineflow/dev')}`));
    assert.ok(!existsSync(path.join(app, 'node_modules', 'fineflow', '.fineflow')));
  });

  void it('reaches the native TensorFlow setup from the installed package', async () => {
    const setup = await exec(fineflow(), ['setup', '--json'], app, { ...userEnv(home), HOME: homedir() });
    const result = JSON.parse(setup.stdout) as { native: boolean; graphAddon: boolean; reason?: string };
    assert.equal(setup.code, result.native ? 0 : 1);
    // The bootstrap of this clone cached a binding: the installed package must find and load it too.
    if (existsSync(path.join(homedir(), '.cache', 'fineflow', 'tfjs-native', 'binding'))) {
      assert.equal(result.native, true, result.reason);
      assert.ok(
        existsSync(path.join(app, 'node_modules', '@tensorflow', 'tfjs-node', 'lib', 'napi-v8', 'tfjs_binding.node')),
      );
    }
  });
});
