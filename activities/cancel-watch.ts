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

/**
 * One history long-poll per workflow execution and process, shared by every stage of that run
 * running here: a 1,000-stage fan-out used to open 1,000 long-polls, each reading the whole
 * history from its first event. Keeps what it has seen, so a stage that joins late still learns
 * of a cancel request or the run's end that came before it.
 */
class RunHistoryWatch {
  private readonly stopped = new AbortController();
  private readonly subscribers = new Map<string, AbortController>();
  /** activityId → scheduled event id, and the scheduled event ids whose cancel was requested. */
  private readonly scheduled = new Map<string, string>();
  private readonly cancelRequested = new Set<string>();
  private ended = false;

  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    private readonly execution: { readonly workflowId: string; readonly runId: string },
    private readonly onIdle: () => void,
  ) {
    void this.poll();
  }

  /** Watch one activity; `stop` of the returned watch leaves the shared poll to the others. */
  subscribe(activityId: string): CancelWatch {
    const controller = new AbortController();
    this.subscribers.set(activityId, controller);
    this.check(activityId, controller);
    return {
      signal: controller.signal,
      stop: () => {
        if (this.subscribers.get(activityId) !== controller) return;
        this.subscribers.delete(activityId);
        if (this.subscribers.size === 0) {
          this.stopped.abort();
          this.onIdle();
        }
      },
    };
  }

  private check(activityId: string, controller: AbortController): void {
    if (this.ended) controller.abort('the run ended while this stage was running');
    const eventId = this.scheduled.get(activityId);
    if (eventId !== undefined && this.cancelRequested.has(eventId))
      controller.abort('the run asked to cancel this stage');
  }

  private record(event: HistoryEvent): void {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityId) this.scheduled.set(scheduled.activityId, String(event.eventId));
    const requested = event.activityTaskCancelRequestedEventAttributes;
    if (requested) this.cancelRequested.add(String(requested.scheduledEventId));
    if (runEnded(event)) this.ended = true;
  }

  private async poll(): Promise<void> {
    let nextPageToken: Uint8Array | undefined;
    while (!this.stopped.signal.aborted) {
      let response;
      try {
        response = await this.client.withAbortSignal(this.stopped.signal, () =>
          this.client.workflowService.getWorkflowExecutionHistory({
            namespace: this.namespace,
            execution: this.execution,
            waitNewEvent: true,
            ...(nextPageToken ? { nextPageToken } : {}),
          }),
        );
      } catch {
        if (this.stopped.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS).unref());
        continue;
      }
      for (const event of response.history?.events ?? []) this.record(event);
      for (const [activityId, controller] of this.subscribers) this.check(activityId, controller);
      // A closed workflow's history ends without a token: nothing more will come.
      if (this.ended || !response.nextPageToken || response.nextPageToken.length === 0) return;
      nextPageToken = response.nextPageToken;
    }
  }
}

/** Shared watches by client (workers of one process may use different connections), then execution. */
const watches = new WeakMap<Client, Map<string, RunHistoryWatch>>();

/** Watch the history of the workflow that scheduled the current activity; a no-op outside one. */
export function watchCancelRequest(context: Context): CancelWatch {
  let client: Client | undefined;
  try {
    client = context.client;
  } catch {
    client = undefined; // MockActivityEnvironment without a client
  }
  const execution = context.info.workflowExecution;
  const { activityId, workflowNamespace: namespace } = context.info;
  if (!client || !namespace || !execution?.workflowId || !execution.runId)
    return { signal: new AbortController().signal, stop: () => undefined };
  let byRun = watches.get(client);
  if (!byRun) watches.set(client, (byRun = new Map()));
  const key = `${namespace}/${execution.workflowId}/${execution.runId}`;
  let watch = byRun.get(key);
  if (!watch) {
    const runs = byRun;
    watch = new RunHistoryWatch(client, namespace, { workflowId: execution.workflowId, runId: execution.runId }, () =>
      runs.delete(key),
    );
    byRun.set(key, watch);
  }
  return watch.subscribe(activityId);
}
