import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  objectVersionKey,
  planGc,
  type GcDatasetVersion,
  type GcFacts,
  type GcObjectVersion,
} from '../../../src/retention/gc-plan';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-05T00:00:00Z');
const PREFIX = 's3://datasets/defects/';
const policy = { olderThanMs: 30 * DAY, checkpointsAfterMs: DAY, keepSweeps: 20, keepDatasetVersions: 2 };

const id = (n: number): string => n.toString(16).padStart(64, '0');

/** Version n of the prefix, sealed `daysAgo` days ago, naming `a.csv` at S3 version `a<n>` and `b.csv` at `b1`. */
function version(n: number, daysAgo: number, prefix = PREFIX): GcDatasetVersion {
  return {
    prefix,
    id: id(n),
    createdAtMs: NOW - daysAgo * DAY,
    manifest: { uri: `s3://fineflow/datasets/x/${n}.json`, size: 1, lastModifiedMs: NOW - daysAgo * DAY },
    objects: [
      { key: 'a.csv', versionId: `a${n}` },
      { key: 'b.csv', versionId: 'b1' },
    ],
  };
}

/** S3 versions: a1…a5 of a.csv (a5 current, the others replaced long ago), b1 of b.csv (current). */
function objectVersions(prefix = PREFIX): Map<string, GcObjectVersion> {
  const listed = new Map<string, GcObjectVersion>();
  for (let n = 1; n <= 5; n++)
    listed.set(objectVersionKey(`${prefix}a.csv`, `a${n}`), {
      isLatest: n === 5,
      size: 100,
      lastModifiedMs: 0,
      ...(n === 5 ? {} : { replacedAtMs: 0 }),
    });
  listed.set(objectVersionKey(`${prefix}b.csv`, 'b1'), { isLatest: true, size: 7, lastModifiedMs: 0 });
  return listed;
}

function facts(overrides: Partial<GcFacts> = {}): GcFacts {
  return {
    nowMs: NOW,
    runObjects: new Map(),
    runStatus: new Map(),
    modelRuns: new Set(),
    cacheEntries: [],
    sweepObjects: [],
    // Five versions, 90, 80, 70, 60 and 1 days old.
    datasetVersions: [version(1, 90), version(2, 80), version(3, 70), version(4, 60), version(5, 1)],
    modelDatasetVersions: new Set(),
    datasetObjectVersions: objectVersions(),
    ...overrides,
  };
}

/** The dataset versions a plan drops (rule 6), each with what it deletes. */
const removed = (plan: ReturnType<typeof planGc>) =>
  plan.remove
    .filter((item) => item.kind === 'dataset-version')
    .map((item) => [item.id, item.objects.map((o) => o.versionId ?? o.uri)]);

test('without --keep-dataset-versions no dataset version is collected', () => {
  const { keepDatasetVersions: _keep, ...withoutKeep } = policy;
  assert.deepEqual(planGc(facts(), withoutKeep).remove, []);
});

test('a prefix keeps its newest N; older versions lose their manifest and the object versions only they name', () => {
  const plan = planGc(facts(), policy);
  assert.deepEqual(removed(plan), [
    [`${PREFIX}@${id(3).slice(0, 12)}`, ['s3://fineflow/datasets/x/3.json', 'a3']],
    [`${PREFIX}@${id(2).slice(0, 12)}`, ['s3://fineflow/datasets/x/2.json', 'a2']],
    [`${PREFIX}@${id(1).slice(0, 12)}`, ['s3://fineflow/datasets/x/1.json', 'a1']],
  ]);
  // b1 is named by every version, the kept ones too; a5 is what the prefix holds now; a4 belongs to a kept version.
  assert.match(
    plan.remove[0]?.reason ?? '',
    /sealed 70\.0 days ago, number 3 of 5 by age \(the prefix keeps its newest 2\)/,
  );
  assert.equal(plan.remove[0]?.kind, 'dataset-version');
  assert.equal(plan.bytes, 3 * 1 + 3 * 100);
});

test('a version a registered model names is kept, and so is one sealed within --older-than', () => {
  const plan = planGc(facts({ modelDatasetVersions: new Set([id(2)]) }), { ...policy, olderThanMs: 75 * DAY });
  assert.deepEqual(
    removed(plan).map(([name]) => name),
    [`${PREFIX}@${id(1).slice(0, 12)}`],
  );
});

test("an object's current version is never deleted, nor one a kept version of the same data names", () => {
  // Version 1 names a5 (the current a.csv) as well; version 3 (kept by a model) names a1.
  const v1 = { ...version(1, 90), objects: [{ key: 'a.csv', versionId: 'a5' }] };
  const v3 = { ...version(3, 70), objects: [{ key: 'a.csv', versionId: 'a1' }] };
  const plan = planGc(
    facts({
      datasetVersions: [v1, version(2, 80), v3, version(4, 60), version(5, 1)],
      modelDatasetVersions: new Set([id(3)]),
    }),
    policy,
  );
  assert.deepEqual(removed(plan), [
    [`${PREFIX}@${id(2).slice(0, 12)}`, ['s3://fineflow/datasets/x/2.json', 'a2']],
    [`${PREFIX}@${id(1).slice(0, 12)}`, ['s3://fineflow/datasets/x/1.json']],
  ]);
});

test('an object version named by no listing (already gone) or without a version id (unversioned bucket) is skipped', () => {
  const unversioned = { ...version(1, 90), objects: [{ key: 'a.csv' }] };
  const listed = objectVersions();
  listed.delete(objectVersionKey(`${PREFIX}a.csv`, 'a2'));
  const plan = planGc(
    facts({
      datasetVersions: [unversioned, version(2, 80), version(4, 60), version(5, 1)],
      datasetObjectVersions: listed,
    }),
    policy,
  );
  assert.deepEqual(removed(plan), [
    [`${PREFIX}@${id(2).slice(0, 12)}`, ['s3://fineflow/datasets/x/2.json']],
    [`${PREFIX}@${id(1).slice(0, 12)}`, ['s3://fineflow/datasets/x/1.json']],
  ]);
});

test("a dropped version's read records go with its manifest", () => {
  const read = { uri: 's3://fineflow/datasets/x/1.reads/run-1/prepare.json', size: 2, lastModifiedMs: 0 };
  const withReads = { ...version(1, 90), readRecords: [read] };
  const plan = planGc(facts({ datasetVersions: [withReads, version(4, 60), version(5, 1)] }), policy);
  assert.deepEqual(removed(plan), [
    [`${PREFIX}@${id(1).slice(0, 12)}`, ['s3://fineflow/datasets/x/1.json', read.uri, 'a1']],
  ]);
});

test('prefixes count apart: each keeps its own newest N', () => {
  const other = 's3://datasets/loans/';
  const plan = planGc(
    facts({
      datasetVersions: [version(1, 90), version(2, 80), version(6, 90, other), version(7, 80, other)],
      datasetObjectVersions: new Map([...objectVersions(), ...objectVersions(other)]),
    }),
    policy,
  );
  assert.deepEqual(removed(plan), []);
});

test('a version a live schedule, watcher or open run needs is kept, and the plan says why', () => {
  const read = {
    uri: `s3://fineflow/datasets/x/_versions/${id(2)}.reads/run%2Fopen/prepare.json`,
    size: 2,
    lastModifiedMs: 0,
  };
  const ended = {
    uri: `s3://fineflow/datasets/x/_versions/${id(1)}.reads/run-ended/prepare.json`,
    size: 2,
    lastModifiedMs: 0,
  };
  const plan = planGc(
    facts({
      datasetVersions: [
        { ...version(1, 90), readRecords: [ended] },
        { ...version(2, 80), readRecords: [read] },
        version(3, 70),
        version(4, 60),
        version(5, 1),
      ],
      datasetVersionNeeds: new Map([
        [id(3), ['schedule fineflow-nightly pins it (s3://datasets/defects/@000000000000)']],
      ]),
      openRuns: new Set(['run/open', 'run-other']),
    }),
    policy,
  );
  assert.deepEqual(
    removed(plan).map(([name]) => name),
    [`${PREFIX}@${id(1).slice(0, 12)}`],
    'only the version whose reader has ended goes',
  );
  assert.deepEqual(
    plan.kept.map((kept) => [kept.id, kept.reason]),
    [
      [
        `${PREFIX}@${id(3).slice(0, 12)}`,
        'number 3 of 5 by age, kept: schedule fineflow-nightly pins it (s3://datasets/defects/@000000000000)',
      ],
      [
        `${PREFIX}@${id(2).slice(0, 12)}`,
        'number 4 of 5 by age, kept: run run/open (not ended) has a read record of it (stage prepare: reading, read or failed)',
      ],
    ],
  );
  assert.equal(plan.datasetVersionsRefused, undefined);
  // a2 and a3 stay: kept versions name them; a1 (only the dropped version names it) goes.
  assert.deepEqual(
    plan.remove[0]?.objects.map((o) => o.versionId ?? o.uri),
    ['s3://fineflow/datasets/x/1.json', ended.uri, 'a1'],
  );
});

test('a kept version lists every reason: young, named by a model and pinned', () => {
  const plan = planGc(
    facts({
      modelDatasetVersions: new Set([id(3)]),
      datasetVersionNeeds: new Map([[id(3), ['data watcher w pins it (x)', 'run r (not ended) pins it (x)']]]),
    }),
    { ...policy, olderThanMs: 75 * DAY },
  );
  assert.deepEqual(
    plan.kept.map((kept) => kept.reason),
    [
      "number 3 of 5 by age, kept: sealed 70.0 days ago, within --older-than; a registered model's lineage names it; " +
        'data watcher w pins it (x); run r (not ended) pins it (x)',
    ],
  );
});

test('when what schedules and open runs need is unknown, no dataset version is dropped, and the plan says why', () => {
  const plan = planGc(facts({ datasetNeedsUnknown: 'listing schedules failed: no answer' }), policy);
  assert.deepEqual(plan.remove, []);
  assert.equal(plan.datasetVersionsRefused, 'listing schedules failed: no answer');
  assert.deepEqual(
    plan.kept.map((kept) => kept.id),
    [3, 2, 1].map((n) => `${PREFIX}@${id(n).slice(0, 12)}`),
  );
  assert.match(plan.kept[0]?.reason ?? '', /need is unknown/);
  // Without --keep-dataset-versions nothing was asked of rule 6, so nothing was refused.
  const { keepDatasetVersions: _keep, ...withoutKeep } = policy;
  assert.equal(planGc(facts({ datasetNeedsUnknown: 'x' }), withoutKeep).datasetVersionsRefused, undefined);
});

test('object versions no manifest names go when older than --older-than; current and named ones stay', () => {
  // a.csv was overwritten twice between seals 4 and 5: x1 (old) and x2 (young) were never sealed.
  const listed = objectVersions();
  listed.set(objectVersionKey(`${PREFIX}a.csv`, 'x1'), {
    isLatest: false,
    size: 40,
    lastModifiedMs: NOW - 50 * DAY,
    replacedAtMs: NOW - 50 * DAY,
  });
  listed.set(objectVersionKey(`${PREFIX}a.csv`, 'x2'), {
    isLatest: false,
    size: 50,
    lastModifiedMs: NOW - 5 * DAY,
    replacedAtMs: NOW - 5 * DAY,
  });
  // A file deleted long ago: its only version was never sealed and is not current any more.
  listed.set(objectVersionKey(`${PREFIX}gone.csv`, 'g1'), {
    isLatest: false,
    size: 9,
    lastModifiedMs: NOW - 90 * DAY,
    replacedAtMs: NOW - 90 * DAY,
  });
  // Not under a dataset prefix: never Fineflow's to collect.
  listed.set(objectVersionKey('s3://datasets/other/z.csv', 'z1'), {
    isLatest: false,
    size: 1,
    lastModifiedMs: 0,
    replacedAtMs: 0,
  });
  // Under a nested dataset prefix: counted there.
  const nested = `${PREFIX}holdout/`;
  listed.set(objectVersionKey(`${nested}h.csv`, 'h1'), {
    isLatest: false,
    size: 3,
    lastModifiedMs: 0,
    replacedAtMs: 0,
  });
  listed.set(objectVersionKey(`${nested}h.csv`, 'h2'), { isLatest: true, size: 3, lastModifiedMs: 0 });
  const holdout = { ...version(9, 40, nested), objects: [{ key: 'h.csv', versionId: 'h2' }] };
  const plan = planGc(
    facts({
      datasetVersions: [version(1, 90), version(2, 80), version(3, 70), version(4, 60), version(5, 1), holdout],
      datasetObjectVersions: listed,
    }),
    { ...policy, olderThanMs: 30 * DAY },
  );
  const unnamed = plan.remove.filter((item) => item.kind === 'dataset-objects');
  assert.deepEqual(
    unnamed.map((item) => [
      item.id,
      item.objects.map((o) => `${o.uri.slice(PREFIX.length)}@${o.versionId}`),
      item.bytes,
    ]),
    [
      [PREFIX, ['a.csv@x1', 'gone.csv@g1'], 49],
      [nested, ['holdout/h.csv@h1'], 3],
    ],
  );
  assert.match(unnamed[0]?.reason ?? '', /no dataset version names .* the newest uploaded 50\.0 days ago/);
  // Rule 6 still drops versions 1-3 with their own object versions, listed once.
  assert.deepEqual(
    removed(plan).map(([name]) => name),
    [3, 2, 1].map((n) => `${PREFIX}@${id(n).slice(0, 12)}`),
  );
  // Without --keep-dataset-versions nothing under a dataset prefix is collected.
  const { keepDatasetVersions: _keep, ...withoutKeep } = policy;
  assert.deepEqual(
    planGc(facts({ datasetObjectVersions: listed }), withoutKeep).remove.filter((i) => i.kind === 'dataset-objects'),
    [],
  );
});

test('a run not yet ended that reads a prefix unpinned keeps the versions of it sealed since it started', () => {
  const reads = (locations: string[], startedDaysAgo: number) => ({
    runId: 'run-open',
    startedAtMs: NOW - startedDaysAgo * DAY,
    locations,
  });
  // Started 75 days ago: versions 3 (70) and 4 (60) may be what it sealed; 1 (90) and 2 (80) are older.
  const plan = planGc(facts({ openRunUnpinnedReads: [reads([`${PREFIX}train.csv`, 's3://other/x/'], 75)] }), policy);
  assert.deepEqual(
    removed(plan).map(([name]) => name),
    [2, 1].map((n) => `${PREFIX}@${id(n).slice(0, 12)}`),
  );
  assert.deepEqual(
    plan.kept.map((kept) => kept.reason),
    [
      `number 3 of 5 by age, kept: run run-open (not ended) reads ${PREFIX}train.csv unpinned and has not resolved ` +
        'its version yet: every version sealed since it started is kept',
    ],
  );
  // A location under no version's prefix keeps nothing.
  assert.equal(removed(planGc(facts({ openRunUnpinnedReads: [reads(['s3://other/x/'], 75)] }), policy)).length, 3);
});

test('once an open run has a read record under the prefix it reads unpinned, only the version it names is kept', () => {
  const record = (n: number, prefix = 'datasets/defects') => ({
    uri: `s3://fineflow/datasets/${prefix}/_versions/${id(n)}.reads/run-open/prepare.json`,
    size: 2,
    lastModifiedMs: 0,
  });
  const unpinned = { runId: 'run-open', startedAtMs: NOW - 75 * DAY, locations: [`${PREFIX}train.csv`] };
  const other = 's3://datasets/other/';
  // Version 4 (60 days) is what it resolved (its record says reading); 3 (70) was sealed since it started, unread.
  const plan = planGc(
    facts({
      datasetVersions: [
        version(1, 90),
        version(2, 80),
        version(3, 70),
        { ...version(4, 60), readRecords: [record(4)] },
        version(5, 1),
        version(6, 50, other),
        { ...version(7, 40, other), readRecords: [record(7, 'datasets/other')] },
        version(8, 1, other),
      ],
      openRuns: new Set(['run-open']),
      openRunUnpinnedReads: [unpinned],
    }),
    { ...policy, keepDatasetVersions: 1 },
  );
  assert.deepEqual(
    removed(plan).map(([name]) => name),
    [3, 2, 1, 6].map((n) => `${n === 6 ? other : PREFIX}@${id(n).slice(0, 12)}`),
    'the version sealed since it started goes: its record names another',
  );
  assert.deepEqual(
    plan.kept.map((kept) => [kept.id, kept.reason]),
    [
      [
        `${PREFIX}@${id(4).slice(0, 12)}`,
        'number 2 of 5 by age, kept: run run-open (not ended) has a read record of it (stage prepare: reading, read or failed)',
      ],
      [
        `${other}@${id(7).slice(0, 12)}`,
        'number 2 of 3 by age, kept: run run-open (not ended) has a read record of it (stage prepare: reading, read or failed)',
      ],
    ],
  );
  // A record under another prefix resolves nothing here: the stand-in still keeps 3 and 4 of the prefix it reads.
  const elsewhere = planGc(
    facts({
      datasetVersions: [version(1, 90), version(2, 80), version(3, 70), version(4, 60), version(5, 1)].concat([
        { ...version(7, 40, other), readRecords: [record(7, 'datasets/other')] },
      ]),
      openRuns: new Set(['run-open']),
      openRunUnpinnedReads: [unpinned],
    }),
    { ...policy, keepDatasetVersions: 1 },
  );
  assert.deepEqual(
    elsewhere.kept.filter((kept) => kept.id.startsWith(PREFIX)).map((kept) => kept.id),
    [3, 4].map((n) => `${PREFIX}@${id(n).slice(0, 12)}`),
  );
  assert.match(elsewhere.kept[0]?.reason ?? '', /has not resolved its version yet/);
  // Once the run has ended, its record (even one left `reading` by a killed worker) keeps nothing.
  const ended = planGc(
    facts({
      datasetVersions: [version(1, 90), { ...version(4, 60), readRecords: [record(4)] }, version(5, 1)],
      openRuns: new Set(),
    }),
    { ...policy, keepDatasetVersions: 1 },
  );
  assert.deepEqual(
    removed(ended).map(([name]) => name),
    [4, 1].map((n) => `${PREFIX}@${id(n).slice(0, 12)}`),
  );
});

test('an age under a day reads as people write it, not 0.0 days', () => {
  const young = { ...version(2, 0), createdAtMs: NOW - 3 * 3_600_000 - 5 * 60_000 };
  const plan = planGc(facts({ datasetVersions: [version(1, 90), young, version(5, 0)] }), {
    ...policy,
    keepDatasetVersions: 1,
    olderThanMs: 60_000,
  });
  assert.deepEqual(
    removedVersions(plan).map((item) => /sealed (.+?) ago/.exec(item.reason)?.[1]),
    ['3h 5m', '90.0 days'],
  );
});

function removedVersions(plan: ReturnType<typeof planGc>) {
  return plan.remove.filter((item) => item.kind === 'dataset-version');
}

test('no noncurrent object version replaced within the seal bound goes, whatever --older-than says', () => {
  // a1 was replaced 10 minutes ago: a seal that saw it current may still be writing a manifest naming it.
  const recent = objectVersions();
  recent.set(objectVersionKey(`${PREFIX}a.csv`, 'a1'), {
    isLatest: false,
    size: 100,
    lastModifiedMs: 0,
    replacedAtMs: NOW - 10 * 60_000,
  });
  // x1 (named by no version) replaced 10 minutes ago; x2 replaced an hour ago; x3's replacement is not listed.
  const unnamed = (versionId: string, replacedAtMs?: number): [string, GcObjectVersion] => [
    objectVersionKey(`${PREFIX}x.csv`, versionId),
    { isLatest: false, size: 3, lastModifiedMs: 0, ...(replacedAtMs !== undefined ? { replacedAtMs } : {}) },
  ];
  for (const [key, value] of [unnamed('x1', NOW - 10 * 60_000), unnamed('x2', NOW - 60 * 60_000), unnamed('x3')])
    recent.set(key, value);
  const plan = planGc(facts({ datasetObjectVersions: recent }), { ...policy, olderThanMs: 1 });
  const deleted = plan.remove.flatMap((item) => item.objects.map((o) => o.versionId)).filter(Boolean);
  assert.ok(!deleted.includes('a1'), 'the dropped version names it, but a seal in progress may too');
  assert.ok(!deleted.includes('x1') && !deleted.includes('x3'));
  assert.ok(deleted.includes('x2'), 'replaced over the seal bound ago: no seal in progress can name it');
  assert.match(plan.remove.find((item) => item.kind === 'dataset-objects')?.reason ?? '', /replaced over 40m ago/);
});
