/**
 * The peers' canonical examples of docs/coming-from-{argo,kfp,metaflow}.md (docs/examples/), run end
 * to end on the real stack as their Fineflow YAML stands: `command` stages in Python (the examples'
 * venv, allowed as an operator would), forEach over an upstream output, when, finally with a
 * webhook. test/unit/spec/doc-examples.test.ts validates and compiles them; this runs them.
 * Run with: bash scripts/test.sh integration test/e2e/doc-examples.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stageLogText, listStageLogs } from '../../src/client/run-logs';
import {
  assertStages,
  assertSucceeded,
  REPO,
  startExampleRuntime,
  type ExampleRuntime,
} from './helpers/example-runtime';
import { startWebhookReceiver } from '../helpers/webhook-receiver';

const TIMEOUT = { timeout: 300_000 };
let rt: ExampleRuntime;

before(async () => {
  rt = await startExampleRuntime();
});

after(async () => {
  await rt?.close();
});

async function logOf(runId: string, stageId: string): Promise<string> {
  const logs = await listStageLogs(rt.harness.store, rt.bucket, runId);
  const log = logs.find((entry) => entry.stageId === stageId);
  assert.ok(log, `run ${runId} has a log for ${stageId}: ${JSON.stringify(logs.map((l) => l.stageId))}`);
  return stageLogText(rt.harness.store, log);
}

test('argo dag-diamond: A, then B and C, then D', TIMEOUT, async () => {
  const run = await rt.run(rt.plan({ file: 'docs/examples/argo/dag-diamond.yaml' }));
  assertSucceeded(run);
  const started = (id: string): number => Date.parse(run.stage(id).startedAt ?? '');
  const ended = (id: string): number => Date.parse(run.stage(id).endedAt ?? '');
  assert.ok(started('B') >= ended('A') && started('C') >= ended('A'));
  assert.ok(started('D') >= Math.max(ended('B'), ended('C')));
  assert.match(await logOf(run.runId, 'D'), /\bD\b/);
});

test('argo loops-param-result: forEach over a list a Python step printed', TIMEOUT, async () => {
  // The example sleeps 20–30 s per item as Argo's does; the test keeps its shape and divides the sleep by 100.
  const file = 'docs/examples/argo/loops-param-result.yaml';
  const yaml = readFileSync(path.join(REPO, file), 'utf8').replace('time.sleep(s)', 'time.sleep(s / 100)');
  assert.match(yaml, /time\.sleep\(s \/ 100\)/);
  const run = await rt.run(rt.plan({ yaml, name: file }));
  assertSucceeded(run);
  const instances = run.state.stages.filter((stage) => stage.instanceOf === 'sleep');
  assert.deepEqual(
    instances.map((stage) => stage.item),
    Array.from({ length: 11 }, (_, i) => 20 + i),
  );
  assert.ok(instances.every((stage) => stage.status === 'succeeded'));
  assert.match(await logOf(run.runId, 'sleep.3'), /sleeping for 23 seconds/);
});

test(
  'argo exit-handlers: the failing step fails the run, the finally stages run and read its status',
  TIMEOUT,
  async () => {
    const receiver = await startWebhookReceiver('/services/ci');
    const { url: webhook, bodies } = receiver;
    try {
      const run = await rt.run(rt.plan({ file: 'docs/examples/argo/exit-handlers.yaml' }, { webhook }));
      assert.equal(run.result.status, 'failed');
      assertStages(run, { 'intentional-fail': 'failed', notify: 'succeeded', celebrate: 'skipped', cry: 'succeeded' });
      assert.equal(bodies.length, 1);
      assert.match(String(bodies[0]?.message), new RegExp(`^exit-handlers ${run.runId} failed\\. Failed stages`));
      assert.match(String(bodies[0]?.message), /intentional-fail/);
      assert.match(await logOf(run.runId, 'cry'), /boohoo!/);
    } finally {
      await receiver.close();
    }
  },
);

test('kfp control flow: ParallelFor, If on a component output, ExitHandler', TIMEOUT, async () => {
  const run = await rt.run(rt.plan({ file: 'docs/examples/kfp/parallel-condition-exit.yaml' }));
  assertSucceeded(run);
  const sums = run.state.stages
    .filter((stage) => stage.instanceOf === 'add-ten')
    .map((stage) => (stage.outputs?.values as { sum: number }).sum);
  assert.deepEqual(sums, [11, 12, 13]);
  const coin = (run.stage('flip-coin').outputs?.values as { result: string }).result;
  assert.ok(coin === 'heads' || coin === 'tails', coin);
  assert.equal(run.stage('print-heads').status, coin === 'heads' ? 'succeeded' : 'skipped');
  assert.match(await logOf(run.runId, 'exit-task'), /pipeline ended: succeeded/);
});

test('metaflow foreach/join and branch/join', TIMEOUT, async () => {
  const run = await rt.run(rt.plan({ file: 'docs/examples/metaflow/foreach-branch-join.yaml' }));
  assertSucceeded(run);
  const scores = run.state.stages
    .filter((stage) => stage.instanceOf === 'score')
    .map((stage) => (stage.outputs?.values as { score: number }).score);
  assert.deepEqual(
    scores,
    ['Stranger Things', 'House of Cards', 'Narcos'].map((title) => title.length),
  );
  assert.match(await logOf(run.runId, 'join-scores'), /best score 15/);
  // alpha 0.5: branch a doubles it (1), branch b adds one (1.5).
  assert.match(await logOf(run.runId, 'join-branches'), /sum 2\.5/);
});
