import assert from 'node:assert/strict';
import { it } from 'node:test';
import { renderPlan } from '../../../src/cli/commands/gc';

const policy = { olderThanMs: 14 * 86_400_000, checkpointsAfterMs: 2 * 3_600_000, keepSweeps: 5 };

it('an empty plan says there is nothing to delete and under which policy, not an empty table', () => {
  const text = renderPlan({ remove: [], kept: [], bytes: 0, objects: 0 }, false, policy);
  assert.doesNotMatch(text, /^kind\s+id/m);
  assert.match(text, /^nothing to delete: no run ended over 14d ago, no checkpoint of a run ended over 2h ago/);
  assert.match(text, /more than 5 sweep history records/);
});

it('a plan lists what it would delete and how to delete it', () => {
  const plan = {
    remove: [{ kind: 'run' as const, id: 'run-1', reason: 'ended 40d ago', objects: [], bytes: 2048 }],
    kept: [],
    bytes: 2048,
    objects: 3,
  };
  const text = renderPlan(plan, false, policy);
  assert.match(text, /^kind\s+id\s+objects\s+size\s+why$/m);
  assert.match(text, /run\s+run-1\s+0\s+2\.0 KiB\s+ended 40d ago/);
  assert.match(text, /would delete 3 objects, 2\.0 KiB \(run again with --yes to delete\)/);
});

it('a plan lists the dataset versions it kept past the newest N and why, and says when it dropped none', () => {
  const plan = {
    remove: [],
    kept: [{ kind: 'dataset-version' as const, id: 's3://d/p/@0123456789ab', reason: 'number 3 of 3 by age, kept: x' }],
    bytes: 0,
    objects: 0,
    datasetVersionsRefused: 'listing schedules, data watchers and open runs failed: no answer',
  };
  const text = renderPlan(plan, false, { ...policy, keepDatasetVersions: 2 });
  assert.match(text, /^nothing to delete:/);
  assert.match(text, /^kept past their prefix's newest 2:\nkind\s+id\s+why$/m);
  assert.match(text, /^dataset-version\s+s3:\/\/d\/p\/@0123456789ab\s+number 3 of 3 by age, kept: x$/m);
  assert.match(text, /no dataset version would be dropped: listing schedules, data watchers and open runs failed/);
});

it('when Temporal could not be read, it says plainly that replaced object versions were still collected', () => {
  const objects = [1, 2].map((n) => ({ uri: `s3://d/p/a.csv`, size: 5, lastModifiedMs: 0, versionId: `v${n}` }));
  const refused = 'listing schedules, data watchers and open runs failed: no answer';
  const plan = {
    remove: [{ kind: 'dataset-objects' as const, id: 's3://d/p/', reason: 'replaced', objects, bytes: 10 }],
    kept: [],
    bytes: 10,
    objects: 2,
    datasetVersionsRefused: refused,
  };
  const text = renderPlan(plan, true, { ...policy, keepDatasetVersions: 2 });
  assert.match(text, /no dataset version was dropped: listing schedules/);
  assert.match(
    text,
    /^Replaced object versions no dataset version names were still collected \(2 in 1 dataset-objects row above\): nothing in Temporal can pin an object version no version names\./m,
  );
  const none = renderPlan({ remove: [], kept: [], bytes: 0, objects: 0, datasetVersionsRefused: refused }, false, {
    ...policy,
    keepDatasetVersions: 2,
  });
  assert.match(none, /^No replaced object version was found to collect either/m);
});
