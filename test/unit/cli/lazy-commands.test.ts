/**
 * `fineflow --help`, `fineflow <command> --help` and `fineflow completion` load every command's
 * definition. They stay fast only if no definition loads the Temporal client or worker, MinIO,
 * tfjs or the YAML parser at import time: each command loads those in `run` (src/cli/command.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';

const ROOT = path.resolve(__dirname, '../../..');

/** Source files and packages a fresh process has loaded after running `code` (and awaiting its `done`). */
function loadedBy(code: string): { sources: string[]; packages: string[] } {
  const script = `require('tsx/cjs');
const before = new Set(Object.keys(require.cache));
let done;
${code}
Promise.resolve(done).then(() => {
  const loaded = Object.keys(require.cache).filter((f) => !before.has(f));
  process.stdout.write(JSON.stringify(loaded));
});`;
  const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const files = JSON.parse(result.stdout) as string[];
  const packages = new Set<string>();
  const sources: string[] = [];
  for (const file of files) {
    const inModules = file.split(`node_modules${path.sep}`)[1];
    if (inModules === undefined) sources.push(path.relative(ROOT, file));
    else
      packages.add(
        inModules.startsWith('@') ? inModules.split(path.sep).slice(0, 2).join('/') : inModules.split(path.sep)[0]!,
      );
  }
  packages.delete('tsx'); // the TypeScript loader of a clone; an installed package runs compiled JS
  return { sources, packages: [...packages] };
}

/** What a command's definition may load: the CLI's own framework, the pure core, package paths. */
function allowedSource(file: string): boolean {
  return (
    /^src\/cli\/(command|registry|completion|main|run-script)\.ts$/.test(file) ||
    /^src\/cli\/commands\/[\w-]+\.ts$/.test(file) ||
    file.startsWith('src/core/') ||
    file === 'src/package-paths.ts' ||
    // the one --stage-module resolver, shared with the worker; it imports only node:fs and node:path
    file === 'src/spec/stage-module.ts'
  );
}

void it('loading every command definition loads no package and nothing outside the CLI framework and src/core', () => {
  const { sources, packages } = loadedBy(`const { allCommands } = require('./src/cli/registry');
for (const command of allCommands()) if (!command.summary) throw new Error(command.name);`);
  assert.deepEqual(packages, [], 'packages loaded to describe the commands');
  assert.deepEqual(
    sources.filter((file) => !allowedSource(file)),
    [],
    'modules loaded to describe the commands: move their import into the command’s load()',
  );
  assert.ok(sources.includes('src/cli/commands/worker.ts'), 'the worker command was loaded');
});

void it('`fineflow --help` and `fineflow worker --help` load no package either', () => {
  const { packages } = loadedBy(`const { main } = require('./src/cli/main');
const io = { stdout: { write() { return true; } }, stderr: process.stderr, env: {}, cwd: process.cwd() };
done = main(['--help'], io).then(() => main(['worker', '--help'], io)).then(() => main(['completion', 'bash'], io));`);
  assert.deepEqual(packages, []);
});
