/** `fineflow status` nests a sub-pipeline's child run under its `pipeline` stage (src/client/child-runs.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withChildRuns } from '../../../src/client/child-runs';
import { renderRunState } from '../../../src/client/render';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import { stageState as stage } from '../../fixtures/runtime/stage-states';

const run = (runId: string, stages: StageState[]): RunState => ({
  runId,
  pipeline: runId,
  status: 'running',
  trigger: { kind: 'manual' },
  startedAt: '2026-12-05T09:00:00Z',
  stages,
  params: {},
});

const runs: Record<string, RunState> = {
  parent: run('parent', [
    stage('prepare'),
    stage('train', { uses: 'pipeline', status: 'running', childRunId: 'parent.train.pipeline-1' }),
    stage('register', { status: 'pending', attempts: 0 }),
  ]),
  'parent.train.pipeline-1': run('child', [
    stage('finetune'),
    stage('inner', { uses: 'pipeline', status: 'running', childRunId: 'grandchild' }),
  ]),
  grandchild: run('grandchild', [stage('evaluate', { status: 'running' })]),
};
const fetchState = async (id: string): Promise<RunState> => {
  const found = runs[id];
  if (!found) throw new Error(`no run ${id}`);
  return found;
};

test("a pipeline stage's child run (and its children) are listed under it, ids prefixed", async () => {
  const state = await withChildRuns(runs.parent as RunState, fetchState);
  assert.deepEqual(
    state.stages.map((s) => [s.id, s.parentStage ?? null]),
    [
      ['prepare', null],
      ['train', null],
      ['train › finetune', 'train'],
      ['train › inner', 'train'],
      ['train › inner › evaluate', 'train › inner'],
      ['register', null],
    ],
  );
  const table = renderRunState(state, new Date('2026-12-05T09:01:00Z'));
  const rows = table.split('\n').map((line) => line.trim().split(/\s+/).slice(0, 7).join(' '));
  assert.deepEqual(
    rows.filter((r) => /^[✓▶·]/.test(r)).map((r) => r.replace(/ (test-echo|pipeline).*$/, '')),
    ['✓ prepare', '▶ train', '✓ train › finetune', '▶ train › inner', '▶ train › inner › evaluate', '· register'],
  );
});

test('a child run that does not answer leaves a note, not an error', async () => {
  const lost = run('parent', [stage('train', { uses: 'pipeline', childRunId: 'gone' })]);
  const state = await withChildRuns(lost, fetchState);
  assert.equal(state.stages[1]?.parentStage, 'train');
  assert.match(state.stages[1]?.reason ?? '', /child run gone did not answer: no run gone/);
});
