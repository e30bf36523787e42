import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import { defaultStage } from '../../../src/ui/web/default-stage';

const stage = (id: string, uses: string, status: StageState['status']): StageState => ({
  id,
  uses,
  pool: 'cpu',
  status,
  attempts: status === 'pending' ? 0 : 1,
});
const run = (...stages: StageState[]): RunState => ({ stages }) as unknown as RunState;

describe('the stage a run page opens on', () => {
  it('opens a finished sweep run on its sweep, not on the first stage', () => {
    const done = run(
      stage('prepare', 'prepare-data', 'succeeded'),
      stage('tune', 'hyperparameter-sweep', 'succeeded'),
      stage('train', 'fine-tune', 'succeeded'),
      stage('evaluate', 'evaluate', 'succeeded'),
    );
    assert.equal(defaultStage(done), 'tune');
  });

  it('takes the last of several sweeps that succeeded', () => {
    const two = run(
      stage('coarse', 'hyperparameter-sweep', 'succeeded'),
      stage('fine', 'hyperparameter-sweep', 'succeeded'),
      stage('skipped', 'hyperparameter-sweep', 'skipped'),
    );
    assert.equal(defaultStage(two), 'fine');
  });

  it('still opens on what needs the reader first: waiting, failed, running', () => {
    const sweep = stage('tune', 'hyperparameter-sweep', 'succeeded');
    assert.equal(defaultStage(run(sweep, stage('approve', 'approval', 'waiting'))), 'approve');
    assert.equal(defaultStage(run(sweep, stage('train', 'fine-tune', 'failed'))), 'train');
    assert.equal(defaultStage(run(sweep, stage('train', 'fine-tune', 'running'))), 'train');
  });

  it('opens a run without a finished sweep on its first stage, and an empty run on none', () => {
    assert.equal(
      defaultStage(run(stage('prepare', 'prepare-data', 'succeeded'), stage('t', 'fine-tune', 'succeeded'))),
      'prepare',
    );
    assert.equal(
      defaultStage(
        run(stage('prepare', 'prepare-data', 'succeeded'), stage('tune', 'hyperparameter-sweep', 'cancelled')),
      ),
      'prepare',
    );
    assert.equal(defaultStage(run()), undefined);
  });
});
