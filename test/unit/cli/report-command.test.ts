import assert from 'node:assert/strict';
import { it } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { findReports, readStateVia, requireRunVia } from '../../../src/cli/commands/report';
import type { RunState } from '../../../src/core/run/run-types';
import { RunClient } from '../../../src/client/run-client';
import { DependencyUnavailableError, InvalidInputError, NotFoundError } from '../../../src/core/errors';
import { createMemoryObjectStore } from '../ml/helpers/memory-object-store';

it('finds a run’s evaluation reports by stage, refuses ids that are not ids, and says when there is none', async () => {
  const store = createMemoryObjectStore();
  await store.putBytes('s3://b/runs/r1/evaluate/report/report.html', '<html>');
  await store.putBytes('s3://b/runs/r1/evaluate/report/report.json', '{}');
  await store.putBytes('s3://b/runs/r1/check/report/report.html', '<html>');
  await store.putBytes('s3://b/runs/r1/prepare/dataset/manifest.json', '{}');
  assert.deepEqual(await findReports(store, 'b', 'r1'), {
    evaluate: 's3://b/runs/r1/evaluate/report/report.html',
    check: 's3://b/runs/r1/check/report/report.html',
  });
  assert.deepEqual(await findReports(store, 'b', 'r1', 'check'), { check: 's3://b/runs/r1/check/report/report.html' });
  await assert.rejects(findReports(store, 'b', 'r1', 'prepare'), NotFoundError);
  await assert.rejects(findReports(store, 'b', 'r2'), /run r2 has no HTML report/);
  await assert.rejects(findReports(store, 'b', '../r1'), /RUN "\.\.\/r1" is not a run or stage id/);
  await assert.rejects(findReports(store, 'b', 'r1', 'a/b'), /STAGE "a\/b"/);
});

it('says there is no run RUN when the bucket holds nothing of it and Temporal does not know it', async () => {
  const store = createMemoryObjectStore();
  await store.putBytes('s3://b/runs/r1/prepare/dataset/manifest.json', '{}');
  const asked: string[] = [];
  const known = new Set(['r1', 'r3']);
  // As RunClient.execution answers: an unknown id is InvalidInputError "no run X" (code no-run).
  const requireRun = async (runId: string): Promise<void> => {
    asked.push(runId);
    if (!known.has(runId))
      throw new InvalidInputError(`no run ${runId}; list runs with \`fineflow runs\``, { runId, code: 'no-run' });
  };
  for (const stage of [undefined, 'evaluate'])
    await assert.rejects(
      findReports(store, 'b', 'r2', stage, { requireRun }),
      (error: Error) =>
        error instanceof InvalidInputError && error.message === 'no run r2; list runs with `fineflow runs`',
    );
  // A run that exists: its objects answer without Temporal; with none yet, Temporal does.
  await assert.rejects(findReports(store, 'b', 'r1', undefined, { requireRun }), /run r1 has no HTML report/);
  await assert.rejects(findReports(store, 'b', 'r1', 'evaluate', { requireRun }), /run r1 has no report for stage/);
  await assert.rejects(findReports(store, 'b', 'r3', undefined, { requireRun }), /run r3 has no HTML report/);
  assert.deepEqual(asked, ['r2', 'r2', 'r3']);
});

it('asks Temporal whether the run exists as `fineflow status` does, and keeps the report message when it cannot tell', async () => {
  let closed = 0;
  // A real RunClient over a Temporal client that knows no workflow r2, and whose r4 fails otherwise.
  const client = {
    workflow: {
      getHandle: (id: string) => ({
        describe: () =>
          Promise.reject(
            id === 'r2'
              ? new WorkflowNotFoundError('workflow not found', id, undefined)
              : new Error('deadline exceeded'),
          ),
      }),
    },
  } as unknown as Client;
  const open = async () => ({
    runs: new RunClient(client, { bucket: 'b' }),
    close: async () => {
      closed += 1;
    },
  });
  const store = createMemoryObjectStore();
  await assert.rejects(
    findReports(store, 'b', 'r2', undefined, { requireRun: requireRunVia(open) }),
    (error: Error) =>
      error instanceof InvalidInputError && error.message === 'no run r2; list runs with `fineflow runs`',
  );
  await assert.rejects(findReports(store, 'b', 'r4', undefined, { requireRun: requireRunVia(open) }), NotFoundError);
  assert.equal(closed, 2);
  const unreachable = requireRunVia(() => Promise.reject(new DependencyUnavailableError('cannot reach Temporal')));
  await assert.rejects(
    findReports(store, 'b', 'r2', 'evaluate', { requireRun: unreachable }),
    /has no report for stage/,
  );
});

it('names a STAGE the run does not have, with its stages, as `fineflow logs` does; a stage it has keeps "no report"', async () => {
  const store = createMemoryObjectStore();
  await store.putBytes('s3://b/runs/r1/evaluate/report/report.html', '<html>');
  let closed = 0;
  const stages = [{ id: 'prepare' }, { id: 'train' }, { id: 'evaluate' }];
  const open = async () => ({
    runs: {
      state: async (runId: string) => {
        if (runId !== 'r1') throw new DependencyUnavailableError('no control worker answered');
        return { runId, pipeline: 'quickstart', stages } as unknown as RunState;
      },
    },
    close: async () => {
      closed += 1;
    },
  });
  const readState = readStateVia(open);
  await assert.rejects(
    findReports(store, 'b', 'r1', 'evalute', { readState }),
    (error: Error) =>
      error instanceof InvalidInputError &&
      error.message ===
        'run r1 (pipeline quickstart) has no stage evalute; did you mean evaluate? (stages: prepare, train, evaluate)',
  );
  await assert.rejects(findReports(store, 'b', 'r1', 'train', { readState }), /run r1 has no report for stage train/);
  // A run whose state cannot be read cannot tell: the report's message stands.
  await store.putBytes('s3://b/runs/r5/prepare/dataset/manifest.json', '{}');
  await assert.rejects(findReports(store, 'b', 'r5', 'nope', { readState }), /run r5 has no report for stage nope/);
  // One read of each run's state, however many questions a command asks of it.
  assert.equal(closed, 2);
});

it('finds the report of a stage served from the cache under the run that computed it, and nowhere else', async () => {
  const store = createMemoryObjectStore();
  // r1 computed evaluate; r2 (an unchanged resubmit) was a cache hit, its outputs naming r1's objects.
  await store.putBytes('s3://bkt/runs/r1/evaluate/report/report.html', '<html>r1');
  await store.putBytes('s3://bkt/runs/r2/prepare/dataset/manifest.json', '{}');
  await store.putBytes('s3://bkt/models/secret/report/report.html', '<html>not a run');
  const stage = (id: string, status: string, report: string, extra: object = {}) => ({
    id,
    uses: 'evaluate',
    pool: 'cpu',
    status,
    attempts: status === 'cached' ? 0 : 1,
    outputs: { report, metrics: report.replace('report/report.html', 'metrics.json') },
    ...extra,
  });
  const states: Record<string, RunState> = {
    r2: {
      runId: 'r2',
      pipeline: 'quickstart',
      stages: [
        stage('prepare', 'succeeded', 's3://bkt/runs/r2/prepare/report/report.html'),
        stage('evaluate', 'cached', 's3://bkt/runs/r1/evaluate/report/report.html', {
          reason: 'cache hit from run r1',
        }),
        // Outputs are pipeline code's: a ran stage naming another run's report, a cached one naming a non-run object.
        stage('forged', 'succeeded', 's3://bkt/runs/r1/evaluate/report/report.html'),
        stage('outside', 'cached', 's3://bkt/models/secret/report/report.html'),
      ],
    } as unknown as RunState,
    r3: {
      runId: 'r3',
      pipeline: 'quickstart',
      stages: [stage('evaluate', 'cached', 's3://bkt/runs/r9/evaluate/report/report.html')],
    } as unknown as RunState,
  };
  const readState = async (runId: string) => states[runId];
  assert.deepEqual(await findReports(store, 'bkt', 'r2', 'evaluate', { readState }), {
    evaluate: 's3://bkt/runs/r1/evaluate/report/report.html',
  });
  assert.deepEqual(await findReports(store, 'bkt', 'r2', undefined, { readState }), {
    evaluate: 's3://bkt/runs/r1/evaluate/report/report.html',
  });
  for (const id of ['forged', 'outside'])
    await assert.rejects(findReports(store, 'bkt', 'r2', id, { readState }), /run r2 has no report for stage/);
  // Without the state (Temporal unreachable) only the run's own prefix is read, as before.
  await assert.rejects(findReports(store, 'bkt', 'r2', 'evaluate'), /run r2 has no report for stage evaluate/);
  // The computing run's report was removed: say so, and how to write it again.
  await store.putBytes('s3://bkt/runs/r3/prepare/dataset/manifest.json', '{}');
  await assert.rejects(
    findReports(store, 'bkt', 'r3', 'evaluate', { readState }),
    (error: Error) =>
      error instanceof NotFoundError &&
      /took its outputs from run r9, whose report .* is no longer in the bucket.*fineflow rerun r3 --from evaluate/.test(
        error.message,
      ),
  );
});
