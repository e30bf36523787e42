/**
 * The web app routes its pages after `#` (`/#/runs/RUN`); an address without it (`/runs/RUN`, typed, pasted from a
 * chat, or cut by a tool that drops fragments) got a JSON "no route" from the server. Page addresses now redirect to
 * the page; the API, assets and unknown paths answer as before. Also the stage artifacts list, which shows what a
 * stage made and not the attempt fence's claim.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunClient } from '../../../src/client/run-client';
import type { ScheduleService } from '../../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import { pageRouteOf, startUiServer, type RunningUi } from '../../../src/ui/server';

let ui: RunningUi;
const store = createMemoryObjectStore({ buckets: ['fineflow'] });

before(async () => {
  ui = await startUiServer({
    runs: {} as RunClient,
    store,
    bucket: 'fineflow',
    schedules: {} as ScheduleService,
    namespace: 'default',
  });
});
after(async () => {
  await ui?.close();
});

test('a page address without the # redirects to the page, query included', async () => {
  for (const [path, location] of [
    ['/runs/quickstart-20261207-101500-abcd', '/#/runs/quickstart-20261207-101500-abcd'],
    ['/runs', '/#/runs'],
    ['/models/surface-defects', '/#/models/surface-defects'],
    ['/compare?runs=a,b', '/#/compare?runs=a,b'],
    ['/datasets/shapes/v3?tab=reads', '/#/datasets/shapes/v3?tab=reads'],
  ]) {
    const response = await fetch(`${ui.url}${path}`, { redirect: 'manual' });
    assert.equal(response.status, 303, path);
    assert.equal(response.headers.get('location'), location, path);
  }
});

test('the API, unknown paths and other methods answer as before', async () => {
  const unknown = await fetch(`${ui.url}/nowhere`, { redirect: 'manual' });
  assert.equal(unknown.status, 404);
  assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /no route GET \/nowhere/);
  const post = await fetch(`${ui.url}/runs/x`, { method: 'POST', redirect: 'manual' });
  assert.notEqual(post.status, 303);
  assert.equal(pageRouteOf(new URL('http://ui.invalid/api/runs')), undefined);
  assert.equal(pageRouteOf(new URL('http://ui.invalid/')), undefined);
  // A path cannot smuggle a header or another origin: the URL parser encodes it, and the location stays on this host.
  assert.equal(pageRouteOf(new URL('http://ui.invalid/runs/a%0d%0aSet-Cookie:x')), '/#/runs/a%0d%0aSet-Cookie:x');
  assert.equal(pageRouteOf(new URL('http://ui.invalid//evil.example/runs')), undefined);
});

test("a stage's artifacts list what it made, not the attempt fence's claim", async () => {
  await store.putBytes('s3://fineflow/runs/r1/finetune/model/weights.bin', 'w');
  await store.putJson('s3://fineflow/runs/r1/finetune/@attempt.json', { attempt: 2, at: '2026-12-07T22:00:00Z' });
  const response = await fetch(`${ui.url}/api/runs/r1/stages/finetune/artifacts`);
  assert.equal(response.status, 200);
  const { artifacts } = (await response.json()) as { artifacts: { path: string }[] };
  assert.deepEqual(
    artifacts.map((artifact) => artifact.path),
    ['model/weights.bin'],
  );
});
