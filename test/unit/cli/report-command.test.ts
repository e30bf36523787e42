import assert from 'node:assert/strict';
import { it } from 'node:test';
import { findReports } from '../../../src/cli/commands/report';
import { NotFoundError } from '../../../src/core/errors';
import { createMemoryObjectStore } from '../ml/helpers/memory-object-store';

it('finds a run’s evaluation reports by stage, refuses ids that are not ids, and says when there is none', async () => {
  const store = createMemoryObjectStore();
  await store.putBytes('s3://b/runs/r1/evaluate/report/report.html', '<html>');
  await store.putBytes('s3://b/runs/r1/evaluate/report/report.json', '{}');
  await store.putBytes('s3://b/runs/r1/check/report/report.html', '<html>');
  await store.putBytes('s3://b/runs/r1/prepare/dataset/manifest.json', '{}');
  assert.deepEqual(await findReports(store, 'b', 'r1'), {
    evaluate: 's3://b/runs/r1/evaluate/report/report.html',
    check: 's3://b/runs/r1/check/report/report.html',
  });
  assert.deepEqual(await findReports(store, 'b', 'r1', 'check'), { check: 's3://b/runs/r1/check/report/report.html' });
  await assert.rejects(findReports(store, 'b', 'r1', 'prepare'), NotFoundError);
  await assert.rejects(findReports(store, 'b', 'r2'), /run r2 has no HTML report/);
  await assert.rejects(findReports(store, 'b', '../r1'), /RUN "\.\.\/r1" is not a run or stage id/);
  await assert.rejects(findReports(store, 'b', 'r1', 'a/b'), /STAGE "a\/b"/);
});
