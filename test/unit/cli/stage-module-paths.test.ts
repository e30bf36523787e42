/**
 * `--stage-module` names a file or an installed package: package names resolve from the user's working
 * directory (where their node_modules is), not from Fineflow's install; a bare file name that exists
 * there is a file. The worker's loader follows the same rule, so `fineflow worker --stage-module
 * @team/stages` loads the package its `validate` and `submit` read.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { stageModulePaths, type ParsedArgs } from '../../../src/cli/command';
import { InvalidInputError } from '../../../src/core/errors';
import { loadStageModules } from '../../../src/worker/run-worker';

const project = realpathSync(mkdtempSync(path.join(tmpdir(), 'fineflow-stage-module-')));
after(() => rmSync(project, { recursive: true, force: true }));

const MODULE = "exports.stages = { 'team-stage': async () => ({ outputs: {} }) };\n";
const packageDir = path.join(project, 'node_modules', '@team', 'stages');
mkdirSync(packageDir, { recursive: true });
writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify({ name: '@team/stages', main: 'main.js' }));
writeFileSync(path.join(packageDir, 'main.js'), MODULE);
writeFileSync(path.join(project, 'stages.js'), MODULE.replace('team-stage', 'local-stage'));
mkdirSync(path.join(project, 'lib'));
writeFileSync(path.join(project, 'lib', 'more.js'), MODULE.replace('team-stage', 'lib-stage'));

const args = (...modules: string[]): ParsedArgs => ({
  positionals: [],
  flags: {},
  values: {},
  multi: { 'stage-module': modules },
});

void it('resolves package names from the working directory and bare file names as files', () => {
  assert.deepEqual(stageModulePaths(args('@team/stages', 'stages.js', './stages.js', '@team/missing'), project), [
    path.join(packageDir, 'main.js'),
    path.join(project, 'stages.js'),
    path.join(project, 'stages.js'),
    '@team/missing',
  ]);
});

void it('the worker loads a package by name and a file by path, from the given directory', () => {
  assert.deepEqual(Object.keys(loadStageModules(['@team/stages', 'stages.js'], project)).sort(), [
    'local-stage',
    'team-stage',
  ]);
});

void it('validate and the worker read `lib/more` (a file named without its extension) as the same file', () => {
  assert.deepEqual(stageModulePaths(args('lib/more'), project), [path.join(project, 'lib', 'more')]);
  assert.deepEqual(Object.keys(loadStageModules(['lib/more'], project)), ['lib-stage']);
});

void it('a package that is not installed is an input error naming it and where it was looked up', () => {
  assert.throws(
    () => loadStageModules(['@team/missing'], project),
    (error: unknown) =>
      error instanceof InvalidInputError &&
      error.message.startsWith(
        "cannot load stage module @team/missing: Cannot find module '@team/missing' (a package name is looked up " +
          "from the current directory's node_modules",
      ) &&
      !error.message.includes('Require stack'),
  );
});
