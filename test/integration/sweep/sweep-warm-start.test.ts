/**
 * Warm start on the real stack (Temporal dev server + MinIO): a sweep records its finished trials in the
 * sweep history; the next sweep of the same pipeline stage with `warmStart` reads them and its first TPE
 * suggestion is the one the model fitted to them makes (not a startup draw); a corrupted and an oversized
 * history object are ignored with a reason and never fail the sweep, across continue-as-new too.
 *
 * Run with: bash scripts/test.sh integration test/integration/sweep/sweep-warm-start.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { readSweepHistory } from '../../../activities/sweep-history';
import type { FineflowConfig } from '../../../src/config';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { sweepHistoryPrefix } from '../../../src/core/storage/layout';
import { createSweep, nextTrials } from '../../../src/core/sweep';
import {
  SWEEP_HISTORY_FORMAT,
  SWEEP_HISTORY_LIMITS,
  type SweepHistoryRecord,
} from '../../../src/core/sweep/sweep-history';
import { planSweep } from '../../../src/core/sweep/sweep-plan';
import type { SweepResultsDocument } from '../../../src/core/sweep/sweep-results';
import type { SweepExecution } from '../../../src/core/sweep/sweep-types';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import type { ObjectStore } from '../../../src/storage/object-store';
import { startSweep, sweepContext, sweepStageLog, type SweepData, sweepTestStack } from './sweep-fixture';

let config: FineflowConfig;
let store: ObjectStore;
let client: Client;
let data: SweepData;
const { suffix, pools, execution } = sweepTestStack('warm', (stack) => ({ config, store, client, data } = stack));
const pipeline = `warm-${suffix}`;

function inputs(extra: JsonObject): JsonObject {
  return {
    model: data.baseModel,
    data: data.dataset,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    trial: { epochs: 2, batchSize: 16, freeze: 'none', seed: 1 },
    algorithm: 'tpe',
    tpe: { startupTrials: 3 },
    seed: 3,
    space: { learningRate: { logUniform: [0.0005, 0.05] }, batchSize: { choice: [8, 16] } },
    ...extra,
  };
}

async function runSweep(runId: string, extra: JsonObject, options: Partial<SweepExecution> = {}) {
  const sweep = await startSweep(client, {
    taskQueue: taskQueueForPool(pools.control),
    runId,
    bucket: config.s3.bucket,
    execution: { ...execution, ...options },
    inputs: inputs(extra),
    pipeline,
  });
  const result = await sweep.result();
  const document = await store.getJson<SweepResultsDocument>(result.outputs.results as string);
  return { sweep, result, document, log: await sweepStageLog(store, config.s3.bucket, runId) };
}

async function historyKeys(): Promise<string[]> {
  const listed = await store.list(sweepHistoryPrefix(config.s3.bucket, pipeline, 'sweep'));
  return listed.map((object) => object.key).sort();
}

test(
  'a sweep records its trials; the next warm-starts from them, and bad history objects are ignored',
  { timeout: 480_000 },
  async () => {
    // 1. A cold sweep: three random (startup) trials, recorded in the history.
    const first = await runSweep(`warm-1-${suffix}`, { maxTrials: 3, parallelism: 2 });
    assert.equal(first.document.warmStart, undefined, 'no warmStart, no warm start');
    assert.doesNotMatch(first.log, /warm start/);
    const [firstKey, ...others] = await historyKeys();
    assert.equal(others.length, 0);
    assert.match(
      firstKey ?? '',
      new RegExp(`^sweeps/${pipeline}/sweep/\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z_warm-1-${suffix}_1\\.json$`),
    );
    const record = await store.getJson<SweepHistoryRecord>(`s3://${config.s3.bucket}/${firstKey}`);
    assert.equal(record.format, SWEEP_HISTORY_FORMAT);
    assert.deepEqual(
      [record.pipeline, record.stage, record.runId, record.outcome, record.epochsPerTrial],
      [pipeline, 'sweep', `warm-1-${suffix}`, 'completed', 2],
    );
    assert.deepEqual(record.objective, { metric: 'validation.accuracy', goal: 'maximize' });
    assert.deepEqual(
      record.trials.map((trial) => [trial.trialId, trial.status, trial.value, trial.epochs, trial.params]),
      first.document.rows.map((row) => [row.trialId, 'completed', row.value, 2, row.params]),
    );

    // 2. The same stage with warmStart: TPE fitted to the first sweep's three trials makes the first suggestion.
    const context = sweepContext(config.s3.bucket, `warm-2-${suffix}`, 'sweep', pipeline);
    const plan = planSweep(inputs({ maxTrials: 1, warmStart: {} }));
    const { space, objective, epochsPerTrial } = plan.config;
    const expected = await readSweepHistory(store, {
      context,
      subject: { space, objective: { metric: objective.metric, goal: objective.goal }, epochsPerTrial },
      settings: { sweeps: 5, maxTrials: 200 },
    });
    assert.equal(expected.priorTrials.length, 3);
    const warmFirst = nextTrials(createSweep(plan.config, { priorTrials: expected.priorTrials })).trials[0]?.params;
    const coldFirst = nextTrials(createSweep(plan.config)).trials[0]?.params;
    assert.notDeepEqual(warmFirst, coldFirst, 'with three priors and startupTrials 3, TPE proposes the first trial');
    const second = await runSweep(`warm-2-${suffix}`, { maxTrials: 1, warmStart: {} });
    assert.deepEqual(second.document.rows[0]?.params, warmFirst, 'the sweep ran the suggestion the model made');
    assert.deepEqual(second.document.warmStart, {
      sweeps: 1,
      trials: 3,
      ignored: 0,
      reasons: [],
      line: 'warm start: 3 trials from 1 earlier sweep',
    });
    assert.match(second.log, /sweep started: tpe search[^\n]*\n[^\n]* warm start: 3 trials from 1 earlier sweep\n/);
    assert.equal(second.document.rows.length, 1, 'prior trials are not rows of this sweep');
    assert.equal((await historyKeys()).length, 2, 'the warm-started sweep recorded its own trial only');

    // 3. A corrupted and an oversized object, newer than both records: ignored with reasons; the sweep still runs,
    //    continues as new, and keeps its warm start.
    const prefix = sweepHistoryPrefix(config.s3.bucket, pipeline, 'sweep');
    await store.putBytes(`${prefix}2999-01-01T00:00:00.000Z_corrupt_1.json`, '{"format": "fineflow-sweep-hist');
    await store.putBytes(
      `${prefix}2999-01-02T00:00:00.000Z_huge_1.json`,
      `[${'0,'.repeat(SWEEP_HISTORY_LIMITS.recordBytes / 2)}0]`,
    );
    const third = await runSweep(
      `warm-3-${suffix}`,
      { maxTrials: 2, parallelism: 1, warmStart: { sweeps: 4 } },
      { continueAsNewAfterEvents: 15 },
    );
    const described = await client.workflow.getHandle(third.sweep.workflowId).describe();
    assert.notEqual(described.runId, third.sweep.firstRunId, 'the sweep continued as new');
    const warm = third.document.warmStart;
    assert.ok(warm, JSON.stringify(third.document));
    assert.deepEqual([warm.sweeps, warm.trials, warm.ignored], [2, 4, 2]);
    assert.match(
      warm.reasons.join('\n'),
      /sweep 2999-01-02T00:00:00\.000Z_huge_1\.json: \d+ bytes, more than a record may hold/,
    );
    assert.match(warm.reasons.join('\n'), /sweep 2999-01-01T00:00:00\.000Z_corrupt_1\.json: not JSON/);
    assert.match(warm.line, /^warm start: 4 trials from 2 earlier sweeps, 2 ignored: /);
    assert.equal(third.document.rows.length, 2);
    assert.equal(third.log.match(/warm start: /g)?.length, 1, 'the line is written once, not per generation');
  },
);
