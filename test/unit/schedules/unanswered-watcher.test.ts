/**
 * Why a watcher's state query failed, in plain words (what is wrong, what to do), with Temporal's text kept apart:
 * the message ended in the SDK's gRPC text ("Failed to query Workflow"), which says neither. `schedule list` and
 * `describe` print Temporal's text only with --verbose.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueryNotRegisteredError, ServiceError } from '@temporalio/client';
import { describeText } from '../../../src/cli/commands/schedule';
import { unansweredWatcherText } from '../../../src/schedules/data-watch-client';
import type { ScheduleDetails } from '../../../src/schedules/schedule-client';

function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

const queryFailed = (code: number, details: string): ServiceError =>
  new ServiceError('Failed to query Workflow', { cause: grpcError(code, details) });

const GRPC_WORDS = /Failed to query|DEADLINE|CANCELLED|UNAVAILABLE|INVALID_ARGUMENT|gRPC/;

test('no answer before the deadline: no control worker answered, and the command that starts one', () => {
  const cut = [
    queryFailed(4, 'DEADLINE_EXCEEDED: query timed out before a worker could process it'),
    queryFailed(1, 'CANCELLED: Call cancelled'),
  ];
  for (const thrown of cut) {
    const { error, detail } = unansweredWatcherText(thrown, 3000, Date.now() - 1);
    assert.equal(
      error,
      'no control worker answered within 3 s: none is running, or it is busy. Start one with `fineflow worker ' +
        '--pool control`; `fineflow dev status` says which pools have workers',
    );
    assert.match(detail, /^Failed to query Workflow: [14] (DEADLINE_EXCEEDED|CANCELLED): /);
  }
});

test('Temporal down, a worker of another version, anything else: each said plainly, Temporal’s text apart', () => {
  const down = unansweredWatcherText(queryFailed(14, 'UNAVAILABLE: No connection established'), 3000, Date.now());
  assert.match(down.error, /^Temporal did not answer: is the stack up\? `fineflow dev status` checks it/);
  const unknown = unansweredWatcherText(new QueryNotRegisteredError('unknown queryType watcherState', 3), 3000, 0);
  assert.match(unknown.error, /^the watcher refused its state query: its control worker may run another Fineflow/);
  assert.equal(unknown.detail, 'unknown queryType watcherState');
  const other = unansweredWatcherText(queryFailed(13, 'INTERNAL: boom'), 3000, Date.now() + 60_000);
  assert.match(other.error, /^the watcher could not say its state .*: the control worker’s log says why$/);
  for (const { error } of [down, unknown, other]) assert.doesNotMatch(error, GRPC_WORDS);
  assert.equal(other.detail, 'Failed to query Workflow: 13 INTERNAL: boom');
});

test('a URL in Temporal’s text is redacted, and the text is bounded', () => {
  const long = queryFailed(
    13,
    `INTERNAL: https://user:secret@temporal.example/x?X-Amz-Signature=abc ${'x'.repeat(900)}`,
  );
  const { detail } = unansweredWatcherText(long, 3000, Date.now() + 60_000);
  assert.doesNotMatch(detail, /secret|abc /);
  assert.ok(detail.length <= 500, String(detail.length));
});

test('describe: the plain reason; Temporal’s words on their own line with --verbose only', () => {
  const details: ScheduleDetails = {
    pipeline: 'defect-retrain',
    scheduleId: 'fineflow-defect-retrain',
    watchers: [
      {
        watcherId: 'fineflow-defect-retrain-newdata-35ffee42',
        path: 's3://datasets/defects/',
        error: 'no control worker answered within 5 s: none is running, or it is busy.',
        detail: 'Failed to query Workflow: 1 CANCELLED: Call cancelled',
      },
    ],
  };
  const plain = describeText(details);
  assert.match(
    plain,
    /^watcher fineflow-defect-retrain-newdata-35ffee42 \(s3:\/\/datasets\/defects\/\): state unavailable: no control worker/m,
  );
  assert.doesNotMatch(plain, GRPC_WORDS);
  assert.match(
    describeText(details, true),
    /\n {2}Temporal said: Failed to query Workflow: 1 CANCELLED: Call cancelled\n/,
  );
});
