/**
 * `finally:` stages on the real Temporal dev server and MinIO: they run after a success, a failure
 * and a cancel, see `run.status`, `run.failedStages` and `stages.X.status`, and a `notify` stage
 * posts to a webhook (an HTTP server of this test) through the outbound policy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import { compilePlan } from '../../../src/spec/compile';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver';
import { registerTestStageTypes } from '../../stage-types';
import { waitForRunState } from '../../helpers/run-state';

let h: RuntimeHarness;
let receiver: WebhookReceiver;
let webhook: string;

before(async () => {
  registerTestStageTypes();
  h = await startRuntimeHarness();
  // The worker of this process reaches the test's webhook only because the operator (here: the test) allows it.
  receiver = await startWebhookReceiver('/hooks/fineflow');
  receiver.respondWith(200);
  webhook = receiver.url;
});
after(async () => {
  await h?.close();
  await receiver?.close();
});

function compile(yaml: string) {
  const compiled = compilePlan(yaml, 'finally.yaml');
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  return compiled.plan;
}

const byId = (stages: readonly StageState[]): Map<string, StageState> => new Map(stages.map((s) => [s.id, s]));

function pipelineYaml(name: string, main: string): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
defaults: {pool: ${h.pools.cpu}, cache: false, retry: {maxAttempts: 1}}
stages:
${main}
finally:
  report:
    uses: test-echo
    with:
      value:
        status: \${{ run.status }}
        failed: \${{ run.failedStages }}
        cancelled: \${{ run.cancelledStages }}
        train: \${{ stages.train.status }}
        model: \${{ stages.train.outputs?.value }}
  notify:
    uses: notify
    needs: [report]
    with:
      url: ${webhook}
      message: "\${{ run.pipeline }} \${{ run.status }}; failed: \${{ run.failedStages }}"
      data: {status: "\${{ run.status }}", report: "\${{ stages.report.outputs.value }}"}
`;
}

const waitForState = (runId: string, predicate: (state: RunState) => boolean) =>
  waitForRunState(h.runs, runId, predicate, { timeoutMs: 30_000, pollMs: 150 });

test('after a success: finally stages run last, see the outcome, and the webhook gets the notification', async () => {
  const plan = compile(
    pipelineYaml(
      'finally-success',
      `  train:
    uses: test-echo
    with: {value: model-1}
  skipped:
    uses: test-echo
    when: \${{ stages.train.status == 'failed' }}
    with: {value: never}`,
    ),
  );
  assert.deepEqual(
    plan.stages.map((s) => [s.id, s.finally === true]),
    [
      ['train', false],
      ['skipped', false],
      ['report', true],
      ['notify', true],
    ],
  );
  const runId = await h.runs.submit(plan);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  const stages = byId(result.stages);
  assert.equal(stages.get('skipped')?.status, 'skipped');
  assert.deepEqual(stages.get('report')?.outputs?.value, {
    status: 'succeeded',
    failed: [],
    cancelled: [],
    train: 'succeeded',
    model: 'model-1',
  });
  assert.ok(
    (stages.get('report')?.startedAt ?? '') >= (stages.get('train')?.endedAt ?? 'z'),
    'the finally stage starts after the others ended',
  );
  assert.equal(stages.get('notify')?.outputs?.status, 200);
  const [body] = receiver.bodiesOf(runId);
  assert.equal(body?.message, 'finally-success succeeded; failed: []');
  assert.equal(body?.stage, 'notify');
  assert.equal(body?.pipeline, 'finally-success');
  assert.deepEqual((body?.data as JsonObject).status, 'succeeded');
});

test('after a failure: finally stages still run with the failed stage ids; the run stays failed', async () => {
  const plan = compile(
    pipelineYaml(
      'finally-failure',
      `  train:
    uses: test-invalid
    with: {value: bad}
  evaluate:
    uses: test-echo
    with: {value: "\${{ stages.train.outputs.value }}"}`,
    ),
  );
  const runId = await h.runs.submit(plan);
  assert.equal((await h.runs.result(runId)).status, 'failed');
  const state = await h.runs.state(runId);
  assert.equal(state.status, 'failed');
  const stages = byId(state.stages);
  assert.equal(stages.get('evaluate')?.status, 'pending');
  assert.deepEqual(stages.get('report')?.outputs?.value, {
    status: 'failed',
    failed: ['train'],
    cancelled: [],
    train: 'failed',
    model: null,
  });
  assert.equal(stages.get('notify')?.status, 'succeeded');
  assert.equal(receiver.bodiesOf(runId)[0]?.message, `finally-failure failed; failed: ["train"]`);
});

test('after a cancel: the running stage stops, finally stages run once, the run ends cancelled', async () => {
  const plan = compile(
    pipelineYaml(
      'finally-cancel',
      `  train:
    uses: test-echo
    heartbeatTimeout: 5s
    with: {value: slow, sleepMs: 60000, steps: 120}`,
    ),
  );
  const runId = await h.runs.submit(plan);
  // Cancel once the stage heartbeats (its cancel watch then stops it within a second).
  await waitForState(runId, (s) => (byId(s.stages).get('train')?.progress?.fraction ?? 0) > 0);
  const notified = receiver.firstOf(runId);
  await h.runs.cancel(runId);
  assert.equal((await h.runs.result(runId)).status, 'cancelled');
  assert.equal((await notified).message, 'finally-cancel cancelled; failed: []');
  const state = await h.runs.state(runId);
  assert.equal(state.status, 'cancelled');
  const stages = byId(state.stages);
  assert.equal(stages.get('train')?.status, 'cancelled');
  assert.deepEqual(stages.get('report')?.outputs?.value, {
    status: 'cancelled',
    failed: [],
    cancelled: ['train'],
    train: 'cancelled',
    model: null,
  });
  assert.equal(stages.get('notify')?.attempts, 1);
  const described = await h.client.workflow.getHandle(runId).describe();
  assert.equal(described.status.name, 'CANCELLED');
});

test('a failed finally stage fails a run whose stages succeeded, and says it was the finally stage', async () => {
  receiver.respondWith(403);
  try {
    const plan = compile(
      pipelineYaml('finally-notify-refused', `  train:\n    uses: test-echo\n    with: {value: ok}`),
    );
    const runId = await h.runs.submit(plan);
    await assert.rejects(h.client.workflow.getHandle(runId).result(), (error: Error) => {
      const cause = (error as { cause?: Error }).cause;
      assert.match(cause?.message ?? error.message, /finally stage notify failed after 1 attempt\(s\).*refused.*403/);
      return true;
    });
    const stages = byId((await h.runs.state(runId)).stages);
    assert.equal(stages.get('train')?.status, 'succeeded');
    assert.equal(stages.get('notify')?.status, 'failed');
    assert.equal(stages.get('notify')?.error?.type, 'FineflowInvalidInput');
  } finally {
    receiver.respondWith(200);
  }
});
