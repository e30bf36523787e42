/**
 * Smoke test of the production-shaped stack: a real fine-tune pipeline submitted from the root
 * namespace runs on the worker hosts (network namespaces that reach Temporal on PostgreSQL and the
 * erasure-coded MinIO only over the private bridge), and its artifacts are in MinIO.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fineTunePlan, startProdHarness, type ProdHarness } from './harness';

let h: ProdHarness;
before(async () => {
  h = await startProdHarness();
});
after(async () => {
  await h?.close();
});

test('the stack is the production shape: Temporal server on PostgreSQL, 4-drive MinIO, workers in namespaces', () => {
  const env = process.env;
  assert.match(env.TEMPORAL_ADDRESS ?? '', /^10\.77\.\d+\.1:\d+$/, 'Temporal is reached over the bridge');
  assert.equal((env.FINEFLOW_PROD_MINIO_DRIVES ?? '').split(' ').length, 4);
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(namespaces.split('\n').filter((line) => /^ff\d+-h\d/.test(line)).length >= 2, namespaces);
  // A worker host has no route to the root namespace's loopback services: only the bridge.
  const ns =
    namespaces
      .split('\n')
      .find((line) => /^ff\d+-h1/.test(line))
      ?.split(' ')[0] ?? '';
  const routes = execFileSync('ip', ['-n', ns, 'route'], { encoding: 'utf8' });
  assert.match(routes, /10\.77\.\d+\.0\/24 dev eth0/);
  assert.doesNotMatch(routes, /default/);
});

test('a fine-tune pipeline runs on the worker hosts and its model is in MinIO', { timeout: 600_000 }, async () => {
  const runId = await h.runs.submit(fineTunePlan('prod-smoke', h.dataset, 3));
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
  const objects = await h.store.list(`s3://${h.config.s3.bucket}/runs/${runId}/finetune/`);
  assert.ok(
    objects.some((o) => o.key.endsWith('model.json')),
    objects.map((o) => o.key).join(', '),
  );
});
