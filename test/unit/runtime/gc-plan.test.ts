import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planGc, type GcFacts, type GcObject } from '../../../src/retention/gc-plan';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-05T00:00:00Z');
const policy = { olderThanMs: 30 * DAY, checkpointsAfterMs: 1 * DAY, keepSweeps: 20 };

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
    sweepObjects: [],
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
  assert.deepEqual(plan, { remove: [], kept: [], bytes: 0, objects: 0 });
});

/** `count` history records of one stage, newest first, ended an hour apart (the newest an hour ago). */
function sweepRecords(pipeline: string, stage: string, count: number): GcObject[] {
  return Array.from({ length: count }, (_, index) => {
    const endedAt = new Date(NOW - (index + 1) * 3_600_000).toISOString();
    return object(`sweeps/${pipeline}/${stage}/${endedAt}_run_${index}_1.json`, index / 24);
  });
}

test('sweep history keeps the newest keepSweeps records of each pipeline stage and nothing else goes', () => {
  const tune = sweepRecords('detector', 'tune', 25);
  const small = sweepRecords('detector', 'small', 3);
  const other = sweepRecords('ranker', 'tune', 21);
  const notRecords = [
    object('sweeps/detector/tune/notes.txt', 400),
    object('sweeps/detector/tune/nested/2020-01-01T00:00:00.000Z_r_1.json', 400),
    object('sweeps/detector/tune/2020-01-01T00:00:00Z_r_1.json', 400),
    object('sweeps/detector/tune/2020-01-01T00:00:00.000Z_r_0.json', 400),
    object('sweeps/README', 400),
  ];
  // Listed in key order (oldest first), as S3 lists them; the plan must not rely on it.
  const listed = [...tune, ...small, ...other, ...notRecords].sort((a, b) => a.uri.localeCompare(b.uri));
  const plan = planGc(facts({ runObjects: new Map(), sweepObjects: listed }), policy);
  assert.deepEqual(summary(plan), ['sweep-history detector/tune 5', 'sweep-history ranker/tune 1']);
  const removed = new Set(plan.remove.flatMap((item) => item.objects.map((o) => o.uri)));
  assert.deepEqual(
    [...removed].sort(),
    [...tune.slice(20), ...other.slice(20)].map((o) => o.uri).sort(),
    'exactly the oldest records go',
  );
  assert.ok(
    notRecords.every((o) => !removed.has(o.uri)),
    'objects that are not records stay',
  );
  assert.match(plan.remove[0]?.reason ?? '', /newest 20 \(of 25\)/);
  assert.equal(plan.objects, 6);
  assert.equal(plan.bytes, 60);
});

test('keepSweeps is the count kept: 1 leaves only the newest record, more than there are removes none', () => {
  const records = sweepRecords('detector', 'tune', 4);
  const one = planGc(facts({ runObjects: new Map(), sweepObjects: records }), { ...policy, keepSweeps: 1 });
  const kept = records.filter((o) => !one.remove[0]?.objects.includes(o));
  assert.deepEqual(
    kept.map((o) => o.uri),
    [records[0]?.uri],
    'the newest stays',
  );
  const all = planGc(facts({ runObjects: new Map(), sweepObjects: records }), { ...policy, keepSweeps: 4 });
  assert.deepEqual(all.remove, []);
});
