import assert from 'node:assert/strict';
import { it } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { findReports, requireRunVia, requireStageVia } from '../../../src/cli/commands/report';
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
  const requireStage = requireStageVia(open);
  await assert.rejects(
    findReports(store, 'b', 'r1', 'evalute', { requireStage }),
    (error: Error) =>
      error instanceof InvalidInputError &&
      error.message ===
        'run r1 (pipeline quickstart) has no stage evalute; did you mean evaluate? (stages: prepare, train, evaluate)',
  );
  await assert.rejects(
    findReports(store, 'b', 'r1', 'train', { requireStage }),
    /run r1 has no report for stage train/,
  );
  // A run whose state cannot be read cannot tell: the report's message stands.
  await store.putBytes('s3://b/runs/r5/prepare/dataset/manifest.json', '{}');
  await assert.rejects(findReports(store, 'b', 'r5', 'nope', { requireStage }), /run r5 has no report for stage nope/);
  assert.equal(closed, 3);
});
