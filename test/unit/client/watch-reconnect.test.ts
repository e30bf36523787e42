/** The pure parts of a watch riding out an outage: the backoff, and telling "Temporal did not answer" apart. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceError } from '@temporalio/client';
import { watchRetryDelayMs } from '../../../src/client/run-client';
import { isTemporalUnreachable } from '../../../src/client/temporal-connection';

test('an interrupted watch backs off from 0.5 s, doubling, to at most 10 s', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 50].map((attempt) => watchRetryDelayMs(attempt)),
    [500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000],
  );
});

/** A gRPC error as @grpc/grpc-js builds it: an Error with a numeric status code, details and metadata. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

test('only gRPC UNAVAILABLE, anywhere in the cause chain, counts as Temporal unreachable', () => {
  const refused = grpcError(14, 'UNAVAILABLE: No connection established');
  assert.equal(isTemporalUnreachable(refused), true);
  assert.equal(isTemporalUnreachable(new ServiceError('Failed to describe workflow', { cause: refused })), true);
  assert.equal(
    isTemporalUnreachable(
      new Error('outer', { cause: new ServiceError('Failed to query Workflow', { cause: refused }) }),
    ),
    true,
  );
  assert.equal(isTemporalUnreachable(grpcError(4, 'DEADLINE_EXCEEDED')), false, 'a deadline may be a missing worker');
  assert.equal(isTemporalUnreachable(grpcError(5, 'NOT_FOUND: workflow not found')), false);
  assert.equal(isTemporalUnreachable(new Error('14 UNAVAILABLE but no code')), false);
  assert.equal(isTemporalUnreachable(undefined), false);
});
