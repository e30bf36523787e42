/**
 * `followRun` (src/cli/run-support.ts), the live view of `status --watch` and `submit --watch`:
 * on a TTY it redraws the stage table in place with extra sections (the sweep trial tables)
 * under it, refreshed while the run is live and once more when it ends.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { followRun } from '../../../src/cli/run-support';
import type { RunClient } from '../../../src/client/run-client';
import { withTrialCounts } from '../../../src/client/sweep-trials-lookup';
import type { CliIo } from '../../../src/cli/command';
import type { RunState } from '../../../src/core/run/run-types';

function runState(status: RunState['status'], sweepStatus: 'running' | 'succeeded'): RunState {
  return {
    runId: 'r-1',
    pipeline: 'p',
    status,
    trigger: { kind: 'manual' },
    startedAt: '2026-01-01T00:00:00.000Z',
    ...(status === 'running' ? {} : { endedAt: '2026-01-01T00:00:05.000Z' }),
    params: {},
    stages: [
      {
        id: 'sweep',
        uses: 'hyperparameter-sweep',
        pool: 'train',
        status: sweepStatus,
        attempts: sweepStatus === 'running' ? 0 : 1,
        startedAt: '2026-01-01T00:00:00.000Z',
      },
    ],
  };
}

function ttyIo(): { io: CliIo; output: () => string } {
  const chunks: string[] = [];
  const stdout = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    }),
    { isTTY: true, columns: 100 },
  );
  const stderr = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  return { io: { stdout, stderr, env: {}, cwd: '/' }, output: () => chunks.join('') };
}

test('on a TTY, the trial tables are drawn under the stage table and redrawn as the run ends', async () => {
  const states = [runState('running', 'running'), runState('running', 'running'), runState('succeeded', 'succeeded')];
  const runs = {
    async watch(_runId: string, onState: (state: RunState) => void): Promise<RunState> {
      for (const state of states) {
        onState(state);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      return states[states.length - 1] as RunState;
    },
  } as unknown as RunClient;
  const fetched: string[] = [];
  const { io, output } = ttyIo();
  const final = await followRun(runs, 'r-1', io, {
    sectionsEveryMs: 0,
    sections: async (state, width) => {
      fetched.push(state.stages[0]?.status ?? '');
      return { lines: [`trials of sweep (${state.stages[0]?.status}) width ${width}`] };
    },
  });
  assert.equal(final.status, 'succeeded');
  assert.ok(fetched.includes('running'), `fetched while live: ${fetched.join(', ')}`);
  assert.equal(fetched.at(-1), 'succeeded', 'the last fetch is of the ended run');
  const text = output();
  assert.match(text, /trials of sweep \(running\) width 100/);
  // The last frame (after the final cursor-up/clear) ends with the ended run's trial table.
  const lastFrame = text.split('\u001b[J').at(-1) ?? '';
  assert.match(lastFrame, /SUCCEEDED/);
  assert.match(lastFrame, /trials of sweep \(succeeded\)/);
});

test('a failing section fetch keeps the stage table going', async () => {
  const runs = {
    async watch(_runId: string, onState: (state: RunState) => void): Promise<RunState> {
      const state = runState('succeeded', 'succeeded');
      onState(state);
      return state;
    },
  } as unknown as RunClient;
  const { io, output } = ttyIo();
  const final = await followRun(runs, 'r-1', io, {
    sections: async () => {
      throw new Error('Temporal unreachable');
    },
  });
  assert.equal(final.status, 'succeeded');
  assert.match(output(), /SUCCEEDED/);
});

test('off a TTY, one line per change: a stage a rerun reused reads "reused from run R", as the UI says it', async () => {
  const stage = (id: string, status: RunState['stages'][number]['status'], extra = {}) => ({
    id,
    uses: 'prepare-data',
    pool: 'cpu',
    status,
    attempts: status === 'succeeded' ? 1 : 0,
    ...extra,
  });
  const rerun = (trainStatus: 'running' | 'succeeded'): RunState => ({
    runId: 'r-2',
    pipeline: 'p',
    status: trainStatus,
    trigger: { kind: 'rerun', fromRunId: 'r-0', fromStage: 'train' },
    startedAt: '2026-01-01T00:00:00.000Z',
    params: {},
    stages: [
      // As src/core/run/run-tracker.ts marks a stage the rerun did not run.
      stage('prepare', 'succeeded', {
        attempts: 0,
        reason: 'reused from run r-0',
        reusedFrom: { runId: 'r-0', stage: 'prepare' },
      }),
      // A run recorded before `reusedFrom`: its reason alone says so.
      stage('older', 'succeeded', { attempts: 0, reason: 'reused from run r-1' }),
      // The field decides, not the words.
      stage('other', 'succeeded', { attempts: 0, reusedFrom: { runId: 'r-3', stage: 'other' } }),
      stage('lookup', 'cached', { reason: 'cache hit from run r-9' }),
      stage('train', trainStatus),
    ],
  });
  const states = [rerun('running'), rerun('succeeded')];
  const runs = {
    async watch(_runId: string, onState: (state: RunState) => void): Promise<RunState> {
      for (const state of states) onState(state);
      return states[1] as RunState;
    },
  } as unknown as RunClient;
  const chunks: string[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const stderr = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await followRun(runs, 'r-2', { stdout, stderr, env: {}, cwd: '/' });
  const lines = chunks
    .join('')
    .split('\n')
    .map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''));
  assert.deepEqual(lines, [
    'prepare reused from run r-0',
    'older reused from run r-1',
    'other reused from run r-3',
    'lookup cached (cache hit from run r-9)',
    'train running',
    'run running',
    'train succeeded',
    'run succeeded',
    '',
  ]);
});

test(
  "off a TTY, a sweep stage's line counts a trial whose worker died as its trial table does",
  { timeout: 20_000 },
  async () => {
    const running = runState('running', 'running');
    const live: RunState = {
      ...running,
      stages: running.stages.map((stage) => ({
        ...stage,
        progress: {
          message: 'trials 0/2 done (1 running, 0 pruned, 0 failed)',
          fraction: 0,
          detail: { started: 1, running: 1, completed: 0, stopped: 0, failed: 0, maxTrials: 2 },
        },
      })),
    };
    const chunks: string[] = [];
    let printedRetrying: () => void = () => undefined;
    const retrying = new Promise<void>((resolve) => (printedRetrying = resolve));
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        if (chunk.toString().includes('1 retrying')) printedRetrying();
        callback();
      },
    });
    const trials: { state: 'running' | 'retrying' }[] = [{ state: 'running' }];
    const runs = {
      async watch(_runId: string, onState: (state: RunState) => void): Promise<RunState> {
        // The run's own state does not change while its trial's worker is lost: the watch hears it once.
        onState(live);
        trials[0] = { state: 'retrying' };
        await retrying;
        const ended = runState('cancelled', 'succeeded');
        onState(ended);
        return ended;
      },
    } as unknown as RunClient;
    const stderr = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await followRun(
      runs,
      'r-1',
      { stdout, stderr, env: {}, cwd: '/' },
      {
        sectionsEveryMs: 0,
        sections: async () => {
          const rows = trials.map((trial, trialId) => ({ trialId, ...trial, params: {}, epochs: 1, best: false }));
          return {
            lines: ['not printed off a TTY'],
            restate: (state) => withTrialCounts(state, [{ stageId: 'sweep', source: 'live', partial: false, rows }]),
          };
        },
      },
    );
    const lines = chunks
      .join('')
      .split('\n')
      .map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''));
    assert.deepEqual(lines.slice(0, 3), [
      'sweep running trials 0/2 done (1 running, 0 pruned, 0 failed) (0%)',
      'run running',
      'sweep running trials 0/2 done (0 running, 1 retrying, 0 pruned, 0 failed) (0%)',
    ]);
    assert.ok(!lines.includes('not printed off a TTY'));
  },
);

test('without a TTY, a stale heartbeat is one line when it goes stale, not one a second while its age counts', async () => {
  const running = (reason?: string): RunState => {
    const state = runState('running', 'running');
    const [stage] = state.stages;
    const live = { ...(stage as RunState['stages'][number]), attempts: 1, live: {}, ...(reason ? { reason } : {}) };
    return { ...state, stages: [live] };
  };
  const stale = (seconds: number): string =>
    `progress stale: no heartbeat for ${seconds} s from worker cpu@vm:2106; the worker may have stopped`;
  const states = [running(), running(stale(22)), running(stale(23)), running(stale(24)), running()];
  const runs = {
    async watch(_runId: string, onState: (state: RunState) => void): Promise<RunState> {
      for (const state of states) onState(state);
      return runState('succeeded', 'succeeded');
    },
  } as unknown as RunClient;
  const chunks: string[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const stderr = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await followRun(runs, 'r-1', { stdout, stderr, env: {}, cwd: '/' }, { sectionsEveryMs: 0 });
  const lines = chunks
    .join('')
    .split('\n')
    .filter((line) => / sweep running/.test(line));
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[1] ?? '', /no heartbeat for 22 s from worker cpu@vm:2106/);
  assert.doesNotMatch(lines[2] ?? '', /stale/, 'the heartbeat came back: said once');
});
