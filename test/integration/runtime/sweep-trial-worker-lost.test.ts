/**
 * A sweep trial whose worker is killed (kill -9 of its process group) reads as what it is while Temporal retries it,
 * in `status` (table and --json, which the UI's trial table serves): once the heartbeat timeout ended the attempt,
 * `retrying` with "worker lost: … heartbeat timeout; attempt 2 of 2 waits for a worker of pool P"; once a new worker
 * holds the retry, `running` with "attempt 2 of 2 after worker lost …". Before, the trial read `running` from the
 * kill until its retry ended: the sweep hears of an attempt only when it starts and when it ends. The stage's progress
 * line counts it the same way (`0 running, 1 retrying`) in `status`, `status --json` and a `status --watch` that was
 * following the run since its start. Real Temporal dev server and MinIO; the trial runs on `fineflow worker`
 * processes of a pool of the test's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sweepTrialTables } from '../../../src/client/sweep-trials-lookup';
import type { SweepTrialTable, TrialTableRow } from '../../../src/client/sweep-trial-table';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { loanSweepPlan } from '../../fixtures/runtime/loan-sweep';
import { killWorkerGroup, poolWorkers, type WorkerProcess } from '../../fixtures/runtime/worker-process';
import type { RunState } from '../../../src/core/run/run-types';
import { runCli, startCliProcess, type CliProcess } from '../../helpers/cli';

const LOST = String.raw`worker lost: Temporal heard no heartbeat from attempt 1 for 4 s \(heartbeat timeout\)`;

void describe('a sweep trial whose worker was killed (Temporal + MinIO, kill -9)', () => {
  let h: RuntimeHarness;
  const pool = `trials-${randomSuffix()}`;
  const workers = poolWorkers(pool);
  let watch: CliProcess | undefined;

  before(async () => {
    h = await startRuntimeHarness();
  });

  after(async () => {
    await watch?.stop();
    await workers.killAll();
    await h?.close();
  });

  void it('reads retrying, then running its retry, not running all along', { timeout: 240_000 }, async () => {
    const plan = await loanSweepPlan(h, {
      name: 'sweep-trial-worker-lost',
      hiddenUnits: [4],
      trialsPool: pool,
      parallelism: 1,
      epochs: 400,
      heartbeatTimeout: '4s',
      maxAttempts: 2,
    });
    const spawn = (): Promise<WorkerProcess> => workers.spawn();
    const first = await spawn();
    const runId = await h.runs.submit(plan);
    // A watch that follows the run from its start, off a TTY: one line per change of a stage's line.
    watch = startCliProcess(['status', runId, '--watch']);
    const seen: string[] = [];
    /** Trial 0's row as `status` reads it, once `done` holds; every state on the way is kept in `seen`. */
    const trialRow = async (what: string, done: (row: TrialTableRow) => boolean): Promise<TrialTableRow> => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const state = await h.runs.state(runId).catch(() => undefined);
        const tables: SweepTrialTable[] = state
          ? await sweepTrialTables(h.client, h.store, h.config.s3.bucket, state)
          : [];
        const row = tables.find((table) => table.stageId === 'sweep')?.rows.find((r) => r.trialId === 0);
        if (row) {
          const said = `${row.state}${row.note !== undefined ? `: ${row.note}` : ''}`;
          if (seen[seen.length - 1] !== said) seen.push(said);
          if (done(row)) return row;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; seen ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };

    // A worker holds the trial and it trains: its first epoch's checkpoint is in the store.
    await trialRow('a worker to hold trial 0', (row) => row.state === 'running');
    const checkpoints = `s3://${h.config.s3.bucket}/runs/${runId}/sweep/trials/trial-0000/checkpoints/`;
    while ((await h.store.list(checkpoints)).length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    await killWorkerGroup(first);

    // No worker polls the pool now: once Temporal timed the attempt out, the retry waits for one.
    const retrying = await trialRow('trial 0 to read retrying', (row) => row.state === 'retrying');
    assert.match(
      retrying.note ?? '',
      new RegExp(`^${LOST}; attempt 2 of 2 (waits for a worker of pool ${pool}|starts in .*)$`),
      JSON.stringify(seen),
    );
    const waiting = await trialRow('the retry to wait for a worker', (row) =>
      /waits for a worker/.test(row.note ?? ''),
    );
    // Between the kill and the timeout the trial was never shown training on: running, then unresponsive or retrying.
    assert.ok(
      seen.every((said) => !said.startsWith('running: ')),
      `no retry before the new worker: ${JSON.stringify(seen)}`,
    );

    // What a user reads: the row's state and, under the table, what happened.
    const status = await runCli(['status', runId]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout.replace(/\n {4}/g, ' '), new RegExp(`trial 0 retrying: ${LOST}; attempt 2 of 2 waits`));
    // The stage's progress line counts the trial as the table does, not as `1 running`: whole in the text table too
    // (under the stage's row when the row cannot hold it), in --json and in the watch's lines.
    const line = /trials 0\/\d+ done \(0 running, 1 retrying, 0 pruned, 0 failed\)/;
    assert.match(status.stdout.replace(/\n {4}/g, ' '), line, status.stdout);
    const json = await runCli(['status', runId, '--json']);
    const read = JSON.parse(json.stdout) as RunState & { sweeps: SweepTrialTable[] };
    assert.equal(read.sweeps[0]?.rows[0]?.state, 'retrying', json.stdout);
    assert.equal(read.sweeps[0]?.rows[0]?.note?.startsWith(waiting.note?.split(';')[0] ?? '?'), true, json.stdout);
    const progress = read.stages.find((stage) => stage.id === 'sweep')?.progress;
    assert.match(progress?.message ?? '', line, json.stdout);
    assert.equal(progress?.detail?.retrying, 1, json.stdout);
    assert.equal(progress?.detail?.running, 0, json.stdout);
    await watch.stdoutMatches(new RegExp(`sweep running ${line.source}`));

    // A new worker takes the retry: it runs, and says it is the retry of a lost attempt.
    await spawn();
    const resumed = await trialRow('the retry to run', (row) => row.state === 'running' && row.note !== undefined);
    assert.match(resumed.note ?? '', new RegExp(`^attempt 2 of 2 after ${LOST}$`));
    // Once it runs again, so does the watch's line.
    await watch.stdoutMatches(new RegExp(`${line.source}[^]*sweep running trials 0/\\d+ done \\(1 running, `));
    await h.runs.cancel(runId);
  });
});
