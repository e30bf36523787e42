/**
 * Who `RunClient.state()` blames when a running run's state query fails: Temporal itself when it does not answer a
 * call of its own, a control worker only when it does. A query cut off as Temporal stopped failed with a code other
 * than UNAVAILABLE, and a watch told the user to start a control worker while Temporal was the one gone. The client
 * here stands in for Temporal's: describe answers RUNNING, the query fails, GetSystemInfo answers or not.
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

/** A client whose run is RUNNING, whose state query fails as cut off, and whose GetSystemInfo does `systemInfo`. */
function clientWhere(systemInfo: () => Promise<unknown>): { client: Client; systemInfoCalls: () => number } {
  let calls = 0;
  const handle = {
    describe: async () => ({ status: { name: 'RUNNING' } }),
    query: async () => {
      throw new ServiceError('Failed to query Workflow', { cause: grpcError(1, 'CANCELLED: Call cancelled') });
    },
  };
  const client = {
    workflow: { getHandle: () => handle },
    withDeadline: (_deadline: number, call: () => Promise<unknown>) => call(),
    workflowService: {
      getSystemInfo: () => {
        calls++;
        return systemInfo();
      },
    },
  } as unknown as Client;
  return { client, systemInfoCalls: () => calls };
}

test('a failed state query while Temporal does not answer blames Temporal, not a control worker', async () => {
  const { client, systemInfoCalls } = clientWhere(() =>
    Promise.reject(grpcError(14, 'UNAVAILABLE: No connection established')),
  );
  await assert.rejects(
    new RunClient(client, { bucket: 'fineflow' }).state('r-1', { timeoutMs: 1_000 }),
    (error: Error & { details?: { code?: string } }) => {
      assert.ok(error instanceof DependencyUnavailableError);
      assert.equal(error.details?.code, TEMPORAL_UNREACHABLE);
      assert.match(error.message, /^Temporal at .* unreachable \(Failed to query Workflow\)/);
      assert.doesNotMatch(error.message, /control worker/);
      return true;
    },
  );
  assert.equal(systemInfoCalls(), 1);
});

test('a failed state query while Temporal answers still asks whether a control worker runs', async () => {
  const { client, systemInfoCalls } = clientWhere(() => Promise.resolve({}));
  await assert.rejects(
    new RunClient(client, { bucket: 'fineflow' }).state('r-2', { timeoutMs: 1_000 }),
    (error: Error & { details?: { code?: string } }) => {
      assert.notEqual(error.details?.code, TEMPORAL_UNREACHABLE);
      assert.match(
        error.message,
        /^run r-2 did not answer its state query \(Failed to query Workflow\); is a control worker running\?/,
      );
      return true;
    },
  );
  assert.equal(systemInfoCalls(), 1);
});
