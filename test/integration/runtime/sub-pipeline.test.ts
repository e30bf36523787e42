/**
 * Sub-pipelines (`uses: pipeline`) on the real Temporal dev server and MinIO: the child file runs as a
 * child `pipelineRun` with a deterministic id, params from upstream outputs, its stages' outputs
 * flowing downstream; a failed child paused in the parent is retried without redoing the child
 * stages that succeeded; a cancel of the parent reaches the child; `status` nests the child's stages;
 * a child whose result is cut (src/core/run/run-result.ts) is read from its stored table.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withChildRuns } from '../../../src/client/child-runs';
import { RunClient } from '../../../src/client/run-client';
import type { PipelineRunResult, RunState, StageState } from '../../../src/core/run/run-types';
import type { Plan } from '../../../src/core/spec/plan-types';
import { compilePlan } from '../../../src/spec/compile';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';

let h: RuntimeHarness;
let dir: string;

before(async () => {
  registerTestStageTypes();
  h = await startRuntimeHarness();
  dir = mkdtempSync(path.join(tmpdir(), 'fineflow-sub-it-'));
  mkdirSync(path.join(dir, 'parts'));
});
after(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Poll a condition of the live state (a query, not an event the test could await), for at most 30 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const byId = (stages: readonly StageState[]): Map<string, StageState> => new Map(stages.map((s) => [s.id, s]));

/** Write the files and compile the parent as `fineflow submit` does (children read next to it). */
function compile(files: Record<string, string>, main: string): Plan {
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const file = path.join(dir, main);
  const compiled = compilePlan(files[main] as string, file, { pipelineFiles: pipelineFileSource(file, dir) });
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics, null, 1));
  return compiled.plan;
}

const header = (name: string, params = ''): string => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
${params}defaults: {pool: ${h.pools.cpu}, cache: false, retry: {maxAttempts: 1}}
`;

test('a child run gets params from upstream outputs; its stages’ outputs flow downstream; status nests them', async () => {
  const plan = compile(
    {
      'parts/child.yaml': `${header('child', 'params: {seed: {type: string}}\n')}stages:
  first:
    uses: test-echo
    with: {value: "\${{ params.seed }}-first"}
  second:
    uses: test-echo
    with: {value: "\${{ stages.first.outputs.value }}-second"}
`,
      'parent.yaml': `${header('parent')}stages:
  start:
    uses: test-echo
    with: {value: s}
  sub:
    uses: pipeline
    with:
      file: parts/child.yaml
      params: {seed: "\${{ stages.start.outputs.value }}"}
  end:
    uses: test-echo
    with: {value: "\${{ stages.sub.outputs.second.value }}!"}
`,
    },
    'parent.yaml',
  );
  const runId = await h.runs.submit(plan);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  const stages = byId(result.stages);
  assert.equal(stages.get('end')?.outputs?.value, 's-first-second!');
  const sub = stages.get('sub') as StageState;
  assert.equal(sub.childRunId, `${runId}.sub.pipeline-1`);
  assert.deepEqual(Object.keys(sub.outputs ?? {}).sort(), ['first', 'second']);
  // The child is a run of its own: its id, pipeline name and stages are there for status, logs, retry.
  const child = await h.runs.state(`${runId}.sub.pipeline-1`);
  assert.equal(child.pipeline, 'child');
  assert.equal(child.status, 'succeeded');
  assert.deepEqual(
    child.stages.map((s) => [s.id, s.status]),
    [
      ['first', 'succeeded'],
      ['second', 'succeeded'],
    ],
  );
  const nested = await withChildRuns(await h.runs.state(runId), (id) => h.runs.state(id));
  assert.deepEqual(
    nested.stages.map((s) => [s.id, s.parentStage ?? null]),
    [
      ['start', null],
      ['sub', null],
      ['sub › first', 'sub'],
      ['sub › second', 'sub'],
      ['end', null],
    ],
  );
});

test('a failed child pauses the parent stage; a retry reuses the child stages whose params did not change', async () => {
  const plan = compile(
    {
      'parts/flaky.yaml': `${header('flaky', 'params: {answer: {type: string}}\n')}stages:
  good:
    uses: test-echo
    with: {value: kept}
  check:
    uses: test-fail-until-param
    needs: [good]
    with: {value: "\${{ params.answer }}", expected: right}
`,
      'retry.yaml': `${header('retry', 'params: {answer: wrong}\n')}stages:
  sub:
    uses: pipeline
    onFailure: pause
    with:
      file: parts/flaky.yaml
      params: {answer: "\${{ params.answer }}"}
`,
    },
    'retry.yaml',
  );
  const runId = await h.runs.submit(plan);
  const waiting = await h.runs.watch(runId, () => undefined, { until: (s) => s.status === 'waiting' });
  assert.equal(waiting.status, 'waiting', JSON.stringify(waiting.stages));
  const first = byId((await h.runs.state(`${runId}.sub.pipeline-1`)).stages);
  assert.equal(first.get('good')?.status, 'succeeded');
  assert.equal(first.get('check')?.status, 'failed');
  assert.match(byId(waiting.stages).get('sub')?.error?.message ?? '', /check failed/);

  await h.runs.retry(runId, { stageId: 'sub', params: { answer: 'right' } });
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  assert.equal(byId(result.stages).get('sub')?.childRunId, `${runId}.sub.pipeline-2`);
  const second = byId((await h.runs.state(`${runId}.sub.pipeline-2`)).stages);
  // `good` reads no param: reused from the first child, not run again; `check` reads the changed one.
  assert.equal(second.get('good')?.reason, `reused from run ${runId}.sub.pipeline-1`);
  assert.equal(second.get('good')?.outputs?.value, 'kept');
  assert.equal(second.get('check')?.status, 'succeeded');
  assert.equal(second.get('check')?.attempts, 1);
});

test('cancelling the parent cancels the child run and its running stage', async () => {
  const plan = compile(
    {
      'parts/slow.yaml': `${header('slow')}stages:
  wait:
    uses: test-echo
    heartbeatTimeout: 10s
    with: {value: w, sleepMs: 60000, steps: 600}
`,
      'cancel.yaml': `${header('cancel')}stages:
  sub:
    uses: pipeline
    with: {file: parts/slow.yaml}
`,
    },
    'cancel.yaml',
  );
  const runId = await h.runs.submit(plan);
  const childId = `${runId}.sub.pipeline-1`;
  // Cancel once the child's stage heartbeats (the child starts just after the parent records its id).
  const heartbeating = (s: RunState): boolean => (byId(s.stages).get('wait')?.progress?.fraction ?? 0) > 0;
  await until(async () => heartbeating(await h.runs.state(childId)));
  await h.runs.cancel(runId);
  assert.equal((await h.runs.result(runId)).status, 'cancelled');
  assert.equal((await h.runs.result(childId)).status, 'cancelled');
  const state = await h.runs.state(childId);
  assert.equal(byId(state.stages).get('wait')?.status, 'cancelled');
});

test('a child result without outputs: the parent reads them and a retry reuses them from the stored table', async () => {
  // A tiny inline budget (inherited by the child): every result is cut and points to its table in the store.
  const runs = new RunClient(h.client, {
    bucket: h.config.s3.bucket,
    workflowTaskQueue: h.runs.workflowTaskQueue,
    store: h.store,
    resultInlineChars: 64,
  });
  const plan = compile(
    {
      'parts/stored.yaml': `${header('stored', 'params: {answer: {type: string}}\n')}stages:
  first:
    uses: test-echo
    with: {value: kept}
  second:
    uses: test-echo
    with: {value: "\${{ stages.first.outputs.value }}-second"}
  check:
    uses: test-fail-until-param
    needs: [second]
    with: {value: "\${{ params.answer }}", expected: right}
`,
      'stored-parent.yaml': `${header('stored-parent', 'params: {answer: wrong}\n')}stages:
  sub:
    uses: pipeline
    onFailure: pause
    with:
      file: parts/stored.yaml
      params: {answer: "\${{ params.answer }}"}
  end:
    uses: test-echo
    with: {value: "\${{ stages.sub.outputs.second.value }}!"}
`,
    },
    'stored-parent.yaml',
  );
  const runId = await runs.submit(plan);
  const waiting = await runs.watch(runId, () => undefined, { until: (s) => s.status === 'waiting' });
  assert.equal(waiting.status, 'waiting', JSON.stringify(waiting.stages));
  // The failed child's details hold no outputs: they are in its stored table.
  const failedChild = `${runId}.sub.pipeline-1`;
  const details = await h.client.workflow
    .getHandle(failedChild)
    .result()
    .then(
      () => undefined,
      (error: unknown) => (error as { cause?: { details?: unknown[] } }).cause?.details?.[0] as PipelineRunResult,
    );
  assert.ok(details?.stored, 'the child failed with a cut result');
  assert.equal(
    details.stages.some((s) => s.outputs !== undefined),
    false,
  );
  assert.equal(byId((await runs.result(failedChild)).stages).get('second')?.outputs?.value, 'kept-second');

  await runs.retry(runId, { stageId: 'sub', params: { answer: 'right' } });
  const result = await runs.result(runId);
  assert.equal(result.status, 'succeeded', JSON.stringify(result));
  assert.ok(result.stored, 'the parent result was cut too, and read back whole');
  assert.equal(byId(result.stages).get('end')?.outputs?.value, 'kept-second!');
  const second = byId((await runs.result(`${runId}.sub.pipeline-2`)).stages);
  assert.equal(second.get('first')?.reason, `reused from run ${failedChild}`);
  assert.equal(second.get('second')?.outputs?.value, 'kept-second');
  assert.equal(second.get('check')?.attempts, 1);
});
