import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  markStagesWaitingForWorkers,
  poolsOfRunningStages,
  waitingForWorkerReason,
} from '../../../src/client/worker-presence';
import { renderRunState } from '../../../src/client/render';
import type { RunState } from '../../../src/core/run/run-types';

const state: RunState = {
  runId: 'r1',
  pipeline: 'p',
  status: 'running',
  trigger: { kind: 'manual' },
  startedAt: '2026-01-01T00:00:00.000Z',
  params: {},
  stages: [
    { id: 'prepare', uses: 'prepare-data', pool: 'cpu', status: 'succeeded', attempts: 1 },
    {
      id: 'train',
      uses: 'fine-tune',
      pool: 'gpu',
      status: 'running',
      attempts: 0,
      startedAt: '2026-01-01T00:00:01.000Z',
    },
    {
      id: 'probe',
      uses: 'select-model',
      pool: 'cpu',
      status: 'running',
      attempts: 0,
      progress: { message: 'scoring 1/2' },
    },
    { id: 'eval', uses: 'evaluate', pool: 'gpu', status: 'pending', attempts: 0 },
  ],
};

void describe('waiting for a worker', () => {
  void it('lists the pools of running stages only', () => {
    assert.deepEqual(poolsOfRunningStages(state), ['gpu', 'cpu']);
  });

  void it('marks running stages of unpolled pools, and nothing else', () => {
    const marked = markStagesWaitingForWorkers(state, new Set(['gpu']));
    assert.deepEqual(
      marked.stages.map((s) => s.reason),
      [undefined, waitingForWorkerReason('gpu'), undefined, undefined],
    );
    assert.match(
      waitingForWorkerReason('gpu'),
      /^waiting for a worker on pool gpu: nothing polls task queue fineflow-gpu; start one with `fineflow worker --pool gpu`$/,
    );
    assert.equal(markStagesWaitingForWorkers(state, new Set()), state);
    // A stage that reports progress has a worker, whatever the poller list says.
    assert.equal(markStagesWaitingForWorkers(state, new Set(['cpu'])).stages[2]?.reason, undefined);
  });

  void it('shows in the status table', () => {
    const text = renderRunState(
      markStagesWaitingForWorkers(state, new Set(['gpu'])),
      new Date('2026-01-01T00:00:05.000Z'),
      200,
    );
    assert.match(text, /train .* waiting for a worker on pool gpu/);
  });
});
