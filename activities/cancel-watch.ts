/**
 * Cancellation that reaches a running stage in milliseconds instead of at its next heartbeat.
 *
 * Temporal tells an activity it was cancelled only in the response to a heartbeat, and the SDK
 * sends heartbeats at most every 0.8 × heartbeatTimeout (8 s of a 10 s timeout), so a training
 * child used to run on for seconds after `fineflow cancel`. The run's workflow history says it at
 * once: the workflow's RequestCancelActivityTask command becomes an ActivityTaskCancelRequested
 * event naming the activity's scheduled event. The stage runner long-polls that history
 * (`waitNewEvent`, so the server answers as soon as an event is appended) and aborts when the
 * event names this activity, or when the run itself closed. The SDK's own cancellation still
 * arrives at the next heartbeat; the stage runner waits for it to report the stage as cancelled.
 */
import type { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';

export interface CancelWatch {
  /** Aborted (reason: a sentence) when the workflow asked to cancel this activity or ended. */
  readonly signal: AbortSignal;
  stop(): void;
}

/** Pause after a failed poll (Temporal restarting): the watch is best effort, heartbeats remain. */
const RETRY_AFTER_MS = 1_000;

type HistoryEvent = NonNullable<
  NonNullable<Awaited<ReturnType<Client['workflowService']['getWorkflowExecutionHistory']>>['history']>['events']
>[number];

function runEnded(event: HistoryEvent): boolean {
  return Boolean(
    event.workflowExecutionCompletedEventAttributes ??
    event.workflowExecutionFailedEventAttributes ??
    event.workflowExecutionTimedOutEventAttributes ??
    event.workflowExecutionCanceledEventAttributes ??
    event.workflowExecutionTerminatedEventAttributes ??
    event.workflowExecutionContinuedAsNewEventAttributes,
  );
}

/** Watch the history of the workflow that scheduled the current activity; a no-op outside one. */
export function watchCancelRequest(context: Context): CancelWatch {
  const controller = new AbortController();
  const stopped = new AbortController();
  let client: Client | undefined;
  try {
    client = context.client;
  } catch {
    client = undefined; // MockActivityEnvironment without a client
  }
  const execution = context.info.workflowExecution;
  if (!client || !execution?.workflowId || !execution.runId)
    return { signal: controller.signal, stop: () => undefined };
  const { activityId, workflowNamespace: namespace } = context.info;
  const poll = async (watching: Client): Promise<void> => {
    let nextPageToken: Uint8Array | undefined;
    let scheduledEventId: string | undefined;
    while (!stopped.signal.aborted) {
      let response;
      try {
        response = await watching.withAbortSignal(stopped.signal, () =>
          watching.workflowService.getWorkflowExecutionHistory({
            namespace,
            execution,
            waitNewEvent: true,
            ...(nextPageToken ? { nextPageToken } : {}),
          }),
        );
      } catch {
        if (stopped.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS).unref());
        continue;
      }
      for (const event of response.history?.events ?? []) {
        if (event.activityTaskScheduledEventAttributes?.activityId === activityId)
          scheduledEventId = String(event.eventId);
        const requested = event.activityTaskCancelRequestedEventAttributes;
        if (requested && scheduledEventId !== undefined && String(requested.scheduledEventId) === scheduledEventId) {
          controller.abort('the run asked to cancel this stage');
          return;
        }
        if (runEnded(event)) {
          controller.abort('the run ended while this stage was running');
          return;
        }
      }
      // A closed workflow's history ends without a token: nothing more will come.
      if (!response.nextPageToken || response.nextPageToken.length === 0) return;
      nextPageToken = response.nextPageToken;
    }
  };
  void poll(client);
  return {
    signal: controller.signal,
    stop: () => stopped.abort(),
  };
}
