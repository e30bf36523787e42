/**
 * A MinIO outage rides out under the default pipeline settings: the real test-stack MinIO is
 * stopped for 30 s while a stage writes to it (`infra/stack.sh down minio`, then `up minio`).
 * Dependency-unavailable failures use the stage's outage budget (default 15 min), not its own
 * retry budget (3 attempts, 5 s ×2, which an outage longer than ~15 s used to exhaust). Log lines written
 * during the outage are buffered by the worker and reach the store once it is back.
 * 30 s is twice what the old budget survived and takes the waits to 5, 10 and 20 s; until session 12 it was 60 s
 * (and `talk` ran 80 s), which added ~35 s to the suite and only reached the 30 s wait cap, which
 * test/unit/runtime/outage-retry.test.ts checks.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { ERROR_TYPES } from '../../../src/core/errors';
import { compilePlan } from '../../../src/spec/compile';
import type { RunState } from '../../../src/core/run/run-types';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { waitForRunState } from '../../helpers/run-state';

const STACK = path.resolve(__dirname, '../../../infra/stack.sh');
const stack = (...args: string[]): Promise<unknown> =>
  promisify(execFile)('bash', [STACK, ...args], { env: process.env });

/** How long MinIO stays down; `talk` (50 s) outlasts it and MinIO's restart, so its log says the store was away. */
const OUTAGE_MS = 30_000;

let h: RuntimeHarness;
before(async () => {
  registerTestStageTypes();
  h = await startRuntimeHarness();
});
after(async () => {
  await stack('up', 'minio');
  await h?.close();
});

const waitForState = (runId: string, predicate: (state: RunState) => boolean, timeoutMs = 60_000) =>
  waitForRunState(h.runs, runId, predicate, { timeoutMs, pollMs: 200 });

test(
  'MinIO stopped for 30 s mid-stage under the default retry settings: the run succeeds',
  { timeout: 240_000 },
  async () => {
    // Compiled from YAML, so the stage gets exactly the defaults a pipeline author gets.
    const compiled = compilePlan(
      `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: outage}
defaults: {pool: ${h.pools.cpu}}
stages:
  write:
    uses: test-echo
    cache: false
    with: {value: done, sleepMs: 8000, steps: 8, storeSteps: true}
  talk:
    uses: test-echo
    cache: false
    with: {value: said, sleepMs: 50000, steps: 50, logSteps: true}
`,
      'outage.yaml',
    );
    assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
    const stage = compiled.plan.stages.find((entry) => entry.id === 'write');
    assert.deepEqual(
      [stage?.retry.maxAttempts, stage?.retry.initialIntervalMs, stage?.retry.outageBudgetMs],
      [3, 5_000, 15 * 60_000],
    );
    const runId = await h.runs.submit(compiled.plan);
    await waitForState(runId, (s) => s.stages.every((entry) => (entry.progress?.fraction ?? 0) > 0));
    await stack('down', 'minio');
    const stoppedAt = Date.now();
    const writing = (s: RunState): RunState['stages'][number] | undefined => s.stages.find((e) => e.id === 'write');
    const riding = await waitForState(runId, (s) => /dependency unavailable/.test(writing(s)?.reason ?? ''));
    assert.equal(writing(riding)?.status, 'running');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    await stack('up', 'minio');
    const result = await h.runs.result(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(result));
    const write = result.stages.find((entry) => entry.id === 'write');
    assert.equal(write?.outputs?.value, 'done');
    assert.ok((write?.attempts ?? 0) > 3, `more tries than maxAttempts during the outage: ${write?.attempts}`);
    const state = await h.runs.state(runId);
    assert.match(
      state.stages.find((entry) => entry.id === 'write')?.reason ?? '',
      /rode out a dependency outage \(\d+ retries\)/,
    );
    await assertNoLogLineLost(runId, write?.attempts ?? 0);
  },
);

/**
 * `talk` logged a line a second right through the outage without failing: its one log has every
 * step once, in order, and says the store was away. Every attempt of `write` failed during the
 * outage, its last lines buffered: each log is complete from "started" to its end line.
 */
async function assertNoLogLineLost(runId: string, writeAttempts: number): Promise<void> {
  const talk = await listStageLogs(h.store, h.config.s3.bucket, runId, 'talk');
  assert.deepEqual(
    talk.map((log) => log.attempt),
    [1],
  );
  const talkText = await stageLogText(h.store, talk[0]!);
  assert.deepEqual(
    [...talkText.matchAll(/ step (\d+)\/50$/gm)].map((match) => Number(match[1])),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  assert.match(talkText, /\[fineflow\] the object store was unavailable for (\d+(\.\d)? s|\d+m( \d+s)?) \(/);
  // A failed attempt's last lines are written by the worker after the attempt ended, with backoff.
  const deadline = Date.now() + 90_000;
  for (;;) {
    const logs = await listStageLogs(h.store, h.config.s3.bucket, runId, 'write');
    const texts = await Promise.all(logs.map((log) => stageLogText(h.store, log)));
    const complete = texts.filter(
      (text) => /attempt \d+ started/.test(text) && /attempt \d+ (ended|succeeded)/.test(text),
    );
    if (logs.length === writeAttempts && complete.length === writeAttempts) return;
    if (Date.now() > deadline) {
      assert.fail(
        `write: ${complete.length} complete logs of ${logs.length} (attempts ${writeAttempts})\n${texts.join('\n---\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

test('a stage failing on its own still stops at maxAttempts', { timeout: 60_000 }, async () => {
  const plan = h.plan('own-failures', [
    {
      id: 'flaky',
      uses: 'test-flaky',
      with: { failTimes: 5 },
      retry: { maxAttempts: 2, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 },
    },
  ]);
  const result = await h.runs.result(await h.runs.submit(plan));
  assert.equal(result.status, 'failed');
  assert.equal(result.stages[0]?.attempts, 2);
  assert.equal(result.stages[0]?.error?.type, ERROR_TYPES.internal);
});
