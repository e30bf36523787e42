/**
 * Which events of a run's latest execution its history reader marks as seen by a task draining towards
 * continue-as-new (src/client/execution-stage-events.ts): the deciding task's WorkflowTaskStarted event id, counted
 * from the task that read a continued execution's state back, against the run's limit, or that event's
 * `suggestContinueAsNew`; and only in an execution that carries the bounded-history patch marker (one recorded by
 * code without it never drained). A hand-written history, decoded through the SDK's default converters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { executionStageEvents } from '../../../src/client/execution-stage-events';
import { CONTINUE_AS_NEW_PATCH } from '../../../src/core/run/history-limit';
import type { StageEvent } from '../../../src/core/run/stages-after-execution';
import { decodingClient, payloads, type HistoryEvent } from '../../fixtures/runtime/hand-written-history';
import { makePlan } from '../../fixtures/runtime/plans';

const plan = makePlan('p', [{ id: 'a' }, { id: 'b' }]);
const uses = plan.stages[0]?.uses ?? '?';

/**
 * A continued execution: it reads its state back (task 9 sees the part arrive), starts `a` and `b`, and the task that
 * sees `a` end is event 16; `suggest` marks that task's event, `marker` adds the patch marker that task recorded.
 */
function history(options: { readonly marker: boolean; readonly suggest?: boolean }): HistoryEvent[] {
  const kinds: Record<string, unknown>[] = [
    { workflowExecutionStartedEventAttributes: {} },
    { workflowTaskScheduledEventAttributes: {} },
    { workflowTaskStartedEventAttributes: {} },
    { workflowTaskCompletedEventAttributes: {} },
    { activityTaskScheduledEventAttributes: { activityType: { name: 'readRunStatePart' } } },
    { activityTaskStartedEventAttributes: { scheduledEventId: 5, attempt: 1 } },
    { activityTaskCompletedEventAttributes: { scheduledEventId: 5, result: payloads('{}') } },
    { workflowTaskScheduledEventAttributes: {} },
    { workflowTaskStartedEventAttributes: {} },
    { workflowTaskCompletedEventAttributes: {} },
    ...['a', 'b'].map((stageId) => ({
      activityTaskScheduledEventAttributes: {
        activityType: { name: uses },
        input: payloads({ context: { stageId, attempt: 1 } }),
      },
    })),
    { activityTaskStartedEventAttributes: { scheduledEventId: 11, attempt: 1 } },
    { activityTaskCompletedEventAttributes: { scheduledEventId: 11, result: payloads({ outputs: {}, attempt: 1 }) } },
    { workflowTaskScheduledEventAttributes: {} },
    { workflowTaskStartedEventAttributes: { suggestContinueAsNew: options.suggest === true } },
    { workflowTaskCompletedEventAttributes: {} },
    ...(options.marker
      ? [
          {
            markerRecordedEventAttributes: {
              markerName: 'core_patch',
              details: { 'patch-data': payloads({ id: CONTINUE_AS_NEW_PATCH, deprecated: false }) },
            },
          },
        ]
      : []),
    { workflowExecutionTerminatedEventAttributes: {} },
  ];
  // As the client gets it: protobuf messages (ids and times as Long).
  const events = kinds.map((event, i) => ({ ...event, eventId: i + 1, eventTime: { seconds: 1_800_000_000 + i } }));
  return temporal.api.history.v1.History.fromObject({ events }).events;
}

/** Each event's kind (with its stage), and `draining` where the reader marked it. */
const read = async (events: HistoryEvent[], limit: number): Promise<string[]> =>
  (await executionStageEvents(decodingClient, plan, events, limit)).map(
    (e: StageEvent) => `${e.kind}${'stageId' in e ? ` ${e.stageId}` : ''}${e.draining ? ' draining' : ''}`,
  );

test('the task that sees `a` end drains once it is the limit past the task that read the state back', async () => {
  // Task 16 is 7 events past task 9.
  assert.deepEqual(await read(history({ marker: true }), 7), [
    'began',
    'started a',
    'started b',
    'succeeded a draining',
  ]);
  assert.deepEqual(await read(history({ marker: true }), 8), ['began', 'started a', 'started b', 'succeeded a']);
});

test('Temporal suggesting continue-as-new drains too, whatever the limit', async () => {
  assert.deepEqual(await read(history({ marker: true, suggest: true }), 10_000), [
    'began',
    'started a',
    'started b',
    'succeeded a draining',
  ]);
});

test('an execution without the patch marker never drained: nothing is marked', async () => {
  assert.deepEqual(await read(history({ marker: false, suggest: true }), 7), [
    'began',
    'started a',
    'started b',
    'succeeded a',
  ]);
});
