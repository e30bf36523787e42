/**
 * A `fineflow retry` accepted while its run continues as new is not lost (Temporal + MinIO).
 *
 * A run whose history is past its limit continues as new once no stage is in flight: it takes the state to carry, writes
 * it to the store (activities) and hands it to the next execution. A retry update that arrives while the state is being
 * written is accepted by the old execution (the caller is told so) and changes its state after the carried copy was
 * taken. Before, the next execution started from that copy: the stage went on waiting for a retry its caller had been
 * told was accepted. Here the state write is held until the retry has been accepted, then let go. The state written
 * first, superseded by the one written again, is removed before the next write: the run's `@state/` keeps only what
 * the next execution read (it stayed until gc removed the run).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunClient } from '../../../src/client/run-client';
import { readRecordedRunInput } from '../../../src/client/run-input';
import { loadConfig } from '../../../src/config';
import type { RunState } from '../../../src/core/run/run-types';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import { writeRunStatePart } from '../../../src/storage/run-state-store';
import type { RunStatePartInput } from '../../../src/core/run/stored-run-state';
import { randomSuffix, startRuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';

/** A promise and the function that settles it. */
function gate(): { readonly opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test(
  'a retry accepted while the run continues as new is carried into the next execution',
  { timeout: 120_000 },
  async (t) => {
    registerTestStageTypes();
    const store = createObjectStoreFromConfig(loadConfig(process.env));
    const writing = gate();
    const retried = gate();
    const h = await startRuntimeHarness({
      control: {
        extraActivities: {
          // The first execution's state write waits until the retry below was accepted.
          writeRunStatePart: async (input: RunStatePartInput): Promise<void> => {
            if (input.continuation === 1) {
              writing.open();
              await retried.opened;
            }
            await writeRunStatePart(store, input);
          },
        },
      },
    });
    t.after(() => h.close());
    // A history limit the first failure passes: the run continues as new while its stage waits for a retry.
    const runs = new RunClient(h.client, {
      bucket: h.config.s3.bucket,
      workflowTaskQueue: h.runs.workflowTaskQueue,
      store: h.store,
      historyEventLimit: 10,
    });
    const plan = h.plan(`retry-can-${randomSuffix()}`, [
      { id: 'flaky', uses: 'test-flaky', with: { failTimes: 1, value: 'second time' }, onFailure: 'pause' },
    ]);
    const runId = await runs.submit(plan);
    t.after(() =>
      h.client.workflow
        .getHandle(runId)
        .terminate('test ended')
        .catch(() => undefined),
    );
    const handle = h.client.workflow.getHandle(runId);
    const firstExecution = (await handle.describe()).runId;

    await writing.opened;
    const accepted = await runs.retry(runId);
    assert.deepEqual(accepted.retried, ['flaky'], 'the old execution accepted the retry');
    retried.open();

    // The next execution either runs the retry to the end, or (the retry lost) waits again for one: a stage that waits
    // in an execution after the first is that failure, said at once instead of at the test's timeout.
    let ended = false;
    const lost = (async (): Promise<never> => {
      while (!ended) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const description = await handle.describe();
        if (description.runId === firstExecution || description.status.name !== 'RUNNING') continue;
        const state = await runs.state(runId);
        if (state.stages[0]?.status === 'waiting')
          assert.fail(
            `the next execution waits for a retry again: the accepted one was lost (attempts ${state.stages[0].attempts})`,
          );
      }
      return await new Promise<never>(() => undefined);
    })();
    const result = (await Promise.race([handle.result(), lost])) as RunState;
    ended = true;
    assert.notEqual((await handle.describe()).runId, firstExecution, 'the run continued as new');
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages[0]));
    assert.equal(result.stages[0]?.status, 'succeeded');
    assert.equal(result.stages[0]?.attempts, 2, 'the retry ran: one failed attempt, then the retried one');
    assert.equal(result.stages[0]?.outputs?.value, 'second time');

    const { stored } = await readRecordedRunInput(h.client, runId);
    assert.ok(stored, 'the next execution read its state from the store');
    const states = await store.list(`s3://${h.config.s3.bucket}/runs/${runId}/@state/`);
    assert.deepEqual(
      states.map((object) => `s3://${object.bucket}/${object.key}`),
      [stored.uri],
      'only the state the next execution read: the superseded first write is gone',
    );
  },
);
