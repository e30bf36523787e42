import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planGc, type GcFacts, type GcObject } from '../../../src/retention/gc-plan';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-05T00:00:00Z');
const policy = { olderThanMs: 30 * DAY, checkpointsAfterMs: 1 * DAY };

const object = (key: string, daysAgo: number, size = 10): GcObject => ({
  uri: `s3://fineflow/${key}`,
  size,
  lastModifiedMs: NOW - daysAgo * DAY,
});

function runFiles(runId: string, daysAgo: number): GcObject[] {
  return [
    object(`runs/${runId}/train/model/model.json`, daysAgo, 100),
    object(`runs/${runId}/train/checkpoints/epoch-1/weights.bin`, daysAgo, 1000),
    object(`runs/${runId}/train/logs/attempt-1/0000000000.log`, daysAgo, 5),
  ];
}

function facts(overrides: Partial<GcFacts> = {}): GcFacts {
  return {
    nowMs: NOW,
    runObjects: new Map([
      ['old', runFiles('old', 40)],
      ['recent', runFiles('recent', 3)],
      ['fresh', runFiles('fresh', 0.5)],
      ['active', runFiles('active', 90)],
      ['lineage', runFiles('lineage', 90)],
      ['forgotten', runFiles('forgotten', 60)],
    ]),
    runStatus: new Map([
      ['old', 'ended'],
      ['recent', 'ended'],
      ['fresh', 'ended'],
      ['active', 'active'],
      ['lineage', 'ended'],
    ]),
    modelRuns: new Set(['lineage']),
    cacheEntries: [],
    ...overrides,
  };
}

const summary = (plan: ReturnType<typeof planGc>): string[] =>
  plan.remove.map((i) => `${i.kind} ${i.id} ${i.objects.length}`);

test('old ended runs go whole, recent ones lose checkpoints only, active and fresh runs keep everything', () => {
  const plan = planGc(facts(), policy);
  assert.deepEqual(summary(plan), ['run forgotten 3', 'checkpoints lineage 1', 'run old 3', 'checkpoints recent 1']);
  assert.equal(plan.bytes, 1105 + 1000 + 1105 + 1000);
  assert.equal(plan.objects, 8);
  assert.match(plan.remove[0]?.reason ?? '', /no record in Temporal/);
});

test('artifacts of a cache entry in use are kept; an old unindexed entry goes with its objects', () => {
  const entry = (key: string, daysAgo: number, indexed: boolean) => ({
    key,
    createdAtMs: NOW - daysAgo * DAY,
    indexed,
    artifacts: [`s3://fineflow/runs/old/train/model/model.json`],
    objects: [object(`cache/${key}/entry.json`, daysAgo), object(`cache/${key}/key.json`, daysAgo)],
  });
  const inUse = planGc(facts({ cacheEntries: [entry('a'.repeat(64), 40, true)] }), policy);
  const old = inUse.remove.find((i) => i.id === 'old');
  assert.deepEqual(
    old?.objects.map((o) => o.uri.split('/').slice(-2).join('/')),
    ['epoch-1/weights.bin', 'attempt-1/0000000000.log'],
    'the cached model stays',
  );
  assert.ok(!inUse.remove.some((i) => i.kind === 'cache-entry'));
  const stale = planGc(facts({ cacheEntries: [entry('b'.repeat(64), 40, false)] }), policy);
  assert.deepEqual(
    stale.remove.filter((i) => i.kind === 'cache-entry').map((i) => i.objects.length),
    [2],
  );
  assert.equal(stale.remove.find((i) => i.id === 'old')?.objects.length, 3, 'nothing protects the run any more');
  const young = planGc(facts({ cacheEntries: [entry('c'.repeat(64), 5, false)] }), policy);
  assert.ok(!young.remove.some((i) => i.kind === 'cache-entry'), 'a young entry stays');
});

test('nothing to collect gives an empty plan', () => {
  const plan = planGc(facts({ runObjects: new Map() }), policy);
  assert.deepEqual(plan, { remove: [], bytes: 0, objects: 0 });
});
