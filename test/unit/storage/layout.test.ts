import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import {
  cachePrefix,
  checkpointPrefix,
  modelAliasUri,
  modelCardUri,
  modelPrefix,
  parseSweepHistoryKey,
  runPrefix,
  runStageOfUri,
  stageLogPrefix,
  stageLogUri,
  sweepHistoryPrefix,
  sweepHistoryUri,
} from '../../../src/core/storage/layout';
import { confineToPrefix } from '../../../src/core/storage/uri';

const sha = 'a'.repeat(64);

void describe('storage layout', () => {
  void it('places run, stage, log and checkpoint keys under runs/', () => {
    assert.equal(runPrefix('fineflow', 'run-1'), 's3://fineflow/runs/run-1/');
    assert.equal(runPrefix('fineflow', 'run-1', 'train'), 's3://fineflow/runs/run-1/train/');
    assert.equal(stageLogUri('fineflow', 'run-1', 'train', 2), 's3://fineflow/runs/run-1/train/logs/attempt-2.log');
    assert.equal(stageLogPrefix('fineflow', 'run-1', 'train'), 's3://fineflow/runs/run-1/train/logs/');
    assert.equal(checkpointPrefix('fineflow', 'run-1', 'train'), 's3://fineflow/runs/run-1/train/checkpoints/');
  });
  void it('keeps every stage key inside its stage prefix', () => {
    const stage = runPrefix('fineflow', 'run-1', 'train');
    for (const uri of [
      stageLogUri('fineflow', 'run-1', 'train', 1),
      `${checkpointPrefix('fineflow', 'run-1', 'train')}epoch-3.json`,
    ]) {
      assert.doesNotThrow(() => confineToPrefix(uri, stage));
    }
  });
  void it('places cache entries and models', () => {
    assert.equal(cachePrefix('fineflow', sha), `s3://fineflow/cache/${sha}/`);
    assert.equal(modelPrefix('fineflow', 'digits-cnn', 'v3'), 's3://fineflow/models/digits-cnn/v3/');
    assert.equal(modelCardUri('fineflow', 'digits-cnn', 'v3'), 's3://fineflow/models/digits-cnn/v3/card.json');
    assert.equal(
      modelAliasUri('fineflow', 'digits-cnn', 'champion'),
      's3://fineflow/models/digits-cnn/_aliases/champion.json',
    );
  });
  void it('rejects ids that would add or escape a path segment', () => {
    const bad: (() => unknown)[] = [
      () => runPrefix('fineflow', '../x'),
      () => runPrefix('fineflow', 'a/b'),
      () => runPrefix('fineflow', 'r', '..'),
      () => runPrefix('fineflow', 'r', ''),
      () => runPrefix('fineflow', '.hidden'),
      () => stageLogUri('fineflow', 'r', 's', 0),
      () => stageLogUri('fineflow', 'r', 's', 1.5),
      () => cachePrefix('fineflow', 'A'.repeat(64)),
      () => cachePrefix('fineflow', 'abc'),
      () => modelPrefix('fineflow', 'm', '_aliases'),
      () => modelAliasUri('fineflow', 'm', 'a/b'),
    ];
    for (const fn of bad)
      assert.throws(
        fn,
        (error: unknown) => error instanceof InvalidInputError && error.details.code === 'invalid-key-segment',
      );
    assert.throws(() => runPrefix('Not_A_Bucket', 'r'), InvalidInputError);
  });
  void it('finds the run and stage that hold an object, and nothing else', () => {
    const results = `${runPrefix('fineflow', 'sweep-run-1', 'sweep')}results.json`;
    assert.deepEqual(runStageOfUri('fineflow', results), { runId: 'sweep-run-1', stageId: 'sweep' });
    assert.deepEqual(runStageOfUri('fineflow', `${checkpointPrefix('fineflow', 'r', 'train')}epoch-0003/`), {
      runId: 'r',
      stageId: 'train',
    });
    for (const other of [
      's3://elsewhere/runs/r/train/model.json',
      `${runPrefix('fineflow', 'r')}@state/${sha}.json`,
      's3://fineflow/runs/r/',
      's3://fineflow/cache/x/y/z',
      's3://fineflow/runs/../train/x',
      'registry://m@1',
    ])
      assert.equal(runStageOfUri('fineflow', other), undefined, other);
  });

  void it('keys sweep history records by pipeline and stage, sortable by their end time', () => {
    assert.equal(sweepHistoryPrefix('fineflow', 'digits', 'sweep'), 's3://fineflow/sweeps/digits/sweep/');
    const at = (endedAt: string, runId = 'run-1') =>
      sweepHistoryUri('fineflow', 'digits', 'sweep', { endedAt, runId, attempt: 2 });
    assert.equal(
      at('2026-12-05T18:00:00.000Z'),
      's3://fineflow/sweeps/digits/sweep/2026-12-05T18:00:00.000Z_run-1_2.json',
    );
    const keys = [
      at('2026-12-05T18:00:00.000Z', 'b'),
      at('2026-01-05T18:00:00.000Z', 'z'),
      at('2027-01-01T00:00:00.000Z'),
    ];
    assert.deepEqual([...keys].sort(), [keys[1], keys[0], keys[2]]);
    for (const bad of [
      () => at('2026-12-05T18:00:00Z'),
      () => at('2026-12-05T18:00:00.000Z', '../x'),
      () => sweepHistoryPrefix('fineflow', 'a/b', 'sweep'),
      () =>
        sweepHistoryUri('fineflow', 'digits', 'sweep', { endedAt: '2026-12-05T18:00:00.000Z', runId: 'r', attempt: 0 }),
    ])
      assert.throws(bad, (error: unknown) => error instanceof InvalidInputError);
  });
  void it('reads back the parts of a record key it wrote, and nothing else', () => {
    const uri = sweepHistoryUri('fineflow', 'digits', 'sweep', {
      endedAt: '2026-12-05T18:00:00.000Z',
      runId: 'digits_nightly-2026-12-05T03:00:00Z',
      attempt: 3,
    });
    assert.deepEqual(parseSweepHistoryKey(uri.slice('s3://fineflow/'.length)), {
      pipeline: 'digits',
      stage: 'sweep',
      endedAt: '2026-12-05T18:00:00.000Z',
      runId: 'digits_nightly-2026-12-05T03:00:00Z',
      attempt: 3,
    });
    for (const other of [
      'sweeps/digits/sweep/notes.txt',
      'sweeps/digits/sweep/2026-12-05T18:00:00Z_r_1.json',
      'sweeps/digits/sweep/2026-12-05T18:00:00.000Z_r_0.json',
      'sweeps/digits/sweep/2026-12-05T18:00:00.000Z__1.json',
      'sweeps/digits/sweep/old/2026-12-05T18:00:00.000Z_r_1.json',
      'sweeps/../sweep/2026-12-05T18:00:00.000Z_r_1.json',
      'runs/digits/sweep/2026-12-05T18:00:00.000Z_r_1.json',
    ])
      assert.equal(parseSweepHistoryKey(other), undefined, other);
  });
});
