/**
 * The message of a run that waits on a failed stage. A non-retryable invalid input whose stage takes no param (a
 * literal of the pipeline file: evaluate's `slices: [employmnt]`) fails a retry the same way, so the advice is to fix
 * the file and submit again, `fineflow cancel` first (newuser's first week).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { it } from 'node:test';
import type { RunClient } from '../../../src/client/run-client';
import { followRun } from '../../../src/cli/run-support';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import type { Plan, PlannedStage } from '../../../src/core/spec/plan-types';

const RUN = 'loan-default-20261206-abc';

function stage(id: string, status: StageState['status'], error?: StageState['error']): StageState {
  return { id, uses: id, pool: 'cpu', status, attempts: 1, ...(error ? { error } : {}) };
}

function state(stages: readonly StageState[]): RunState {
  return {
    runId: RUN,
    pipeline: 'loan-default',
    status: 'waiting',
    trigger: { kind: 'manual' },
    startedAt: '2026-12-06T20:00:00Z',
    stages,
    params: {},
  } as RunState;
}

/** The fields of a plan the advice reads: its source and its stages' inputs and lines. */
function plan(stages: readonly Pick<PlannedStage, 'id' | 'with' | 'line'>[]): Plan {
  return { source: 'pipelines/loan.yaml', stages } as unknown as Plan;
}

/** followRun's stderr for a run that is already waiting in `final` (a non-TTY stdout: one line per change). */
async function adviceFor(final: RunState, withPlan?: Plan, recorded?: Plan): Promise<string> {
  const runs = {
    watch: () => Promise.resolve(final),
    plan: () => (recorded ? Promise.resolve(recorded) : Promise.reject(new Error('no history'))),
  } as unknown as RunClient;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  stdout.resume();
  await followRun(runs, RUN, { stdout, stderr, env: {}, cwd: '/' }, withPlan ? { plan: withPlan } : {});
  return text;
}

const INVALID = { type: 'FineflowInvalidInput', message: 'cannot slice by employmnt; did you mean `employment`?' };

it('a literal of the file: fix it there, cancel, submit again; never "retry"', async () => {
  const final = state([stage('prepare', 'succeeded'), stage('evaluate', 'waiting', INVALID)]);
  const text = await adviceFor(
    final,
    plan([
      { id: 'prepare', with: { dataset: 'loans' }, line: 8 },
      { id: 'evaluate', with: { slices: ['employmnt'], model: '${{ stages.train.outputs.model }}' }, line: 31 },
    ]),
  );
  assert.match(text, /^run loan-default-20261206-abc is waiting: stage evaluate failed\. /);
  assert.match(
    text,
    /fix evaluate \(line 31\) in pipelines\/loan\.yaml, `fineflow cancel loan-default-20261206-abc`, /,
  );
  assert.match(text, /, then submit the file again \(the stages before it are cache hits\)\.$/m);
  assert.doesNotMatch(text, /fineflow retry loan-default/);
});

it('an input fed by a param, another failure type, or no plan at hand: retry (with --set) or cancel', async () => {
  const retry = new RegExp(
    'Fix the cause, then `fineflow retry loan-default-20261206-abc` \\(add --set NAME=VALUE to change params\\), ' +
      'or `fineflow cancel loan-default-20261206-abc`\\.$',
    'm',
  );
  const fromParam = plan([{ id: 'evaluate', with: { slices: ['${{ params.sliceBy }}'] }, line: 31 }]);
  assert.match(await adviceFor(state([stage('evaluate', 'waiting', INVALID)]), fromParam), retry);
  const literal = plan([{ id: 'evaluate', with: { slices: ['employmnt'] }, line: 31 }]);
  const outage = { type: 'FineflowDependencyUnavailable', message: 'object store unavailable' };
  assert.match(await adviceFor(state([stage('evaluate', 'waiting', outage)]), literal), retry);
  assert.match(await adviceFor(state([stage('evaluate', 'waiting', INVALID)])), retry);
});

it('status --watch and rerun, which have no file: the plan recorded in the run gives the same advice', async () => {
  const final = state([stage('prepare', 'succeeded'), stage('evaluate', 'waiting', INVALID)]);
  const recorded = plan([
    { id: 'prepare', with: { dataset: 'loans' }, line: 8 },
    { id: 'evaluate', with: { slices: ['employmnt'] }, line: 31 },
  ]);
  const text = await adviceFor(final, undefined, recorded);
  assert.match(
    text,
    /fix evaluate \(line 31\) in pipelines\/loan\.yaml, `fineflow cancel loan-default-20261206-abc`, /,
  );
  assert.doesNotMatch(text, /fineflow retry loan-default/);
});
