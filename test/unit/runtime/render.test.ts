import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRunId } from '../../../src/client/run-client';
import { progressBar, renderRunList, renderRunState } from '../../../src/client/render';
import type { RunState } from '../../../src/core/run/run-types';

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
  assert.match(lines[0] ?? '', /^run p-1  pipeline p  WAITING  10\.0s$/);
  assert.match(lines[2] ?? '', /✓ prepare .* succeeded .*2\.5s/);
  assert.match(lines[3] ?? '', /▶ train .* running .*\[#####-----------\]  30% epoch 3\/10/);
  assert.match(lines[4] ?? '', /⏸ check .* waiting +3 .*FineflowInvalidInput: no labels/);
  assert.equal(renderRunList([]), 'no runs');
});
