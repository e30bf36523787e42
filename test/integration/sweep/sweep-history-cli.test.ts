/**
 * `fineflow sweep-history` against the real MinIO of the test stack: records written by the code a sweep uses
 * (sweepHistoryRecord at sweepHistoryUri), listed newest first with their best completed trial; a corrupt object
 * is one more row that says why, never a failure; each row says what differs from the newest record; --limit bounds
 * the listing; bad arguments are usage errors.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { loadConfig } from '../../../src/config';
import { sweepHistoryPrefix, sweepHistoryUri } from '../../../src/core/storage/layout';
import { parseSearchSpace } from '../../../src/core/sweep/space';
import { sweepHistoryRecord, type SweepHistorySubject } from '../../../src/core/sweep/sweep-history';
import type { RecordedResultsTable } from '../../../src/core/sweep/sweep-types';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import { runCli, type CliResult } from '../../helpers/cli';
import { requireStack } from '../../helpers/stack';

const bucket = `ffsweephist-${Math.random().toString(36).slice(2, 8)}`;
const subject: SweepHistorySubject = {
  space: parseSearchSpace({ learningRate: { logUniform: [1e-4, 1e-1] }, batchSize: { choice: [16, 32] } }),
  objective: { metric: 'validation.accuracy', goal: 'maximize' },
  epochsPerTrial: 3,
};

function fineflow(...argv: string[]): Promise<CliResult> {
  return runCli(argv, { env: { FINEFLOW_BUCKET: bucket } });
}

function table(values: readonly number[]): RecordedResultsTable {
  return {
    metric: 'validation.accuracy',
    goal: 'maximize',
    algorithm: 'tpe',
    earlyStopping: 'asha',
    rungEpochs: [1],
    rows: values.map((value, trialId) => ({
      trialId,
      params: { learningRate: 0.001 * (trialId + 1), batchSize: 16 },
      status: trialId === 0 ? 'stopped' : 'completed',
      value,
      metricByEpoch: [],
      epochs: trialId === 0 ? 1 : 3,
    })),
  };
}

before(async () => {
  await requireStack();
  const store = createObjectStoreFromConfig(loadConfig(process.env));
  await store.ensureBucket(bucket);
  // The oldest sweep optimised another objective with another budget and searched another space.
  const before: SweepHistorySubject = {
    space: parseSearchSpace({ learningRate: { logUniform: [1e-3, 1e-1] }, batchSize: { choice: [16, 32] } }),
    objective: { metric: 'validation.loss', goal: 'minimize' },
    epochsPerTrial: 5,
  };
  const sweeps: [string, string, number[], SweepHistorySubject][] = [
    ['2026-11-30T10:00:00.000Z', 'nightly-0', [0.6, 0.4, 0.5], before],
    ['2026-12-01T10:00:00.000Z', 'nightly-1', [0.99, 0.7, 0.75], subject],
    ['2026-12-02T10:00:00.000Z', 'nightly-2', [0.5, 0.82, 0.8], subject],
  ];
  for (const [endedAt, runId, values, recorded] of sweeps) {
    const ended = { pipeline: 'nightly', stage: 'tune', runId, attempt: 1, endedAt, outcome: 'completed' } as const;
    const uri = sweepHistoryUri(bucket, 'nightly', 'tune', { endedAt, runId, attempt: 1 });
    await store.putJson(uri, sweepHistoryRecord(ended, recorded, table(values)));
  }
  const corrupt = sweepHistoryUri(bucket, 'nightly', 'tune', {
    endedAt: '2026-12-03T10:00:00.000Z',
    runId: 'nightly-3',
    attempt: 1,
  });
  await store.putBytes(corrupt, '{"format": "fineflow-sweep-history/v1", "trials": ');
  await store.putBytes(`${sweepHistoryPrefix(bucket, 'nightly', 'tune')}notes.txt`, 'not a record');
});

it('lists a stage’s records newest first, with the best completed trial and the corrupt one named', async () => {
  const result = await fineflow('sweep-history', 'nightly', 'tune');
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /sweeps\/nightly\/tune\/: 4 newest record\(s\); objective of the newest: /);
  assert.match(lines[0] ?? '', /validation\.accuracy \(maximize\)/);
  assert.match(lines[1] ?? '', /^ended +run +outcome +vs newest +trials +best +best trial$/);
  const rows = lines.slice(2);
  assert.equal(rows.length, 4, result.stdout);
  assert.match(rows[0] ?? '', /2026-12-03T10:00:00\.000Z_nightly-3_1\.json .* not read: not JSON/);
  assert.match(rows[1] ?? '', /2026-12-02T10:00:00\.000Z +nightly-2 +completed +newest +3 +0\.8200 +trial 1 /);
  // The stopped trial's 0.99 is not a result: the best completed one of nightly-1 is 0.75.
  assert.match(rows[2] ?? '', /2026-12-01T10:00:00\.000Z +nightly-1 +completed +same +3 +0\.7500 +trial 2 /);
  // What a warm start like the newest sweep would leave out: the whole record (objective, budget), and trials
  // outside the space.
  assert.match(
    rows[3] ?? '',
    /2026-11-30T10:00:00\.000Z +nightly-0 +completed +objective validation\.loss \(minimize\); trial budget 5 epochs; space: learningRate +3 /,
  );
});

it('prints JSON for scripts and honours --limit', async () => {
  const result = await fineflow('sweep-history', 'nightly', 'tune', '--limit', '2', '--json');
  assert.equal(result.code, 0, result.stderr);
  const body = JSON.parse(result.stdout) as { prefix: string; records: Record<string, unknown>[] };
  assert.equal(body.prefix, sweepHistoryPrefix(bucket, 'nightly', 'tune'));
  assert.deepEqual(
    body.records.map((record) => record.runId ?? record.problem),
    ['not JSON', 'nightly-2'],
  );
  assert.equal(body.records[1]?.differsFromNewest, undefined, 'the newest readable record');
  const all = JSON.parse((await fineflow('sweep-history', 'nightly', 'tune', '--json')).stdout) as typeof body;
  assert.deepEqual(
    all.records.map((record) => record.differsFromNewest),
    [
      undefined,
      undefined,
      [],
      ['objective validation.loss (minimize)', 'trial budget 5 epochs', 'space: learningRate'],
    ],
  );
  assert.deepEqual(body.records[1]?.best, {
    trialId: 1,
    value: 0.82,
    params: JSON.stringify({ learningRate: 0.002, batchSize: 16 }),
  });
});

it('says when a stage has no history, and refuses bad arguments with exit 2', async () => {
  const empty = await fineflow('sweep-history', 'nightly', 'other-stage');
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /no sweep history under s3:\/\/ffsweephist-.*\/sweeps\/nightly\/other-stage\//);
  for (const argv of [
    ['sweep-history', 'nightly'],
    ['sweep-history', 'nightly', 'tune', '--limit', '0'],
    ['sweep-history', 'nightly', 'tune', '--limit', '5000'],
    ['sweep-history', '../etc', 'tune'],
  ]) {
    const refused = await fineflow(...argv);
    assert.equal(refused.code, 2, `${argv.join(' ')}: ${refused.stdout}${refused.stderr}`);
  }
});
