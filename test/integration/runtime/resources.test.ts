/**
 * `parallelism:` and `resources:` on the real Temporal dev server and MinIO: a run never has more
 * stages running than its parallelism, and a stage no worker of its pool can fit says so in the
 * run's status instead of waiting silently.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePlan } from '../../../src/spec/compile';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';
import { maxOverlap } from '../../fixtures/runtime/intervals';

let h: RuntimeHarness;
before(async () => {
  registerTestStageTypes();
  h = await startRuntimeHarness();
});
after(async () => {
  await h?.close();
});

function compile(yaml: string) {
  const compiled = compilePlan(yaml, 'resources.yaml');
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  return compiled.plan;
}

test('parallelism bounds the stages of a run running at once, fan-out instances included', async () => {
  const plan = compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: bounded}
parallelism: 2
defaults: {pool: ${h.pools.cpu}, cache: false, resources: {cpu: 0.5, memory: 64Mi}}
stages:
  a: {uses: test-echo, with: {value: a, sleepMs: 300}}
  b: {uses: test-echo, with: {value: b, sleepMs: 300}}
  c: {uses: test-echo, with: {value: c, sleepMs: 300}}
  many:
    uses: test-echo
    forEach: [x, y, z]
    with: {value: "\${{ item }}", sleepMs: 300}
`);
  assert.equal(plan.parallelism, 2);
  const result = await h.runs.result(await h.runs.submit(plan));
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  const worked = result.stages.filter((s) => s.id !== 'many');
  assert.equal(worked.length, 6);
  const intervals = worked.map((s) => s.outputs as unknown as { startedAt: number; endedAt: number });
  assert.equal(maxOverlap(intervals), 2, JSON.stringify(intervals));
});

test('a stage asking for more than any worker of its pool offers is reported by status, not left waiting', async () => {
  const plan = compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: too-big}
defaults: {pool: ${h.pools.cpu}, cache: false}
stages:
  gpu-job:
    uses: test-echo
    resources: {gpu: 4, memory: 1Gi}
    retry: {maxAttempts: 1, outageBudget: 10m}
    with: {value: never}
`);
  const runId = await h.runs.submit(plan);
  try {
    let reason: string | undefined;
    for (let polls = 0; polls < 600 && !reason?.startsWith('no worker can fit'); polls++) {
      const state = await h.runs.state(runId);
      reason = state.stages.find((s) => s.id === 'gpu-job')?.reason;
      if (!reason?.startsWith('no worker can fit')) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.match(
      reason ?? '',
      /no worker can fit this stage: it asks for memory 1Gi, gpu 4; the 1 worker\(s\) of pool/,
    );
    assert.match(reason ?? '', /gpu 0/);
  } finally {
    await h.runs.cancel(runId);
  }
});
