import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  PACKAGE_ROOT,
  RUNNING_FROM_SOURCE,
  defaultStackDir,
  packageVersion,
  stackDir,
} from '../../../src/package-paths';

void describe('package paths', () => {
  void it('finds the package root from the sources of a clone', () => {
    assert.equal(RUNNING_FROM_SOURCE, true);
    assert.equal(PACKAGE_ROOT, path.resolve(__dirname, '../../..'));
    assert.ok(existsSync(path.join(PACKAGE_ROOT, 'infra', 'stack.sh')));
    assert.match(packageVersion(), /^\d+\.\d+\.\d+/);
  });

  void it("keeps a clone's stack in its .fineflow/dev, as infra/stack.sh does", () => {
    assert.equal(defaultStackDir({ HOME: '/home/u' }), path.join(PACKAGE_ROOT, '.fineflow', 'dev'));
  });

  void it('resolves FINEFLOW_STACK_DIR against the working directory, and ignores it when blank', () => {
    assert.equal(stackDir({ FINEFLOW_STACK_DIR: 'state/dev' }, '/work/x'), '/work/x/state/dev');
    assert.equal(stackDir({ FINEFLOW_STACK_DIR: '/abs/dev' }, '/work/x'), '/abs/dev');
    assert.equal(stackDir({ FINEFLOW_STACK_DIR: '  ' }, '/work/x'), defaultStackDir({}));
  });
});
