/**
 * What the client and CLI say about ended and unknown runs, and a retry with no control worker:
 * each answers at once with what is true and a non-zero exit, instead of "no run X",
 * "cancellation requested" (exit 0), silence, or a hang.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { InvalidInputError, DependencyUnavailableError } from '../../../src/core/errors';
import type { RunState } from '../../../src/core/run/run-types';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { waitForRunState } from '../../helpers/run-state';

const REPO = path.resolve(__dirname, '../../..');
let h: RuntimeHarness;
before(async () => {
  h = await startRuntimeHarness();
});
after(async () => {
  await h?.close();
});

const waitForState = (runId: string, predicate: (state: RunState) => boolean) =>
  waitForRunState(h.runs, runId, predicate, { timeoutMs: 30_000, pollMs: 150 });

test('retry and cancel of a succeeded run say it ended; an unknown run is "no run"', async () => {
  const runId = await h.runs.submit(h.plan('ended', [{ id: 'only', with: { value: 1 } }]));
  assert.equal((await h.runs.result(runId)).status, 'succeeded');
  await assert.rejects(
    h.runs.retry(runId),
    (error: unknown) =>
      error instanceof InvalidInputError &&
      /already ended succeeded/.test(error.message) &&
      /fineflow rerun/.test(error.message),
  );
  await assert.rejects(
    h.runs.cancel(runId),
    (error: unknown) =>
      error instanceof InvalidInputError && /cannot cancel .*: the run already ended succeeded/.test(error.message),
  );
  await assert.rejects(h.runs.retry('no-such-run-x1'), /no run no-such-run-x1/);
  await assert.rejects(h.runs.cancel('no-such-run-x1'), /no run no-such-run-x1/);
});

test('fineflow cancel of an ended run exits non-zero and says it ended', async () => {
  const runId = await h.runs.submit(h.plan('ended-cli', [{ id: 'only', with: { value: 1 } }]));
  assert.equal((await h.runs.result(runId)).status, 'succeeded');
  const result = await promisify(execFile)(process.execPath, [path.join(REPO, 'bin/fineflow.js'), 'cancel', runId], {
    cwd: REPO,
    env: process.env,
  }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code?: number; stderr?: string }) => ({ code: error.code ?? -1, stderr: error.stderr ?? '' }),
  );
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /cannot cancel .*the run already ended succeeded/);
  assert.doesNotMatch(result.stderr, /cancellation requested/);
});

test('fineflow logs of an unknown run exits non-zero and says so', async () => {
  const result = await promisify(execFile)(
    process.execPath,
    [path.join(REPO, 'bin/fineflow.js'), 'logs', 'no-such-run-x2'],
    { cwd: REPO, env: process.env },
  ).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code?: number; stderr?: string }) => ({ code: error.code ?? -1, stderr: error.stderr ?? '' }),
  );
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /no run no-such-run-x2/);
});

test('a run cancelled while a stage waits ends with that stage cancelled, not waiting', async () => {
  const runId = await h.runs.submit(
    h.plan('cancel-waiting', [
      { id: 'check', uses: 'test-fail-until-param', with: { value: 1, expected: 2 }, onFailure: 'pause' },
      { id: 'after', needs: ['check'], with: { value: 1 } },
    ]),
  );
  await waitForState(runId, (s) => s.status === 'waiting');
  await h.runs.cancel(runId);
  const ended = await waitForState(runId, (s) => s.status === 'cancelled');
  const byId = new Map(ended.stages.map((s) => [s.id, s]));
  assert.equal(byId.get('check')?.status, 'cancelled', JSON.stringify(ended.stages));
  assert.ok(byId.get('check')?.error, 'the error it waited on stays');
  assert.equal(byId.get('check')?.reason, 'the run was cancelled while this stage waited');
  assert.equal(byId.get('after')?.status, 'pending', 'a stage that never started stays pending');
});

test(
  'a run terminated through Temporal reads terminated: its running stage stopped, the rest not run',
  { timeout: 90_000 },
  async () => {
    const plan = h.plan(`terminated-${randomSuffix()}`, [
      { id: 'first', with: { value: 'kept' } },
      { id: 'long', needs: ['first'], with: { sleepMs: 60_000, steps: 60 }, heartbeatTimeoutMs: 5_000 },
      { id: 'after', needs: ['long'] },
    ]);
    const runId = await h.runs.submit(plan);
    // Under way: the long stage has reported progress.
    await waitForState(runId, (s) => s.stages[1]?.progress !== undefined);
    await h.client.workflow.getHandle(runId).terminate('stopped by an operator');

    // Read with a control worker answering the query, as `fineflow status` and the UI read it.
    const state = await h.runs.state(runId);
    assert.equal(state.status, 'terminated');
    assert.ok(state.endedAt, 'an ended run has its end time');
    assert.deepEqual(
      state.stages.map((s) => [s.id, s.status, s.reason]),
      [
        ['first', 'succeeded', undefined],
        ['long', 'cancelled', 'the run was terminated (stopped by an operator) while this stage ran'],
        ['after', 'pending', undefined],
      ],
    );
    assert.equal(state.stages[1]?.endedAt, state.endedAt);

    const cli = async (...args: string[]) =>
      promisify(execFile)(process.execPath, [path.join(REPO, 'bin/fineflow.js'), ...args], {
        cwd: REPO,
        env: process.env,
      });
    const json = JSON.parse((await cli('status', runId, '--json')).stdout) as RunState;
    assert.equal(json.status, 'terminated');
    assert.deepEqual(
      json.stages.map((s) => s.status),
      ['succeeded', 'cancelled', 'pending'],
    );
    const text = (await cli('status', runId)).stdout;
    assert.match(text, /TERMINATED/);
    assert.match(text, /long\s.*cancelled\s.*the run was terminated/);
    assert.match(text, /after\s.*not run\s+upstream stage long was stopped/);
    assert.doesNotMatch(text, /\brunning\b/);

    // `runs` lists it under terminated, and no longer under the running status it last recorded.
    const listed = async (status: string) =>
      (
        JSON.parse((await cli('runs', '--pipeline', plan.pipeline.name, '--status', status, '--json')).stdout) as {
          runId: string;
          status: string;
        }[]
      ).map((r) => [r.runId, r.status]);
    // Visibility catches up on its own time: wait for the list to show the run ended, then read both filters.
    while ((await listed('terminated')).length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await listed('terminated'), [[runId, 'terminated']]);
    assert.deepEqual(await listed('running'), []);
  },
);

test(
  'a retry with no control worker gives up after its deadline and names the queue nothing polls',
  { timeout: 60_000 },
  async () => {
    const runId = await h.runs.submit(
      h.plan('no-control', [
        { id: 'check', uses: 'test-fail-until-param', with: { value: 1, expected: 2 }, onFailure: 'pause' },
      ]),
    );
    await waitForState(runId, (s) => s.status === 'waiting');
    const control = h.workers[0];
    assert.ok(control);
    await control.shutdown();
    const started = Date.now();
    await assert.rejects(
      h.runs.retry(runId, {}, { timeoutMs: 3_000 }),
      (error: unknown) =>
        error instanceof DependencyUnavailableError &&
        /did not take the retry within 3 s: no control worker polls fineflow-control-/.test(error.message),
    );
    assert.ok(Date.now() - started < 15_000, `gave up in ${Date.now() - started} ms`);
    await h.client.workflow.getHandle(runId).terminate('test cleanup');
  },
);
