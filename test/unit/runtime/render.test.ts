import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRunId } from '../../../src/client/run-client';
import { progressBar, renderRunList, renderRunState } from '../../../src/client/render';
import type { RunState, StageState } from '../../../src/core/run/run-types';

test('run ids are readable, time-stamped and unique by their random tail', () => {
  assert.equal(
    newRunId('defects', new Date('2026-03-04T05:06:07Z'), () => 'ab12'),
    'defects-20260304-050607-ab12',
  );
  const ids = new Set(Array.from({ length: 50 }, () => newRunId('p')));
  assert.ok(ids.size > 45);
  for (const id of ids) assert.match(id, /^p-\d{8}-\d{6}-[a-z0-9]{4}$/);
});

test('progress bars fill proportionally and clamp', () => {
  assert.equal(progressBar(0.5, 10), '[#####-----]  50%');
  assert.equal(progressBar(2, 4), '[####] 100%');
  assert.equal(progressBar(Number.NaN, 4), '[----]   0%');
});

test('the stage table shows status, attempts, progress and errors', () => {
  const state: RunState = {
    runId: 'p-1',
    pipeline: 'p',
    status: 'waiting',
    trigger: { kind: 'manual' },
    startedAt: '2026-01-01T00:00:00.000Z',
    params: {},
    stages: [
      {
        id: 'prepare',
        uses: 'prepare-data',
        pool: 'cpu',
        status: 'succeeded',
        attempts: 1,
        startedAt: '2026-01-01T00:00:00.000Z',
        endedAt: '2026-01-01T00:00:02.500Z',
      },
      {
        id: 'train',
        uses: 'fine-tune',
        pool: 'train',
        status: 'running',
        attempts: 0,
        startedAt: '2026-01-01T00:00:03.000Z',
        progress: { message: 'epoch 3/10', fraction: 0.3 },
      },
      {
        id: 'check',
        uses: 'evaluate',
        pool: 'cpu',
        status: 'waiting',
        attempts: 3,
        error: { type: 'FineflowInvalidInput', message: 'no labels' },
      },
    ],
  };
  const text = renderRunState(state, new Date('2026-01-01T00:00:10.000Z'));
  const lines = text.split('\n');
  assert.match(lines[0] ?? '', /^run p-1  pipeline p  WAITING  10 s$/);
  assert.match(lines[2] ?? '', /✓ prepare .* succeeded .*2\.5 s/);
  assert.match(lines[3] ?? '', /▶ train .* running .*\[#####-----------\]  30% epoch 3\/10/);
  assert.match(lines[4] ?? '', /⏸ check .* waiting +3 .*FineflowInvalidInput: no labels/);
  assert.equal(renderRunList([]), 'no runs');
});

test('a fan-out shows its instances under it; a wide one only the unfinished ones and a count', () => {
  const instance = (index: number, status: StageState['status']): StageState => ({
    id: `work.${index}`,
    uses: 'test-echo',
    pool: 'cpu',
    status,
    attempts: status === 'pending' ? 0 : 1,
    instanceOf: 'work',
    item: `shard-${index}`,
  });
  const state = (instances: StageState[]): RunState => ({
    runId: 'p-1',
    pipeline: 'p',
    status: 'running',
    trigger: { kind: 'manual' },
    startedAt: '2026-01-01T00:00:00.000Z',
    params: {},
    stages: [{ id: 'work', uses: 'test-echo', pool: 'cpu', status: 'running', attempts: 0 }, ...instances],
  });
  const few = renderRunState(state([instance(0, 'succeeded'), instance(1, 'running')])).split('\n');
  assert.match(few[3] ?? '', /✓ work\.0 .* item "shard-0"/);
  assert.match(few[4] ?? '', /▶ work\.1 .* item "shard-1"/);
  const many = Array.from({ length: 40 }, (_, i) =>
    instance(i, i < 30 ? 'succeeded' : i === 30 ? 'failed' : i < 33 ? 'running' : 'pending'),
  );
  const lines = renderRunState(state(many)).split('\n');
  assert.equal(lines.length, 2 + 1 + 3 + 1 + 1);
  assert.deepEqual(
    lines.slice(3, 6).map((l) => l.slice(0, 9)),
    ['✗ work.30', '▶ work.31', '▶ work.32'],
  );
  assert.equal(lines[6], '  … 37 more of 40 instances (30 succeeded, 1 failed, 2 running, 7 pending)');
});

/** A rerun of run r-0 from `train`: `prepare` reused (as src/core/run/run-tracker.ts marks it), the rest ran. */
function rerunState(): RunState {
  return {
    runId: 'p-2',
    pipeline: 'p',
    status: 'succeeded',
    trigger: { kind: 'rerun', fromRunId: 'r-0', fromStage: 'train' },
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:09.000Z',
    params: {},
    stages: [
      {
        id: 'prepare',
        uses: 'prepare-data',
        pool: 'cpu',
        status: 'succeeded',
        attempts: 0,
        reason: 'reused from run r-0',
      },
      {
        id: 'lookup',
        uses: 'prepare-data',
        pool: 'cpu',
        status: 'cached',
        attempts: 0,
        reason: 'cache hit from run r-9',
      },
      {
        id: 'train',
        uses: 'fine-tune',
        pool: 'train',
        status: 'succeeded',
        attempts: 1,
        startedAt: '2026-01-01T00:00:01.000Z',
        endedAt: '2026-01-01T00:00:09.000Z',
      },
    ],
  };
}

test('a stage a rerun reused reads "reused", with the run it came from, not "succeeded"', () => {
  const rows = renderRunState(rerunState(), new Date('2026-01-01T00:00:10.000Z')).split('\n');
  const prepare = rows.find((line) => line.includes(' prepare ')) ?? '';
  assert.match(prepare, /prepare-data\s+reused\s.*reused from run r-0/);
  assert.doesNotMatch(prepare, /succeeded/);
  assert.match(rows.find((line) => line.includes(' train ')) ?? '', /fine-tune\s+succeeded/);
  assert.match(rows.find((line) => line.includes(' lookup ')) ?? '', /cached\s.*cache hit from run r-9/);
});

test('a reused stage is recognised by its reusedFrom field, not by the words of its reason', () => {
  const state = rerunState();
  const stages = state.stages.map((stage) =>
    stage.id === 'prepare'
      ? { ...stage, reason: undefined, reusedFrom: { runId: 'r-0', stage: 'prepare' } }
      : { ...stage, ...(stage.id === 'train' ? { reason: 'reused from run r-5' } : {}) },
  );
  const rows = renderRunState({ ...state, stages }, new Date('2026-01-01T00:00:10.000Z')).split('\n');
  assert.match(rows.find((line) => line.includes(' prepare ')) ?? '', /prepare-data\s+reused\b/);
  // A stage that ran says succeeded, whatever its reason's words.
  assert.match(rows.find((line) => line.includes(' train ')) ?? '', /fine-tune\s+succeeded/);
});

test('a finished training stage names the engine it trained on in its detail', () => {
  const stage = (id: string, engine: unknown, extra: Partial<StageState> = {}): StageState => ({
    id,
    uses: 'fine-tune',
    pool: 'train',
    status: 'succeeded',
    attempts: 1,
    outputs: { model: 's3://b/m/model.json', backend: 'tensorflow', engine: engine as string },
    ...extra,
  });
  const state: RunState = {
    runId: 'p-2',
    pipeline: 'p',
    status: 'succeeded',
    trigger: { kind: 'manual' },
    startedAt: '2026-01-01T00:00:00.000Z',
    params: {},
    stages: [
      stage('fast', 'graph'),
      stage('slow', 'eager'),
      stage('cached', 'eager', { status: 'cached', reason: 'cache hit' }),
      stage('odd', { not: 'a name' }),
    ],
  };
  const rows = renderRunState(state, new Date('2026-01-01T00:00:10.000Z')).split('\n');
  const row = (id: string) => rows.find((line) => line.includes(` ${id} `)) ?? '';
  assert.match(row('fast'), /graph engine$/);
  assert.match(row('slow'), /eager engine$/);
  assert.match(row('cached'), /cache hit; eager engine$/);
  assert.doesNotMatch(row('odd'), /engine/);
});

test("a sweep's progress line that does not fit its row shows whole under it, at 80 and at 100 columns", () => {
  const message =
    'trials 3/16 done (1 running, 1 retrying, 1 unresponsive, 1 waiting for a worker, 1 pruned, 0 failed) ' +
    'best validation.accuracy=0.9123 (trial 2)';
  const state: RunState = {
    runId: 'p-1',
    pipeline: 'p',
    status: 'running',
    trigger: { kind: 'manual' },
    startedAt: '2026-01-01T00:00:00.000Z',
    params: {},
    stages: [
      {
        id: 'sweep',
        uses: 'hyperparameter-sweep',
        pool: 'cpu',
        status: 'running',
        attempts: 0,
        startedAt: '2026-01-01T00:00:03.000Z',
        progress: { message, fraction: 3 / 16 },
      },
      {
        id: 'train',
        uses: 'fine-tune',
        pool: 'train',
        status: 'running',
        attempts: 0,
        startedAt: '2026-01-01T00:00:03.000Z',
        progress: { message: 'epoch 3/10', fraction: 0.3 },
      },
      { id: 'register', uses: 'register-model', pool: 'cpu', status: 'pending', attempts: 0 },
    ],
  };
  const now = new Date('2026-01-01T00:00:10.000Z');
  for (const width of [80, 100]) {
    const lines = renderRunState(state, now, width).split('\n');
    for (const line of lines) assert.ok(line.length <= width, `${width} columns: ${line}`);
    assert.ok(!lines.some((line) => line.includes('…')), `nothing is cut at ${width} columns:\n${lines.join('\n')}`);
    // The message follows its row, indented, and reads whole once its lines are joined; the bar stays in the row
    // when it fits there, else it leads the message.
    const row = lines.findIndex((line) => /▶ sweep /.test(line));
    const under: string[] = [];
    for (const line of lines.slice(row + 1)) {
      if (!line.startsWith('    ')) break;
      under.push(line.trim());
    }
    assert.ok(under.length > 0, `${width} columns`);
    assert.ok(under.join(' ').endsWith(message), `${width} columns: ${under.join(' ')}`);
    assert.match([lines[row], ...under].join(' '), /running .*\[###-------------\] {2}19% trials 3\/16/);
    if (width === 100) {
      assert.match(lines[row] ?? '', /running .*\[###-------------\] {2}19%$/);
      // A message that fits stays on its row.
      assert.match(lines[row + 1 + under.length] ?? '', /▶ train .*\[#####-----------\] {2}30% epoch 3\/10$/);
    }
  }
  // Wide enough: one row, as before.
  const wide = renderRunState(state, now, 250).split('\n');
  assert.match(wide[2] ?? '', new RegExp(`▶ sweep .*19% ${message.replace(/[().]/g, '\\$&')}$`));
});
