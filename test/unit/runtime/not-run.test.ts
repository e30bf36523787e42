import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsFromEdges, notRunStages } from '../../../src/core/run/not-run';
import { endedOutside } from '../../../src/core/run/ended-outside';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import { renderRunState } from '../../../src/client/render';

const stage = (id: string, status: StageState['status'], extra: Partial<StageState> = {}): StageState => ({
  id,
  uses: 'test-echo',
  pool: 'cpu',
  status,
  attempts: status === 'pending' ? 0 : 1,
  ...extra,
});
const run = (status: RunState['status'], stages: StageState[]): RunState => ({
  runId: 'p-1',
  pipeline: 'p',
  status,
  trigger: { kind: 'manual' },
  startedAt: '2026-01-01T00:00:00.000Z',
  ...(status === 'running' || status === 'waiting' ? {} : { endedAt: '2026-01-01T00:01:00.000Z' }),
  params: {},
  stages,
});
// a → b → c → d, a → side
const needs = needsFromEdges([
  { from: 'a', to: 'b' },
  { from: 'b', to: 'c' },
  { from: 'c', to: 'd' },
  { from: 'a', to: 'side' },
]);
const chain = (b: StageState['status']): StageState[] => [
  stage('a', 'succeeded'),
  stage('b', b),
  stage('c', 'pending'),
  stage('d', 'pending'),
  stage('side', 'pending'),
];

test('a failed run names, for each stage it never ran, the upstream that failed or the stage the run failed at', () => {
  const reasons = notRunStages(run('failed', chain('failed')), needs);
  assert.deepEqual(Object.fromEntries(reasons), {
    c: { cause: 'upstream', blockedBy: 'b', text: 'upstream stage b failed' },
    d: { cause: 'upstream', blockedBy: 'b', text: 'upstream stage b failed' },
    side: { cause: 'run', blockedBy: 'b', text: 'the run failed at stage b' },
  });
});

test('a cancelled run puts its never-run stages down to the cancel or a cancelled upstream', () => {
  const reasons = notRunStages(run('cancelled', chain('cancelled')), needs);
  assert.equal(reasons.get('d')?.text, 'upstream stage b was cancelled');
  assert.equal(reasons.get('side')?.text, 'the run was cancelled before it started');
});

test('a run that failed with no failed stage ended before its stages started', () => {
  const reasons = notRunStages(run('failed', chain('skipped')), needs);
  assert.equal(reasons.get('c')?.text, 'the run ended before it started');
});

test('a terminated run: its running stage stopped by the termination, the stages after it and the rest not run', () => {
  const live = { ...run('running', chain('running')), endedAt: undefined };
  const ended = endedOutside(live, 'terminated', '2026-01-01T00:02:00.000Z', 'operator stop');
  assert.equal(ended.status, 'terminated');
  assert.equal(ended.endedAt, '2026-01-01T00:02:00.000Z');
  assert.deepEqual(
    ended.stages.map((s) => [s.id, s.status, s.endedAt, s.reason]),
    [
      ['a', 'succeeded', undefined, undefined],
      ['b', 'cancelled', '2026-01-01T00:02:00.000Z', 'the run was terminated (operator stop) while this stage ran'],
      ['c', 'pending', undefined, undefined],
      ['d', 'pending', undefined, undefined],
      ['side', 'pending', undefined, undefined],
    ],
  );
  const reasons = notRunStages(ended, needs);
  assert.deepEqual(Object.fromEntries(reasons), {
    c: { cause: 'upstream', blockedBy: 'b', text: 'upstream stage b was stopped when the run was terminated' },
    d: { cause: 'upstream', blockedBy: 'b', text: 'upstream stage b was stopped when the run was terminated' },
    side: { cause: 'run', text: 'the run was terminated before it started' },
  });
  const text = renderRunState(ended, new Date('2026-01-01T00:03:00.000Z'), 120, needs);
  assert.match(text, /terminated/);
  assert.doesNotMatch(text, /\brunning\b/);
});

test('a timed-out run: a waiting stage is stopped too, its error kept; liveness dropped with the running ones', () => {
  const live = run('waiting', [
    stage('a', 'waiting', { error: { type: 'Error', message: 'boom' } }),
    stage('b', 'running', { live: { waitingForWorker: true } }),
    stage('c', 'pending'),
  ]);
  const ended = endedOutside(live, 'timed-out', '2026-01-01T00:02:00.000Z');
  assert.deepEqual(
    ended.stages.map((s) => [s.id, s.status, s.reason, s.error?.message, s.live]),
    [
      ['a', 'cancelled', 'the run timed out while this stage waited', 'boom', undefined],
      ['b', 'cancelled', 'the run timed out while this stage ran', undefined, undefined],
      ['c', 'pending', undefined, undefined, undefined],
    ],
  );
  assert.equal(notRunStages(ended).get('c')?.text, 'the run timed out before it started');
});

test('without the DAG every never-run stage is put down to the run', () => {
  const reasons = notRunStages(run('failed', chain('failed')));
  assert.equal(reasons.get('d')?.text, 'the run failed at stage b');
});

test('a live, waiting or succeeded run has no never-run stages: pending is still to come', () => {
  for (const status of ['running', 'waiting', 'succeeded'] as const)
    assert.equal(notRunStages(run(status, chain(status === 'waiting' ? 'waiting' : 'running')), needs).size, 0);
});

test("a failed fan-out's pending instances never ran because of it", () => {
  const reasons = notRunStages(
    run('failed', [
      stage('work', 'failed'),
      stage('work.0', 'failed', { instanceOf: 'work' }),
      stage('work.1', 'pending', { instanceOf: 'work' }),
    ]),
  );
  assert.equal(reasons.get('work.1')?.text, 'its fan-out work failed');
});

test('fineflow status shows a failed run\'s never-run stages as "not run", with why', () => {
  const text = renderRunState(run('failed', chain('failed')), new Date('2026-01-01T00:01:00.000Z'), 120, needs);
  const line = (id: string): string => text.split('\n').find((l) => l.includes(` ${id} `)) ?? '';
  assert.match(line('d'), /^- d +test-echo +not run +upstream stage b failed$/);
  assert.match(line('side'), /^- side +test-echo +not run +the run failed at stage b$/);
  assert.doesNotMatch(text, /pending/);
  const live = renderRunState(run('running', chain('running')), new Date('2026-01-01T00:01:00.000Z'), 120, needs);
  assert.match(live, /· d +test-echo +pending/);
});
