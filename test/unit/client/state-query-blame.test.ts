/**
 * Who `RunClient.state()` blames when a running run's state query fails: Temporal itself when it does not answer a
 * call of its own; a control worker only when Temporal answers and lists nobody polling the run's task queue. A query
 * cut off as Temporal stopped failed with a code other than UNAVAILABLE while its frontend still answered, and a watch
 * told the user to start a control worker while Temporal was the one going away (CI, twice). One call decides: who
 * polls the run's task queue (DescribeTaskQueue); GetSystemInfo before it said nothing more and is never asked. The
 * client here stands in for Temporal's: describe answers RUNNING on the run's queue, the query fails,
 * DescribeTaskQueue answers as each test says.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceError, type Client } from '@temporalio/client';
import { RunClient, TEMPORAL_UNREACHABLE } from '../../../src/client/run-client';
import { DependencyUnavailableError } from '../../../src/core/errors';

/** A gRPC error as @grpc/grpc-js builds it: an Error with a numeric status code, details and metadata. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

const unavailable = (): Promise<never> => Promise.reject(grpcError(14, 'UNAVAILABLE: No connection established'));
const pollers = (count: number) => (): Promise<unknown> =>
  Promise.resolve({
    pollers: Array.from({ length: count }, (_, i) => ({ identity: `w${i}`, lastAccessTime: null })),
  });

/** A client whose run is RUNNING on `fineflow-ops`, whose state query fails as cut off. */
function clientWhere(answers: { describeTaskQueue: () => Promise<unknown> }): {
  client: Client;
  calls: { systemInfo: number; query: number; describeTaskQueue: { name?: string; type?: number }[] };
} {
  const calls = { systemInfo: 0, query: 0, describeTaskQueue: [] as { name?: string; type?: number }[] };
  const handle = {
    describe: async () => ({ status: { name: 'RUNNING' }, taskQueue: 'fineflow-ops' }),
    query: async () => {
      calls.query++;
      throw new ServiceError('Failed to query Workflow', { cause: grpcError(1, 'CANCELLED: Call cancelled') });
    },
  };
  const client = {
    options: { namespace: 'default' },
    workflow: { getHandle: () => handle },
    withDeadline: (_deadline: number, call: () => Promise<unknown>) => call(),
    workflowService: {
      getSystemInfo: () => {
        calls.systemInfo++;
        return Promise.resolve({});
      },
      describeTaskQueue: (request: { taskQueue: { name: string }; taskQueueType: number }) => {
        calls.describeTaskQueue.push({ name: request.taskQueue.name, type: request.taskQueueType });
        return answers.describeTaskQueue();
      },
    },
  } as unknown as Client;
  return { client, calls };
}

type Details = Error & { details?: { code?: string; taskQueue?: string } };

test('a failed state query while Temporal does not answer blames Temporal, not a control worker, in one call', async () => {
  const { client, calls } = clientWhere({ describeTaskQueue: unavailable });
  await assert.rejects(
    new RunClient(client, { bucket: 'fineflow' }).state('r-1', { timeoutMs: 1_000 }),
    (error: Details) => {
      assert.ok(error instanceof DependencyUnavailableError);
      assert.equal(error.details?.code, TEMPORAL_UNREACHABLE);
      assert.match(error.message, /^Temporal at .* unreachable \(Failed to query Workflow\)/);
      assert.doesNotMatch(error.message, /control worker/);
      return true;
    },
  );
  // One call of Temporal's own told: the run's queue, asked once, and no GetSystemInfo before it.
  assert.deepEqual(calls.describeTaskQueue, [{ name: 'fineflow-ops', type: 1 }]);
  assert.equal(calls.systemInfo, 0, 'GetSystemInfo is not asked');
});

test('Temporal lists nobody on the run’s queue: no query waits out its timeout, the control pool is named', async () => {
  const { client, calls } = clientWhere({ describeTaskQueue: pollers(0) });
  await assert.rejects(
    new RunClient(client, { bucket: 'fineflow' }).state('r-2', { timeoutMs: 1_000 }),
    (error: Details) => {
      assert.ok(error instanceof DependencyUnavailableError, 'a watch retries it');
      assert.notEqual(error.details?.code, TEMPORAL_UNREACHABLE);
      assert.equal(error.details?.taskQueue, 'fineflow-ops');
      assert.equal(
        error.message,
        'run r-2 cannot answer its state query now; no worker polls its task queue ' +
          'fineflow-ops: is a control worker running? Start one with `fineflow worker --pool ops`',
      );
      return true;
    },
  );
  // Asked first: nobody polls, so the query (which could only time out) is never sent.
  assert.equal(calls.query, 0, 'no state query without a worker to answer it');
  // The workflow task queue is the one a control worker polls (type 1), not the activity queue; asked once, alone.
  assert.deepEqual(calls.describeTaskQueue, [{ name: 'fineflow-ops', type: 1 }]);
  assert.equal(calls.systemInfo, 0);
});

test('a queue a worker polls is asked about once in a while, not before every state query', async () => {
  const { client, calls } = clientWhere({ describeTaskQueue: pollers(1) });
  const runs = new RunClient(client, { bucket: 'fineflow' });
  for (let i = 0; i < 3; i++) await assert.rejects(runs.state('r-6', { timeoutMs: 1_000 }));
  assert.equal(calls.query, 3, 'a worker polls: the query is sent');
  // The first state() asked before its query; each failed query asks again (the worker may have gone meanwhile).
  assert.equal(calls.describeTaskQueue.length, 4, JSON.stringify(calls.describeTaskQueue));
});

test('a query cut off while Temporal still lists the control worker blames no worker', async () => {
  const { client, calls } = clientWhere({ describeTaskQueue: pollers(1) });
  await assert.rejects(
    new RunClient(client, { bucket: 'fineflow' }).state('r-3', { timeoutMs: 1_000 }),
    (error: Details) => {
      assert.ok(error instanceof DependencyUnavailableError, 'a watch retries it');
      assert.match(error.message, /a worker polls its task queue fineflow-ops, so that worker is busy or Temporal/);
      assert.doesNotMatch(error.message, /is a control worker running/);
      return true;
    },
  );
  assert.equal(calls.systemInfo, 0);
});

test('the poller lookup failing says so; going unreachable blames Temporal', async () => {
  const failed = clientWhere({
    describeTaskQueue: () => Promise.reject(grpcError(13, 'INTERNAL: shutting down')),
  });
  await assert.rejects(
    new RunClient(failed.client, { bucket: 'fineflow' }).state('r-4', { timeoutMs: 1_000 }),
    (error: Details) => {
      assert.match(error.message, /Temporal did not say whether a worker polls its task queue fineflow-ops$/);
      assert.doesNotMatch(error.message, /is a control worker running/);
      return true;
    },
  );
  const gone = clientWhere({ describeTaskQueue: unavailable });
  await assert.rejects(
    new RunClient(gone.client, { bucket: 'fineflow' }).state('r-5', { timeoutMs: 1_000 }),
    (error: Details) => {
      assert.equal(error.details?.code, TEMPORAL_UNREACHABLE);
      assert.match(error.message, /^Temporal at .* unreachable \(Failed to query Workflow\)/);
      return true;
    },
  );
});
