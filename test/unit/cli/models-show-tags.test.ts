/**
 * `fineflow models show NAME@VERSION` shows the version's tags (tags.json, written by register-model's `tags:`),
 * read as untrusted: the registry is writable by pipeline code, so only string values of a JSON object are kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderCard } from '../../../src/cli/commands/models';
import type { ModelCard } from '../../../src/ml/models/registry';
import { readVersionTags } from '../../../src/ml/models/registry';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const BUCKET = 'fineflow';
const card: ModelCard = {
  name: 'surface-defects',
  version: 2,
  createdAt: '2026-12-06T09:00:00.000Z',
  source: 's3://fineflow/runs/r/finetune/model/model.json',
  lineage: { runId: 'r' },
} as ModelCard;

test('a version with tags.json: its string tags, sorted, under the card; none without one', async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  assert.deepEqual(await readVersionTags(store, BUCKET, 'surface-defects', 2), {});
  await store.putJson(`s3://${BUCKET}/models/surface-defects/2/tags.json`, { team: 'ml', data: '2026-12' });
  const tags = await readVersionTags(store, BUCKET, 'surface-defects', 2);
  assert.deepEqual(tags, { team: 'ml', data: '2026-12' });
  const text = renderCard(card, ['champion'], tags);
  assert.match(text, /^surface-defects version 2 \(champion\)/);
  assert.ok(text.endsWith('\n  tags\n    data 2026-12\n    team ml'), text);
  assert.ok(!renderCard(card, []).includes('tags'), 'no tags line when there are none');
});

test('a tags.json pipeline code wrote badly: non-string values and non-objects are left out, a huge one refused', async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  const uri = `s3://${BUCKET}/models/m/1/tags.json`;
  await store.putJson(uri, { ok: 'yes', n: 3, nested: { a: 'b' }, list: ['x'] });
  assert.deepEqual(await readVersionTags(store, BUCKET, 'm', 1), { ok: 'yes' });
  await store.putJson(uri, ['a', 'b']);
  assert.deepEqual(await readVersionTags(store, BUCKET, 'm', 1), {});
  await store.putBytes(uri, Buffer.from(JSON.stringify({ big: 'x'.repeat(1024 * 1024 + 1) })));
  await assert.rejects(readVersionTags(store, BUCKET, 'm', 1), /larger than 1048576 bytes/);
});
