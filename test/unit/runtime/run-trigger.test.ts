import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  datasetVersionOf,
  describeTrigger,
  originOf,
  rerunTrigger,
  stageTriggerOf,
} from '../../../src/core/run/run-trigger';
import type { RunTrigger } from '../../../src/core/run/run-types';

const newData: RunTrigger = {
  kind: 'new-data',
  watcherId: 'w-1',
  path: 's3://datasets/defects/',
  datasetVersion: 'v-abc',
};

void describe('run triggers through reruns', () => {
  void it('a rerun of a new-data run keeps the trigger and its dataset version', () => {
    const rerun = rerunTrigger(newData, 'run-1', 'finetune');
    assert.deepEqual(rerun, { kind: 'rerun', fromRunId: 'run-1', fromStage: 'finetune', origin: newData });
    assert.equal(datasetVersionOf(rerun), 'v-abc');
  });

  void it('a rerun of a rerun points at the last run but keeps the first origin', () => {
    const first = rerunTrigger(newData, 'run-1', 'finetune');
    const second = rerunTrigger(first, 'run-2', 'evaluate');
    assert.deepEqual(second, { kind: 'rerun', fromRunId: 'run-2', fromStage: 'evaluate', origin: newData });
    assert.equal(datasetVersionOf(second), 'v-abc');
  });

  void it('keeps schedule and manual origins; a legacy rerun without origin has none', () => {
    assert.deepEqual(originOf(rerunTrigger({ kind: 'schedule', scheduleId: 'fineflow-p' }, 'r', 's')), {
      kind: 'schedule',
      scheduleId: 'fineflow-p',
    });
    assert.deepEqual(originOf(rerunTrigger({ kind: 'manual', user: 'ana' }, 'r', 's')), {
      kind: 'manual',
      user: 'ana',
    });
    const legacy: RunTrigger = { kind: 'rerun', fromRunId: 'r0', fromStage: 's' };
    assert.equal(originOf(legacy), undefined);
    assert.deepEqual(rerunTrigger(legacy, 'r1', 't'), { kind: 'rerun', fromRunId: 'r1', fromStage: 't' });
    assert.equal(datasetVersionOf({ kind: 'manual' }), undefined);
  });

  void it('a stage of a rerun sees the original trigger, plus where the rerun comes from', () => {
    assert.deepEqual(stageTriggerOf(rerunTrigger(newData, 'run-1', 'finetune')), {
      trigger: newData,
      rerunOf: { fromRunId: 'run-1', fromStage: 'finetune' },
    });
    assert.deepEqual(stageTriggerOf(newData), { trigger: newData });
    const legacy: RunTrigger = { kind: 'rerun', fromRunId: 'r0', fromStage: 's' };
    assert.deepEqual(stageTriggerOf(legacy), { trigger: legacy, rerunOf: { fromRunId: 'r0', fromStage: 's' } });
  });

  void it('describes a rerun with its origin', () => {
    assert.equal(
      describeTrigger(rerunTrigger(newData, 'run-1', 'finetune')),
      'rerun of run-1 from finetune; originally new data at s3://datasets/defects/ (dataset version v-abc)',
    );
  });
});
