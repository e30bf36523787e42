import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyStageLiveness,
  staleAfterMs,
  staleProgressReason,
  type PendingStageActivity,
} from '../../../src/client/live-stages';
import { poolsOfRunningStages, waitingForWorkerReason } from '../../../src/client/worker-presence';
import { renderRunState } from '../../../src/client/render';
import { readStageHeartbeat, stageHeartbeat } from '../../../src/core/run/progress';
import { DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS, type RunState } from '../../../src/core/run/run-types';
import { DEFAULT_PROGRESS_INTERVAL_MS } from '../../../activities/stage-runner';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const state: RunState = {
  runId: 'r1',
  pipeline: 'p',
  status: 'running',
  trigger: { kind: 'manual' },
  startedAt: '2026-01-01T00:00:00.000Z',
  params: {},
  stages: [
    { id: 'prepare', uses: 'prepare-data', pool: 'cpu', status: 'succeeded', attempts: 1 },
    { id: 'train', uses: 'fine-tune', pool: 'gpu', status: 'running', attempts: 0, startedAt: '2026-01-01T00:00:01Z' },
    { id: 'probe', uses: 'select-model', pool: 'cpu', status: 'running', attempts: 0 },
    { id: 'eval', uses: 'evaluate', pool: 'gpu', status: 'pending', attempts: 0 },
  ],
};

function pending(
  stageId: string,
  attempt: number,
  opts: { beatAt?: number; startedAt?: number; started?: boolean; message?: string } = {},
): PendingStageActivity {
  return {
    heartbeat: stageHeartbeat(
      { stageId, attempt, everyMs: 2_000 },
      opts.message ? { message: opts.message, fraction: 0.5 } : undefined,
    ),
    started: opts.started ?? true,
    ...(opts.beatAt !== undefined ? { lastHeartbeatAtMs: opts.beatAt } : {}),
    lastStartedAtMs: opts.startedAt ?? T0,
    worker: 'gpu@host:42',
  };
}

void describe('live stages (client view of running stages)', () => {
  void it('reads a stage heartbeat and refuses anything else', () => {
    const beat = stageHeartbeat(
      { stageId: 'train', attempt: 2, everyMs: 10_000 },
      { message: 'epoch 3', fraction: 0.3 },
    );
    assert.deepEqual(readStageHeartbeat(beat), beat);
    assert.equal(readStageHeartbeat({ message: 'epoch 3' }), undefined, 'heartbeats of older workers carry no sender');
    assert.equal(readStageHeartbeat('x'), undefined);
    assert.equal(readStageHeartbeat({ ...beat, message: 'm'.repeat(5000) })?.message?.length, 500);
  });

  void it('shows the heartbeat progress of the current attempt, without notes while it is fresh', () => {
    const live = applyStageLiveness(
      state,
      new Map([['train', pending('train', 1, { beatAt: T0 + 9_000, message: 'epoch 3/10' })]]),
      new Set(),
      T0 + 10_000,
    );
    const train = live.stages[1];
    assert.deepEqual(train?.progress, { message: 'epoch 3/10', fraction: 0.5 });
    assert.deepEqual(train?.live, { worker: 'gpu@host:42', heartbeatAt: '2026-01-01T00:00:09.000Z' });
    assert.equal(train?.reason, undefined);
  });

  void it('marks progress stale, with its age, once the heartbeat is overdue', () => {
    assert.equal(staleAfterMs(2_000), 5_000);
    assert.equal(staleAfterMs(4_000), 8_000);
    const now = T0 + 9_000 + 45_000;
    const live = applyStageLiveness(
      state,
      new Map([['train', pending('train', 1, { beatAt: T0 + 9_000, message: 'epoch 3/10' })]]),
      new Set(),
      now,
    );
    const train = live.stages[1];
    assert.equal(train?.live?.staleForMs, 45_000);
    assert.equal(train?.progress?.message, 'epoch 3/10', 'the last progress stays visible, marked stale');
    assert.equal(train?.reason, staleProgressReason(45_000, 'gpu@host:42'));
    assert.match(train?.reason ?? '', /^progress stale: no heartbeat for 45 s from worker gpu@host:42/);
    assert.match(renderRunState(live, new Date(now), 200), /train .*epoch 3\/10 \(stale: no heartbeat for 45 s\)/);
  });

  void it('with the default interval and heartbeat timeout, progress is stale before Temporal retries', () => {
    // A worker killed right after a heartbeat: 21 s later the note is there, 9 s before the 30 s timeout retries.
    assert.ok(staleAfterMs(DEFAULT_PROGRESS_INTERVAL_MS) < DEFAULT_STAGE_HEARTBEAT_TIMEOUT_MS);
    const base = pending('train', 1, { beatAt: T0, message: 'epoch 3/10' });
    const killed = { ...base, heartbeat: { ...base.heartbeat, everyMs: DEFAULT_PROGRESS_INTERVAL_MS } };
    const live = applyStageLiveness(state, new Map([['train', killed]]), new Set(), T0 + 21_000);
    assert.equal(live.stages[1]?.live?.staleForMs, 21_000);
    assert.match(live.stages[1]?.reason ?? '', /^progress stale: no heartbeat for 21 s/);
  });

  void it('says "waiting for a worker" when nothing polls the pool, also when the stage had progress', () => {
    const stale = pending('train', 1, { beatAt: T0 + 9_000, message: 'epoch 3/10' });
    const live = applyStageLiveness(state, new Map([['train', stale]]), new Set(['gpu']), T0 + 60_000);
    const train = live.stages[1];
    assert.equal(train?.live?.waitingForWorker, true);
    assert.ok(train?.reason?.endsWith(waitingForWorkerReason('gpu')), train?.reason);
    assert.match(
      renderRunState(live, new Date(T0 + 60_000), 200),
      /stale: no heartbeat for 51 s; waiting for a worker on pool gpu/,
    );
    // A stage no worker has taken yet, and no activity visible at all.
    const queued = applyStageLiveness(state, new Map(), new Set(['gpu', 'cpu']), T0 + 1_000);
    assert.equal(queued.stages[1]?.reason, waitingForWorkerReason('gpu'));
    assert.equal(queued.stages[2]?.reason, waitingForWorkerReason('cpu'));
    assert.equal(queued.stages[3]?.reason, undefined, 'pending stages are left alone');
  });

  void it('trusts a fresh heartbeat over the poller list: a busy worker does not poll', () => {
    const fresh = pending('train', 1, { beatAt: T0 + 9_000 });
    const live = applyStageLiveness(state, new Map([['train', fresh]]), new Set(['gpu']), T0 + 10_000);
    assert.equal(live.stages[1]?.reason, undefined);
    assert.equal(live.stages[1]?.live?.waitingForWorker, undefined);
  });

  void it('ignores the heartbeat of an attempt that ended (the retry waits in the queue)', () => {
    const retry = pending('train', 1, { beatAt: T0 + 5_000, startedAt: T0 + 20_000, started: false, message: 'old' });
    const live = applyStageLiveness(state, new Map([['train', retry]]), new Set(['gpu']), T0 + 21_000);
    assert.equal(live.stages[1]?.progress, undefined);
    assert.equal(live.stages[1]?.reason, waitingForWorkerReason('gpu'));
    // Started again but no heartbeat yet from the new attempt: the old progress is not shown either.
    const restarted = { ...retry, started: true };
    const again = applyStageLiveness(state, new Map([['train', restarted]]), new Set(), T0 + 21_000);
    assert.equal(again.stages[1]?.progress, undefined);
    assert.equal(again.stages[1]?.live?.staleForMs, undefined);
  });

  void it('leaves ended runs alone and lists pools of running stages only', () => {
    const ended = { ...state, endedAt: '2026-01-01T00:01:00Z' };
    assert.equal(applyStageLiveness(ended, new Map(), new Set(['gpu']), T0), ended);
    assert.deepEqual(poolsOfRunningStages(state), ['gpu', 'cpu']);
  });
});
