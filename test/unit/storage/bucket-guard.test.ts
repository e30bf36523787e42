/**
 * A command creates only the buckets it is configured for (FINEFLOW_BUCKET, FINEFLOW_DATASET_BUCKETS): `data push` to a
 * mistyped bucket created it with the CLI's credentials and pushed the data where no pipeline looks.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pushDirectory } from '../../../src/cli/commands/data';
import { loadConfig } from '../../../src/config';
import { InvalidInputError } from '../../../src/core/errors';
import { bucketCreation } from '../../../src/storage/bucket-guard';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const s3 = { bucket: 'fineflow', datasetBuckets: ['datasets'] };

test('the configured buckets may be created; another is refused naming it, the expected ones and the fix', () => {
  assert.deepEqual(bucketCreation('fineflow', s3, 's3://fineflow/x/'), {});
  assert.deepEqual(bucketCreation('datasets', s3, 's3://datasets/x/'), {});
  assert.deepEqual(bucketCreation('anything', { bucket: 'fineflow', datasetBuckets: ['*'] }, 's3://anything/'), {});
  const refusal = bucketCreation('datsets', s3, 's3://datsets/defects/').refuseToCreate?.();
  assert.ok(refusal instanceof InvalidInputError);
  assert.equal(
    refusal.message,
    'bucket datsets (from s3://datsets/defects/) does not exist, and fineflow creates only the buckets it is ' +
      'configured for: fineflow (FINEFLOW_BUCKET), datasets (FINEFLOW_DATASET_BUCKETS); did you mean datasets? ' +
      'Fix the bucket in ' +
      'the URI, or to make a new dataset bucket add it to FINEFLOW_DATASET_BUCKETS (e.g. ' +
      'FINEFLOW_DATASET_BUCKETS=datasets,datsets)',
  );
});

test('FINEFLOW_DATASET_BUCKETS: default datasets, a list; a name that is not a bucket is refused', () => {
  assert.deepEqual(loadConfig({}).s3.datasetBuckets, ['datasets']);
  assert.deepEqual(loadConfig({ FINEFLOW_DATASET_BUCKETS: 'raw, images' }).s3.datasetBuckets, ['raw', 'images']);
  assert.throws(
    () => loadConfig({ FINEFLOW_DATASET_BUCKETS: 'Bad_Name' }),
    /FINEFLOW_DATASET_BUCKETS: Bad_Name is not/,
  );
});

test('data push into a missing bucket it may not create writes nothing; an existing bucket is used', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ff-bucket-guard-'));
  try {
    await writeFile(join(dir, 'a.csv'), 'x\n1\n');
    const store = createMemoryObjectStore({ buckets: ['fineflow'] });
    const push = (target: string) =>
      pushDirectory(store, 'fineflow', dir, target, () => undefined, bucketCreation(target.split('/')[2]!, s3, target));
    await assert.rejects(push('s3://datsets/set/'), /bucket datsets .* does not exist/);
    await assert.rejects(store.list('s3://datsets/'), /bucket/, 'the bucket was not created');
    assert.equal((await push('s3://datasets/set/')).files.length, 1);
    await store.ensureBucket('legacy');
    assert.equal((await push('s3://legacy/set/')).files.length, 1, 'an existing bucket is used');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
