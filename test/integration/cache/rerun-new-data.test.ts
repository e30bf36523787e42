/**
 * `rerun --from` of a run started by new data, on the real Temporal dev server and MinIO: the
 * rerun keeps the original trigger (its dataset version), its rerun stages see that version in
 * their context and bypass the cache through `cache.refresh`, and their new results replace the
 * cache entries (same key: the dataset version is part of it).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { StageImplementation } from '../../../activities/stage-runner';
import { RunClient } from '../../../src/client/run-client';
import { startRerun } from '../../../src/cli/commands/rerun';
import type { FineflowConfig } from '../../../src/config';
import { REFRESH_REASON } from '../../../src/runtime/cache-service';
import type { RunTrigger } from '../../../src/runtime/run-types';
import { taskQueueForPool } from '../../../src/runtime/task-queues';
import { connectClient, connectWorker } from '../../../src/runtime/temporal-connection';
import type { Plan } from '../../../src/spec/plan-types';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { createWorker, type FineflowWorker } from '../../../src/worker/run-worker';
import { makePlan } from '../../fixtures/runtime/plans';
import { requireStack } from '../../helpers/stack';
import { stages as testStages } from '../../stage-types';

/** `rerun-data-write`: records the dataset version and rerun origin its context carries, like fine-tune's card does. */
const recordTriggerStage: StageImplementation = async ({ context, inputs }, runtime) => {
  const seen = {
    stage: context.stageId,
    salt: inputs.salt ?? null,
    triggerKind: context.trigger.kind,
    datasetVersion: context.trigger.kind === 'new-data' ? context.trigger.datasetVersion : null,
    rerunOf: context.rerunOf ? `${context.rerunOf.fromRunId}#${context.rerunOf.fromStage}` : null,
  };
  const written = await runtime.store.putBytes(`${context.outputPrefix}seen.json`, JSON.stringify(seen));
  return { outputs: { file: written.uri, ...seen }, artifacts: [{ uri: written.uri, sha256: written.sha256 }] };
};

void describe('rerun of a new-data run (Temporal + MinIO)', () => {
  let config: FineflowConfig;
  let store: ObjectStore;
  let connection: NativeConnection;
  let client: Client;
  let runs: RunClient;
  const workers: FineflowWorker[] = [];
  const running: Promise<void>[] = [];
  const suffix = randomBytes(4).toString('hex');
  const pools = { control: `control-${suffix}`, cpu: `cpu-${suffix}` };
  const name = `rerun-data-${suffix}`;

  function pipeline(): Plan {
    const cache = { enabled: true } as const;
    return makePlan(
      name,
      [
        { id: 'prepare', uses: 'rerun-data-write', pool: pools.cpu, cache, with: { salt: name } },
        { id: 'train', uses: 'rerun-data-write', pool: pools.cpu, cache, needs: ['prepare'], with: { salt: name, data: '${{ stages.prepare.outputs.file }}' } },
      ],
      {},
    );
  }

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
    const extraStages = { ...testStages, 'rerun-data-write': recordTriggerStage };
    for (const options of [
      { pool: pools.control, runsWorkflows: true },
      { pool: pools.cpu, concurrency: 2 },
    ]) {
      const worker = await createWorker({ config, store, connection, extraStages, shutdownGraceMs: 2_000, ...options });
      workers.push(worker);
      running.push(worker.run());
    }
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.shutdown()));
    await Promise.allSettled(running);
    await connection?.close();
    await client?.connection.close();
  });

  void it('the rerun stage sees the same dataset version, bypasses the cache and replaces its entry', { timeout: 120_000 }, async () => {
    const newData: RunTrigger = { kind: 'new-data', watcherId: `watch-${suffix}`, path: `s3://datasets/${name}/`, datasetVersion: `v-${suffix}` };
    const originalRunId = await runs.submit(pipeline(), { trigger: newData });
    const original = await runs.result(originalRunId);
    assert.equal(original.status, 'succeeded');
    const originalTrain = original.stages.find((s) => s.id === 'train');
    assert.equal(originalTrain?.outputs?.datasetVersion, newData.datasetVersion);

    // An ordinary second run with the same version is served from the cache: the entry exists.
    const again = await runs.result(await runs.submit(pipeline(), { trigger: newData }));
    assert.equal(again.stages.find((s) => s.id === 'train')?.status, 'cached');

    const started = await startRerun(runs, store, { runId: originalRunId, fromStage: 'train' });
    assert.deepEqual(started.selection.rerun, ['train']);
    assert.equal(started.selection.plan.stages.find((s) => s.id === 'train')?.cache.refresh, true);
    const rerun = await runs.result(started.runId);
    assert.equal(rerun.status, 'succeeded');
    const train = rerun.stages.find((s) => s.id === 'train');
    assert.equal(train?.status, 'succeeded', 'refresh: the stage ran although an entry existed');
    assert.equal(train?.reason, REFRESH_REASON, 'status says why it ran');
    assert.equal(train?.outputs?.triggerKind, 'new-data');
    assert.equal(train?.outputs?.datasetVersion, newData.datasetVersion, 'the rerun trains on the same dataset version');
    assert.equal(train?.outputs?.rerunOf, `${originalRunId}#train`);
    assert.equal(rerun.stages.find((s) => s.id === 'prepare')?.reason, `reused from run ${originalRunId}`);

    const state = await runs.state(started.runId);
    assert.deepEqual(state.trigger, { kind: 'rerun', fromRunId: originalRunId, fromStage: 'train', origin: newData });

    // Same key (same dataset version): the refreshed result now serves the next new-data run.
    const next = await runs.result(await runs.submit(pipeline(), { trigger: newData }));
    const nextTrain = next.stages.find((s) => s.id === 'train');
    assert.equal(nextTrain?.status, 'cached');
    assert.equal(nextTrain?.reason?.startsWith(`cache hit from run ${started.runId}`), true, nextTrain?.reason);
  });
});
