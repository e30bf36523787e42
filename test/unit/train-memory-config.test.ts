import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { InvalidInputError } from '../../src/core/errors';

test('FINEFLOW_TRAIN_MEMORY_MB caps training children: default 4096, bad values fail naming the variable', () => {
  assert.equal(loadConfig({}).trainMemoryMb, 4096);
  assert.equal(loadConfig({ FINEFLOW_TRAIN_MEMORY_MB: '1024' }).trainMemoryMb, 1024);
  for (const bad of ['lots', '100', '2.5', '9999999']) {
    assert.throws(
      () => loadConfig({ FINEFLOW_TRAIN_MEMORY_MB: bad }),
      (error: unknown) => error instanceof InvalidInputError && error.details.variable === 'FINEFLOW_TRAIN_MEMORY_MB',
    );
  }
});
