/**
 * A stage on a pool with no worker: the run's state says `waiting for a worker on pool X`
 * instead of an unexplained `running`, and clears once a worker of that pool picks it up.
 * Real Temporal dev server and MinIO, in-process workers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { RunClient } from '../../../src/client/run-client';
import { waitingForWorkerReason } from '../../../src/client/worker-presence';
import type { FineflowConfig } from '../../../src/config';
import type { RunState } from '../../../src/runtime/run-types';
import { taskQueueForPool } from '../../../src/runtime/task-queues';
import { connectClient, connectWorker } from '../../../src/runtime/temporal-connection';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { createWorker, type FineflowWorker } from '../../../src/worker/run-worker';
import { makePlan } from '../../fixtures/runtime/plans';
import { requireStack } from '../../helpers/stack';
import { stages as testStages } from '../../stage-types';

async function stateUntil(runs: RunClient, runId: string, done: (state: RunState) => boolean, timeoutMs: number): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await runs.state(runId);
    if (done(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out; last state ${JSON.stringify(state.stages)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

void describe('a stage whose pool has no worker (Temporal + MinIO)', () => {
  let config: FineflowConfig;
  let store: ObjectStore;
  let connection: NativeConnection;
  let client: Client;
  let runs: RunClient;
  const workers: FineflowWorker[] = [];
  const running: Promise<void>[] = [];
  const suffix = randomBytes(4).toString('hex');
  const pools = { control: `control-${suffix}`, lonely: `lonely-${suffix}` };

  before(async () => {
    config = await requireStack();
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // installed by another suite in this process
    }
    store = createObjectStoreFromConfig(config);
    await store.ensureBucket(config.s3.bucket);
    connection = await connectWorker(config.temporal);
    client = await connectClient(config.temporal);
    runs = new RunClient(client, { bucket: config.s3.bucket, workflowTaskQueue: taskQueueForPool(pools.control) });
    const worker = await createWorker({ config, store, connection, extraStages: testStages, shutdownGraceMs: 2_000, pool: pools.control, runsWorkflows: true });
    workers.push(worker);
    running.push(worker.run());
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.shutdown()));
    await Promise.allSettled(running);
    await connection?.close();
    await client?.connection.close();
  });

  void it('says which pool it waits for, until a worker of that pool takes the stage', { timeout: 90_000 }, async () => {
    const plan = makePlan(`lonely-${suffix}`, [{ id: 'only', uses: 'test-echo', pool: pools.lonely, with: { value: 'hello' } }]);
    const runId = await runs.submit(plan);
    const waiting = await stateUntil(runs, runId, (s) => s.stages[0]?.status === 'running' && s.stages[0]?.reason !== undefined, 20_000);
    assert.equal(waiting.stages[0]?.reason, waitingForWorkerReason(pools.lonely));

    const late = await createWorker({ config, store, connection, extraStages: testStages, shutdownGraceMs: 2_000, pool: pools.lonely });
    workers.push(late);
    running.push(late.run());
    const result = await runs.result(runId);
    assert.equal(result.status, 'succeeded');
    assert.equal(result.stages[0]?.reason, undefined, 'the note lives only in the client view, never in the run');
  });
});
