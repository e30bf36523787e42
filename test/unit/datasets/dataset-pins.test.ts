import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetPinsIn, unpinnedLocationsIn } from '../../../src/datasets/dataset-source';
import { parseVersionReadUri, versionReadUri } from '../../../src/datasets/version-reads';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

test('every pinned source anywhere in a plan is found once: params, stage inputs, fixed sets, any stage type', () => {
  const plan = {
    params: { dataset: { value: `s3://data/defects/@${A}` }, other: { value: 's3://data/loans/' } },
    stages: [
      { id: 'prepare', with: { source: `s3://data/defects/@${A}`, split: { test: `s3://data/holdout@${B}` } } },
      { id: 'cmd', uses: 'command', with: { inputs: [[`s3://data/x/img@2x.png`, `s3://data/y/@${A.slice(1)}`]] } },
    ],
  };
  assert.deepEqual(datasetPinsIn(plan), [
    { prefix: 's3://data/defects/', id: A, source: `s3://data/defects/@${A}` },
    { prefix: 's3://data/holdout/', id: B, source: `s3://data/holdout@${B}` },
  ]);
  assert.deepEqual(datasetPinsIn(undefined), []);
});

test('a value nested past the bound is refused rather than half read', () => {
  let deep: unknown = `s3://data/p/@${A}`;
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.throws(() => datasetPinsIn(deep), /nests deeper than 64 levels/);
});

test("a read record's URI gives back its run and stage", () => {
  const uri = versionReadUri('fineflow', 's3://data/p/', A, 'run/with slash', 'prep%are');
  assert.deepEqual(parseVersionReadUri(uri), { runId: 'run/with slash', stage: 'prep%are' });
  assert.equal(parseVersionReadUri('s3://fineflow/datasets/data/p/_versions/x.json'), undefined);
  assert.equal(parseVersionReadUri('s3://f/d/_versions/x.reads/%E0%A4%A/s.json'), undefined);
});

test('every unpinned s3:// location in a plan is found once; pins and other strings are not', () => {
  assert.deepEqual(
    unpinnedLocationsIn({
      params: { data: { value: 's3://data/p/' } },
      stages: [{ with: { source: 's3://data/p/', test: `s3://data/h/@${A}`, model: 'registry://m@latest' } }],
      extra: ['s3://data/q/file.csv'],
    }),
    ['s3://data/p/', 's3://data/q/file.csv'],
  );
});
