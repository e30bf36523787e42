/**
 * The `hyperparameterSweep` workflow on the real stack (Temporal dev server + MinIO): trials are
 * real fine-tune runs of a tiny MLP on MNIST digits, trained in-process by the worker's
 * activities (the e2e test uses the child-process runner of production).
 *
 * Run with: bash scripts/test.sh integration test/integration/sweep/sweep-workflow.test.ts
 * (also `algorithm: gp`: its suggestions are made inside workflow tasks, and its history must replay)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import type { FineflowConfig } from '../../../src/config';
import { dataConverterFor } from '../../../src/client/temporal-connection';
import type { SweepResultsDocument } from '../../../src/core/sweep/sweep-results';
import { renderTrialTable } from '../../../src/client/sweep-trial-table';
import { sweepTrialTables } from '../../../src/client/sweep-trials-lookup';
import { SWEEP_QUERIES, type SweepStatus } from '../../../src/core/sweep/sweep-types';
import type { ObjectStore } from '../../../src/storage/object-store';
import { sweepStageLog, sweepWorkflowBundle, type SweepData, sweepTestStack } from './sweep-fixture';

let config: FineflowConfig;
let store: ObjectStore;
let client: Client;
let data: SweepData;
const { suffix, pools, startFileSweep } = sweepTestStack('it', (stack) => ({ config, store, client, data } = stack));

/** A run whose only stage is this sweep, as the run workflow would report it. */
function runWith(runId: string, stage: Pick<StageState, 'status' | 'attempts'> & Partial<StageState>): RunState {
  return {
    runId,
    pipeline: 'sweep-test',
    status: stage.status === 'running' ? 'running' : 'cancelled',
    trigger: { kind: 'manual' },
    startedAt: new Date().toISOString(),
    stages: [{ id: 'sweep', uses: 'hyperparameter-sweep', pool: pools.train, ...stage }],
    params: {},
  };
}

const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (sweep|trial \d+|\d+ running trial)/;

function sweepInputs(extra: Record<string, unknown>) {
  return {
    model: data.baseModel,
    data: data.dataset,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    trial: { epochs: 4, batchSize: 16, freeze: 'none', seed: 1 },
    ...extra,
  } as never;
}

test(
  'TPE + ASHA sweep of real trials: outputs, results table, segments end on the rungs',
  { timeout: 240_000 },
  async () => {
    const runId = `sweep-asha-${suffix}`;
    const sweep = await startFileSweep(
      runId,
      sweepInputs({
        algorithm: 'tpe',
        tpe: { startupTrials: 2 },
        earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1 },
        maxTrials: 5,
        parallelism: 2,
        seed: 3,
        space: { learningRate: { logUniform: [0.0005, 0.05] }, batchSize: { choice: [8, 16] } },
      }),
    );
    // Live status while it runs (what `fineflow status` shows), then the outputs.
    const handle = client.workflow.getHandle(sweep.workflowId);
    let live: SweepStatus | undefined;
    for (let i = 0; i < 100 && !(live && live.progress.started > 0); i++) {
      live = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
      if (live.progress.started === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(live && live.progress.started > 0 && live.progress.maxTrials === 5, JSON.stringify(live));
    assert.ok(live.progress.running <= 2, 'never more than parallelism trials at once');
    const result = await sweep.result();
    const final = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
    assert.equal(final.progress.completed + final.progress.stopped, 5, JSON.stringify(final.progress));
    assert.equal(final.trials.length, 5);
    const outputs = result.outputs as {
      best: { learningRate: number; batchSize: number };
      bestModel: string;
      bestMetric: number;
      trials: {
        trialId: number;
        status: string;
        epochs?: number;
        metricByEpoch: { epoch: number }[];
        engines?: string[];
      }[];
      results: string;
    };
    assert.equal(outputs.trials.length, 5);
    assert.ok(outputs.best.learningRate >= 0.0005 && outputs.best.learningRate <= 0.05, JSON.stringify(outputs.best));
    assert.ok([8, 16].includes(outputs.best.batchSize));
    assert.ok(outputs.bestMetric > 0 && outputs.bestMetric <= 1);
    assert.ok(await store.stat(outputs.bestModel), `best model ${outputs.bestModel} exists`);
    for (const trial of outputs.trials) {
      assert.ok(['completed', 'stopped'].includes(trial.status), JSON.stringify(trial));
      if (trial.status === 'completed') assert.equal(trial.epochs, 4);
      else assert.ok((trial.epochs ?? 0) < 4, `a stopped trial trained fewer epochs: ${JSON.stringify(trial)}`);
    }
    const document = await store.getJson<SweepResultsDocument>(outputs.results);
    assert.equal(document.format, 'fineflow-sweep-results/v1');
    assert.deepEqual(document.rungEpochs, [1, 2]);
    // Every segment ends on a rung or the budget: ASHA decides between segments, never mid-segment.
    for (const segment of document.segments) {
      assert.ok([1, 2, 4].includes(segment.toEpoch), JSON.stringify(segment));
      assert.ok([0, 1, 2].includes(segment.fromEpoch), JSON.stringify(segment));
      // Also a segment that stopped at a rung says what trained it (a trial pruned there has no other record).
      assert.match(`${segment.backend} ${segment.engine}`, /^[\w-]+ (graph|eager)$/, JSON.stringify(segment));
    }
    for (const trial of outputs.trials) assert.equal(trial.engines?.length, 1, JSON.stringify(trial));
    assert.ok(
      final.trials.every((trial) => trial.engines?.length === 1),
      JSON.stringify(final.trials),
    );
    const csv = (await store.getBytes(outputs.results.replace(/\.json$/, '.csv'))).toString('utf8');
    assert.equal(csv.trim().split('\n').length, 6, csv);
    assert.ok(result.artifacts?.some((artifact) => artifact.uri === outputs.results));
    // The trial's checkpoints and model live under the stage's trials/ prefix.
    const listed = await store.list(`s3://${config.s3.bucket}/runs/${runId}/sweep/trials/`);
    assert.ok(listed.some((object) => /trial-0000\/checkpoints\/epoch-\d{4}\//.test(object.key)));
    assert.equal(document.outcome, 'completed');
    assert.equal(document.partial, false);

    // The stage log tells each trial's story, one whole line at a time although trials ran two at once.
    const log = await sweepStageLog(store, config.s3.bucket, runId);
    assert.match(log, /^==> sweep attempt 1 <==\n/);
    const lines = log.trim().split('\n').slice(1);
    for (const line of lines) assert.match(line, LOG_LINE);
    assert.match(log, /sweep started: tpe search, asha early stopping, up to 5 trials, 2 at a time/);
    for (const trial of outputs.trials) {
      assert.match(log, new RegExp(`trial ${trial.trialId} started with batchSize=(8|16) learningRate=`));
      assert.match(
        log,
        new RegExp(
          `trial ${trial.trialId} epoch 1: validation.accuracy=[\\d.]+ \\(train loss [\\d.]+ accuracy [\\d.]+, validation loss`,
        ),
      );
      if (trial.status === 'completed')
        assert.match(
          log,
          new RegExp(
            `trial ${trial.trialId} finished with validation.accuracy=[\\d.]+ after 4 epoch\\(s\\) \\(backend [\\w-]+, engine (graph|eager)\\)`,
          ),
        );
      // ASHA is promotion-based by default: a trial never promoted from its rung paused there (stopped at the end).
      else assert.match(log, new RegExp(`trial ${trial.trialId} (pruned|paused) at epoch ${trial.epochs ?? '?'}: `));
    }
    // The summary counts trials in the words of the trial lines and of `fineflow status` (finished, pruned, and
    // stopped-while-paused for trials the sweep ended while they waited at a rung), with the same counts.
    const summary =
      /sweep completed: (\d+) finished, (\d+) pruned, (?:(\d+) stopped-while-paused, )?\d+ failed of \d+ started; best trial \d+ with validation.accuracy=/.exec(
        log,
      );
    assert.ok(summary, log);

    // `fineflow status` reads an ended sweep's trials from its results.
    const [table] = await sweepTrialTables(
      client,
      store,
      config.s3.bucket,
      runWith(runId, { status: 'succeeded', attempts: 1, outputs: { results: outputs.results } }),
    );
    assert.equal(table?.source, 'results');
    assert.equal(table?.rows.length, 5);
    const count = (state: string): number => table?.rows.filter((row) => row.state === state).length ?? 0;
    assert.deepEqual(
      [summary[1], summary[2], summary[3] ?? '0'].map(Number),
      [count('finished'), count('pruned'), count('stopped-while-paused')],
      `the log's summary and the trial table agree: ${summary[0]}`,
    );
    assert.ok(
      table?.rows.every((row) => row.engine === 'graph' || row.engine === 'eager'),
      JSON.stringify(table?.rows),
    );
    const rendered = renderTrialTable(table!);
    assert.match(rendered, /^trials of sweep: /);
    assert.match(rendered, /\bengine\s+params\b/);
    assert.match(rendered, new RegExp(`\\* best trial ${document.bestTrialId}$`));
  },
);

test(
  'a cancelled sweep records the trials it finished, marked partial, and logs it',
  { timeout: 240_000 },
  async () => {
    const runId = `sweep-cancel-${suffix}`;
    const sweep = await startFileSweep(
      runId,
      sweepInputs({
        algorithm: 'random',
        maxTrials: 8,
        parallelism: 2,
        seed: 11,
        space: { learningRate: { logUniform: [0.001, 0.03] } },
        trial: { epochs: 3, batchSize: 16, freeze: 'none', seed: 1 },
      }),
    );
    const handle = client.workflow.getHandle(sweep.workflowId);
    // Cancel once a trial has finished while another one trains.
    let live: SweepStatus | undefined;
    for (let i = 0; i < 1_200; i++) {
      live = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
      if (live.progress.completed >= 1 && live.progress.running >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(live && live.progress.completed >= 1 && live.progress.running >= 1, JSON.stringify(live?.progress));
    // While it runs, `fineflow status` asks the sweep itself.
    const [liveTable] = await sweepTrialTables(
      client,
      store,
      config.s3.bucket,
      runWith(runId, { status: 'running', attempts: 0 }),
    );
    assert.equal(liveTable?.source, 'live');
    assert.ok(
      liveTable?.rows.some((row) => row.state === 'running'),
      JSON.stringify(liveTable),
    );
    assert.match(renderTrialTable(liveTable!), /\n\s+\d+\s+running\s+\d+/);

    await handle.cancel();
    await assert.rejects(sweep.result(), (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      assert.equal(error.cause?.name, 'CancelledFailure');
      return true;
    });
    const document = await store.getJson<SweepResultsDocument>(
      `s3://${config.s3.bucket}/runs/${runId}/sweep/results.json`,
    );
    assert.equal(document.outcome, 'cancelled');
    assert.equal(document.partial, true);
    const finished = document.rows.filter((row) => row.status === 'completed');
    const cancelled = document.rows.filter((row) => row.status === 'cancelled');
    assert.ok(finished.length >= 1, JSON.stringify(document.rows));
    assert.ok(cancelled.length >= 1, JSON.stringify(document.rows));
    assert.ok(document.rows.every((row) => row.status !== 'running'));
    for (const row of finished) assert.ok(row.value !== undefined && row.epochs === 3, JSON.stringify(row));
    assert.ok(document.bestTrialId !== undefined && finished.some((row) => row.trialId === document.bestTrialId));
    assert.ok(await store.stat(`s3://${config.s3.bucket}/runs/${runId}/sweep/results.csv`));

    const log = await sweepStageLog(store, config.s3.bucket, runId);
    assert.match(log, /running trial\(s\) cancelled: \d+/);
    assert.match(log, /sweep cancelled: .*results in s3:\/\/.*results\.json \(partial\)/);

    // After the end, `fineflow status` shows the partial record.
    const [table] = await sweepTrialTables(
      client,
      store,
      config.s3.bucket,
      runWith(runId, { status: 'cancelled', attempts: 1 }),
    );
    assert.equal(table?.partial, true);
    const rendered = renderTrialTable(table!);
    assert.match(rendered, /^trials of sweep \(PARTIAL: sweep cancelled\)/);
    assert.match(rendered, /\n\*\s+\d+\s+finished\s+3\s+/);
    assert.match(rendered, /\n\s+\d+\s+cancelled\s+\d+\s+/);
  },
);

test(
  'continue-as-new mid-sweep: the new run resumes in-flight trials and nothing reruns',
  { timeout: 240_000 },
  async () => {
    const runId = `sweep-can-${suffix}`;
    const sweep = await startFileSweep(
      runId,
      sweepInputs({
        algorithm: 'random',
        earlyStopping: { type: 'median', reductionFactor: 3, minEpochs: 1 },
        maxTrials: 4,
        parallelism: 2,
        seed: 5,
        space: { learningRate: { logUniform: [0.001, 0.03] } },
      }),
      { continueAsNewAfterEvents: 40 },
    );
    const result = await sweep.result();
    const described = await client.workflow.getHandle(sweep.workflowId).describe();
    assert.notEqual(described.runId, sweep.firstRunId, 'the sweep continued as new at least once');
    const document = await store.getJson<SweepResultsDocument>(result.outputs.results as string);
    assert.equal(document.rows.length, 4);
    // Each trial's segments tile its epochs exactly once: no epoch was trained twice across runs.
    for (const row of document.rows) {
      const own = document.segments
        .filter((segment) => segment.trialId === row.trialId)
        .sort((a, b) => a.fromEpoch - b.fromEpoch);
      let epoch = 0;
      for (const segment of own) {
        assert.equal(segment.fromEpoch, epoch, `trial ${row.trialId} segments ${JSON.stringify(own)}`);
        epoch = segment.toEpoch;
      }
      assert.equal(epoch, row.epochs, `trial ${row.trialId} trained ${row.epochs} epochs`);
    }
  },
);

test(
  'a failing trial is recorded, not fatal; more failures than tolerated fail the stage',
  { timeout: 240_000 },
  async () => {
    // validate refuses adagrad; this sweep starts without it, so the trial's own input check fails those trials (non-retryable).
    const space = { optimizer: { choice: ['adam', 'adagrad'] }, learningRate: { choice: [0.01] } };
    const tolerant = await startFileSweep(
      `sweep-fail-ok-${suffix}`,
      sweepInputs({
        algorithm: 'grid',
        maxFailedTrials: 1,
        parallelism: 2,
        space,
        trial: { epochs: 2, batchSize: 16, freeze: 'none' },
      }),
    );
    const outputs = (await tolerant.result()).outputs as {
      best: { optimizer: string };
      trials: { status: string; params: { optimizer: string }; error?: string }[];
    };
    assert.equal(outputs.best.optimizer, 'adam');
    const failed = outputs.trials.filter((trial) => trial.status === 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.params.optimizer, 'adagrad');
    assert.match(failed[0]?.error ?? '', /adagrad/);

    const strict = await startFileSweep(
      `sweep-fail-${suffix}`,
      sweepInputs({
        algorithm: 'grid',
        maxFailedTrials: 0,
        parallelism: 1,
        space,
        trial: { epochs: 2, batchSize: 16, freeze: 'none' },
      }),
    );
    await assert.rejects(strict.result(), (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      assert.match(String(error.cause?.message), /1 trial\(s\) failed, more than maxFailedTrials \(0\)/);
      return true;
    });
  },
);

test(
  'GP + ASHA sweep of real trials: every trial in the space, then the history replays',
  { timeout: 300_000 },
  async () => {
    const sweep = await startFileSweep(
      `sweep-gp-${suffix}`,
      sweepInputs({
        trial: { epochs: 3, batchSize: 16, freeze: 'none', seed: 1 },
        algorithm: 'gp',
        gp: { startupTrials: 2, candidates: 64 },
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1 },
        maxTrials: 5,
        parallelism: 2,
        seed: 4,
        space: { learningRate: { logUniform: [0.0005, 0.05] }, batchSize: { choice: [8, 16] } },
      }),
    );
    const result = await sweep.result();
    const handle = client.workflow.getHandle(sweep.workflowId);
    const final = await handle.query<SweepStatus>(SWEEP_QUERIES.state);
    assert.equal(final.progress.completed + final.progress.stopped, 5, JSON.stringify(final.progress));
    const outputs = result.outputs as { trials: { params: { learningRate: number; batchSize: number } }[] };
    assert.equal(outputs.trials.length, 5);
    for (const { params } of outputs.trials) {
      assert.ok(params.learningRate >= 0.0005 && params.learningRate <= 0.05, JSON.stringify(params));
      assert.ok([8, 16].includes(params.batchSize), JSON.stringify(params));
    }
    // Trials 2…4 were suggested by the Gaussian process inside workflow tasks: replaying recomputes them.
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory(
      {
        workflowBundle: await sweepWorkflowBundle(),
        replayName: 'gp-replay',
        dataConverter: dataConverterFor(config.temporal),
      },
      history,
    );
  },
);

test(
  'promotion-based ASHA (earlyStopping.promotion): a paused trial resumes from its checkpoint, no epoch twice; replays',
  { timeout: 300_000 },
  async () => {
    const runId = `sweep-promotion-${suffix}`;
    const sweep = await startFileSweep(
      runId,
      sweepInputs({
        trial: { epochs: 4, batchSize: 16, freeze: 'none', seed: 1 },
        algorithm: 'random',
        earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1, promotion: true },
        maxTrials: 4,
        parallelism: 1,
        seed: 11,
        // Learning rates too small to move a float32 weight: every trial keeps the base model's validation accuracy,
        // so each rung ranks by arrival (ties: the earlier trial) and the order below does not depend on training
        // values (which differ between engines and machines): 0:0-1 1:0-1 0:1-2 2:0-1 3:0-1 1:1-2 0:2-4.
        space: { learningRate: { logUniform: [1e-10, 1e-9] }, batchSize: { choice: [8, 16] } },
      }),
    );
    const result = await sweep.result();
    const outputs = result.outputs as {
      trials: { trialId: number; status: string; epochs?: number; metricByEpoch: { epoch: number }[] }[];
      results: string;
    };
    const document = await store.getJson<SweepResultsDocument>(outputs.results);
    // One trial at a time: the segments are in the order they ran.
    const order = document.segments.map((s) => `${s.trialId}:${s.fromEpoch}-${s.toEpoch}`).join(' ');
    const resumed = document.segments.filter(
      (segment, i) => segment.fromEpoch > 0 && document.segments[i - 1]?.trialId !== segment.trialId,
    );
    assert.equal(order, '0:0-1 1:0-1 0:1-2 2:0-1 3:0-1 1:1-2 0:2-4', 'promoted by rank, ties by arrival');
    assert.ok(resumed.length > 0, `a trial paused, another ran, then it resumed: ${order}`);
    for (const segment of resumed) {
      const before = document.segments.filter((s) => s.trialId === segment.trialId && s.toEpoch <= segment.fromEpoch);
      assert.equal(before.at(-1)?.toEpoch, segment.fromEpoch, `trial ${segment.trialId} continues its count: ${order}`);
      assert.equal(
        segment.resumedFromEpoch,
        segment.fromEpoch,
        `resumed from its checkpoint: ${JSON.stringify(segment)}`,
      );
    }
    for (const trial of outputs.trials) {
      // Paused trials end as stopped when the sweep ends; each epoch trained once, in order.
      assert.ok(['completed', 'stopped'].includes(trial.status), JSON.stringify(trial));
      const spans = document.segments.filter((s) => s.trialId === trial.trialId);
      spans.forEach((span, i) =>
        assert.equal(span.fromEpoch, i === 0 ? 0 : spans[i - 1]?.toEpoch, `trial ${trial.trialId}: ${order}`),
      );
      assert.equal(spans.at(-1)?.toEpoch, trial.epochs, `trial ${trial.trialId} epochs: ${order}`);
    }
    assert.ok(outputs.trials.some((trial) => trial.status === 'completed' && trial.epochs === 4));
    const log = await sweepStageLog(store, config.s3.bucket, runId);
    assert.match(log, /trial \d+ paused at epoch 1: paused at rung 0 \(epoch 1\)/);
    assert.match(log, /trial \d+ (promoted|resumed) from rung \d/);
    assert.match(log, /trial \d+ continues from the checkpoint of epoch \d; training epochs/);
    const history = await client.workflow.getHandle(sweep.workflowId).fetchHistory();
    await Worker.runReplayHistory(
      {
        workflowBundle: await sweepWorkflowBundle(),
        replayName: 'promotion-replay',
        dataConverter: dataConverterFor(config.temporal),
      },
      history,
    );
  },
);

test(
  'ASHA with a rung audit (earlyStopping.auditEvery): every 2nd trial below the first cut trains on; the history replays',
  { timeout: 300_000 },
  async () => {
    const sweep = await startFileSweep(
      `sweep-audit-${suffix}`,
      sweepInputs({
        trial: { epochs: 4, batchSize: 16, freeze: 'none', seed: 1 },
        // Random search: no startup phase, so the audit counts every trial (TPE's first 10 would be skipped).
        algorithm: 'random',
        earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1, auditEvery: 2 },
        maxTrials: 8,
        parallelism: 1,
        seed: 11,
        space: { learningRate: { logUniform: [0.00005, 0.05] }, batchSize: { choice: [8, 16] } },
      }),
    );
    const result = await sweep.result();
    const trials = (
      result.outputs as { trials: { trialId: number; metricByEpoch: { epoch: number; value: number }[] }[] }
    ).trials.sort((a, b) => a.trialId - b.trialId);
    assert.equal(trials.length, 8);
    // One trial at a time, so the rung saw them in id order: recompute which ones were below its cut (top ⌊n/2⌋,
    // the best so far while n < 2) and check that exactly every 2nd of those reached epoch 2 (rungs 1 and 2 of 4).
    const atOne: number[] = [];
    const below: number[] = [];
    for (const trial of trials) {
      const value = trial.metricByEpoch.find((report) => report.epoch === 1)?.value;
      assert.ok(value !== undefined, `trial ${trial.trialId} reported epoch 1`);
      atOne.push(value);
      const keep = Math.max(1, Math.floor(atOne.length / 2));
      if (value < ([...atOne].sort((a, b) => b - a)[keep - 1] as number)) below.push(trial.trialId);
    }
    assert.ok(below.length >= 2, `at least one audit happened (below the first cut: ${below.join(', ')})`);
    const wentOn = new Set(
      trials.filter((trial) => trial.metricByEpoch.some((report) => report.epoch >= 2)).map((trial) => trial.trialId),
    );
    assert.deepEqual(
      below.filter((trialId) => wentOn.has(trialId)),
      below.filter((_, i) => i % 2 === 1),
      `below the first cut: ${below.join(', ')}; trained past epoch 1: ${[...wentOn].join(', ')}`,
    );
    // The sweep log says so too, where the trial table alone did: one line per audit, none for the others.
    const log = await sweepStageLog(store, config.s3.bucket, `sweep-audit-${suffix}`);
    const audited = [...log.matchAll(/trial (\d+) continues at epoch 1 as an audit: rung 0 \(epoch 1\): /g)];
    assert.deepEqual(
      audited.map((line) => Number(line[1])),
      below.filter((_, i) => i % 2 === 1),
      log,
    );
    const history = await client.workflow.getHandle(sweep.workflowId).fetchHistory();
    await Worker.runReplayHistory(
      {
        workflowBundle: await sweepWorkflowBundle(),
        replayName: 'audit-replay',
        dataConverter: dataConverterFor(config.temporal),
      },
      history,
    );
  },
);
