/**
 * The cache benchmark itself, on a small pipeline of sleeping test stages: the first run pays
 * for every stage, the resubmit is served by the cache and is much faster.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { benchCache } from '../../../bench/cache-bench';
import { registerTestStageTypes } from '../../stage-types';
import { requireStack } from '../../helpers/stack';

void describe('cache bench', () => {
  let dir = '';
  before(async () => {
    await requireStack();
    registerTestStageTypes();
    dir = await mkdtemp(path.join(tmpdir(), 'ff-cache-bench-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void it('times a first run against a cached resubmit of the same pipeline file', async (t) => {
    // A salt param keeps entries of earlier bench runs (content-addressed, shared) out of the first run's way.
    const salt = randomBytes(4).toString('hex');
    const file = path.join(dir, 'sleepy.yaml');
    await writeFile(
      file,
      [
        'apiVersion: fineflow/v1',
        'kind: Pipeline',
        'metadata: {name: cache-bench-sleepy}',
        `params: {salt: "${salt}"}`,
        'stages:',
        '  one: {uses: test-echo, with: {value: "${{ params.salt }}", sleepMs: 1200, steps: 2}}',
        '  two: {uses: test-echo, with: {value: "${{ stages.one.outputs.value }}", sleepMs: 1200, steps: 2}}',
        '  three: {uses: test-echo, with: {value: "${{ stages.two.outputs.value }}", sleepMs: 1200, steps: 2}}',
        '',
      ].join('\n'),
    );
    const result = await benchCache({
      pipelineFile: file,
      stageModules: [path.resolve(__dirname, '../../stage-types')],
    });
    assert.deepEqual(result.cachedRunStatuses, { one: 'cached', two: 'cached', three: 'cached' });
    assert.deepEqual(result.recomputed, []);
    assert.ok(result.firstRunMs >= 3600, `the first run slept through three stages (${result.firstRunMs} ms)`);
    assert.ok(
      result.cachedRunMs < result.firstRunMs / 2,
      `cached ${result.cachedRunMs} ms vs first ${result.firstRunMs} ms`,
    );
    assert.equal(result.stages, 3);
    t.diagnostic(`first run ${result.firstRunMs} ms, cached resubmit ${result.cachedRunMs} ms (${result.speedup}x)`);
  });
});
