/**
 * `missingOutput`: which output of an ended run is gone, so a rerun runs that stage again instead of handing
 * its downstream a dead URI. A directory named without a trailing slash (fine-tune's `checkpoint` output,
 * `…/checkpoints/epoch-0010`) is there while an object lies below it: taking it for a missing object made
 * every rerun train again a fine-tune stage whose checkpoints were intact.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { missingOutput } from '../../../src/cache/cache-store';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const RUN = 's3://fineflow/runs/r1/finetune';

it('finds an object, a prefix and a directory named without its slash; names the first one gone', async () => {
  const store = createMemoryObjectStore();
  await store.ensureBucket('fineflow');
  await store.putBytes(`${RUN}/model/model.json`, '{}');
  await store.putBytes(`${RUN}/checkpoints/epoch-0010/weights.bin`, 'w');
  const present = [`${RUN}/model/model.json`, `${RUN}/model/`, `${RUN}/checkpoints/epoch-0010`];
  assert.equal(await missingOutput(store, present), undefined);
  assert.equal(
    await missingOutput(store, [...present, `${RUN}/checkpoints/epoch-0009`]),
    `artifact ${RUN}/checkpoints/epoch-0009 missing`,
  );
  assert.equal(await missingOutput(store, [`${RUN}/model/model.js`]), `artifact ${RUN}/model/model.js missing`);
  assert.equal(await missingOutput(store, [`${RUN}/checkpoints/`]), undefined);
  assert.equal(await missingOutput(store, ['not a uri']), undefined, 'a value that is no s3:// URI is not checked');
});
