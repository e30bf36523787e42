/**
 * `RunClient.result()` waits for a run in a gRPC long poll; a poll cut by its deadline or by a Temporal
 * outage is asked again (the run goes on regardless), anything else is the answer. The client here is
 * a stand-in for Temporal's: only the cut/answer sequence of `handle.result()` matters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { isLongPollCut, retryCutLongPoll, RunClient } from '../../../src/client/run-client';
import { DependencyUnavailableError, InvalidInputError } from '../../../src/core/errors';
import type { PipelineRunResult } from '../../../src/core/run/run-types';

/** A gRPC error as @grpc/grpc-js builds it: an Error with a numeric status code, details and metadata. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

const deadline = (): Error =>
  new ServiceError('Failed to get workflow result', { cause: grpcError(4, 'DEADLINE_EXCEEDED: Deadline exceeded') });
const unreachable = (): Error => grpcError(14, 'UNAVAILABLE: No connection established');

/** A client whose `getHandle(id).result()` answers with the next of `answers` (an Error is thrown). */
function clientAnswering(answers: readonly unknown[]): { client: Client; polls: () => number } {
  let polls = 0;
  const handle = {
    result: async (): Promise<unknown> => {
      const answer = answers[Math.min(polls++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { client: { workflow: { getHandle: () => handle } } as unknown as Client, polls: () => polls };
}

const succeeded: PipelineRunResult = { status: 'succeeded', stages: [] };

test('a long poll counts as cut on a deadline or an outage, not on an answer from the run', () => {
  assert.equal(isLongPollCut(deadline()), true);
  assert.equal(isLongPollCut(grpcError(4, 'DEADLINE_EXCEEDED')), true);
  assert.equal(isLongPollCut(unreachable()), true);
  assert.equal(isLongPollCut(new ServiceError('Failed', { cause: unreachable() })), true);
  assert.equal(isLongPollCut(new WorkflowNotFoundError('no such run', 'r', undefined)), false);
  assert.equal(isLongPollCut(grpcError(5, 'NOT_FOUND: workflow not found')), false);
  assert.equal(isLongPollCut(new Error('boom')), false);
  assert.equal(isLongPollCut(undefined), false);
});

test('result() asks again when its long poll is cut and returns what the run ended with', async () => {
  const { client, polls } = clientAnswering([deadline(), deadline(), succeeded]);
  const cuts: { attempt: number; message: string; retryInMs: number }[] = [];
  const result = await new RunClient(client, { bucket: 'fineflow' }).result('r-1', { onCut: (cut) => cuts.push(cut) });
  assert.deepEqual(result, succeeded);
  assert.equal(polls(), 3);
  assert.deepEqual(
    cuts.map((cut) => [cut.attempt, cut.retryInMs]),
    [
      [1, 0],
      [2, 0],
    ],
    'a deadline is asked again at once',
  );
  assert.match(cuts[0]?.message ?? '', /Failed to get workflow result/);
});

test('result() does not ask again when the run is unknown', async () => {
  const { client, polls } = clientAnswering([new WorkflowNotFoundError('no such run', 'r-9', undefined), succeeded]);
  await assert.rejects(new RunClient(client, { bucket: 'fineflow' }).result('r-9'), InvalidInputError);
  assert.equal(polls(), 1);
});

test('result() gives up on an outage after its budget, saying Temporal is unreachable', async () => {
  const { client, polls } = clientAnswering([unreachable()]);
  const delays: number[] = [];
  await assert.rejects(
    new RunClient(client, { bucket: 'fineflow' }).result('r-2', {
      reconnectForMs: 1_200,
      onCut: (cut) => delays.push(cut.retryInMs),
    }),
    (error: unknown) => error instanceof DependencyUnavailableError && /unreachable/.test(error.message),
  );
  // Backoff 0.5 s, then 1 s: the third cut comes after the 1.2 s budget.
  assert.deepEqual(delays, [500, 1_000]);
  assert.equal(polls(), 3);
});

test('retryCutLongPoll passes an answer through and rethrows what is not a cut', async () => {
  assert.equal(await retryCutLongPoll(async () => 7), 7);
  await assert.rejects(
    retryCutLongPoll(async () => {
      throw new Error('the workflow failed');
    }),
    /the workflow failed/,
  );
});
