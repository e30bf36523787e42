/**
 * What a user typed (a run id, a stage, schedule or pipeline name) is echoed bounded and escaped by every message that
 * names it: a 5,000-character run id was printed whole in "no run …", escape sequences included.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { requirePipelineName } from '../../../src/cli/command';
import { requireRunStage } from '../../../src/cli/run-stage';
import { selectRerun } from '../../../src/cache/cache-rerun';
import { fetchOriginalRun } from '../../../src/client/rerun';
import { RunClient } from '../../../src/client/run-client';
import { shownInput } from '../../../src/core/shown-input';
import { compilePlan } from '../../../src/spec';

const LONG = 'r'.repeat(5_000);
const ESCAPING = 'run\u001b[2J\u001b[31mred\nnext\u0007';

/** The message is one line of bounded length that shows neither the whole input nor a raw control character. */
function assertBounded(message: string, what: string): void {
  assert.ok(message.length < 600, `${what}: ${message.length} characters`);
  assert.doesNotMatch(message, /[\u0000-\u001f\u007f]/, `${what}: a raw control character`);
  assert.ok(!message.includes('r'.repeat(81)), `${what}: more than 80 characters of the input`);
}

test('shownInput: plain short values as they are; others quoted, escaped and cut with their length', () => {
  assert.equal(shownInput('quickstart-20261205-031651-fnr3'), 'quickstart-20261205-031651-fnr3');
  assert.equal(shownInput('a b'), 'a b');
  assert.equal(shownInput(''), '""');
  assert.equal(shownInput(' padded '), '" padded "');
  assert.equal(shownInput('say "hi"'), '"say \\"hi\\""');
  assert.equal(shownInput(ESCAPING), '"run\\u001b[2J\\u001b[31mred\\nnext\\u0007"');
  assert.equal(shownInput('a\u202eb\u2028c'), '"a\\u202eb\\u2028c"');
  assert.equal(shownInput(LONG), `"${'r'.repeat(80)}…" (5000 characters)`);
  assert.equal(shownInput('x'.repeat(80)), 'x'.repeat(80));
  // Cut by characters, not UTF-16 units: an emoji is never split in half.
  assert.equal(shownInput('😀'.repeat(81)), `"${'😀'.repeat(80)}…" (81 characters)`);
  assert.equal(shownInput('\ud800x'), '"\\ud800x"');
});

/** A Temporal client that knows no run. */
const noRuns = {
  workflow: {
    getHandle: (id: string) => {
      const missing = () => Promise.reject(new WorkflowNotFoundError('workflow not found', id, undefined));
      return { describe: missing, cancel: missing, executeUpdate: missing, result: missing, query: missing };
    },
  },
  withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
} as unknown as Client;

test('"no run …" from every run command echoes the id bounded and escaped', async () => {
  const runs = new RunClient(noRuns, { bucket: 'fineflow' });
  for (const id of [LONG, ESCAPING]) {
    for (const [what, call] of [
      ['state', () => runs.state(id)],
      ['retry', () => runs.retry(id)],
      ['cancel', () => runs.cancel(id)],
      ['execution', () => runs.execution(id)],
      ['rerun', () => fetchOriginalRun(noRuns, id, { bucket: 'fineflow' })],
    ] as const) {
      await assert.rejects(call(), (error: Error) => {
        assert.match(error.message, /^no run "r/, what);
        assertBounded(error.message, what);
        return true;
      });
    }
  }
  await assert.rejects(runs.state(LONG), /no run "r{80}…" \(5000 characters\); list runs with `fineflow runs`$/);
});

test('a stage a run lacks (logs, report, rerun --from) is echoed bounded and escaped', () => {
  const state = { runId: 'r1', pipeline: 'p', stages: [{ id: 'train' }] } as unknown as Parameters<
    typeof requireRunStage
  >[0];
  for (const stage of [LONG, ESCAPING])
    assert.throws(
      () => requireRunStage(state, stage),
      (error: Error) => (assertBounded(error.message, 'requireRunStage'), true),
    );
  const { plan } = compilePlan(
    'apiVersion: fineflow/v1\nkind: Pipeline\nmetadata: {name: p}\nstages:\n  only: {uses: command, with: {run: [echo]}}\n',
    'p.yaml',
  );
  assert.ok(plan);
  for (const fromStage of [LONG, ESCAPING])
    assert.throws(
      () => selectRerun({ plan, fromRunId: 'r1', fromStage, stages: [] }),
      (error: Error) => (assertBounded(error.message, 'rerun --from'), true),
    );
});

test('a pipeline or schedule name no pipeline can have is echoed escaped, not only cut', () => {
  assert.throws(
    () => requirePipelineName(ESCAPING, { label: 'NAME', what: 'schedule', example: 'x' }),
    (error: Error) => {
      assertBounded(error.message, 'requirePipelineName');
      assert.match(error.message, /NAME "run\\u001b\[2J/);
      return true;
    },
  );
});
