/**
 * "Waiting for a worker on pool X": a stage whose pool has no worker would otherwise sit in
 * `running` with no sign of why. The run client asks Temporal which activity task queues have
 * pollers (DescribeTaskQueue lists those seen in the last minutes, with when each last polled);
 * src/client/live-stages.ts marks the running stages of pools nobody polls. Client side only: the
 * workflow and its history are untouched.
 */
import type { Client } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import type { RunState } from '../core/run/run-types';
import { taskQueueForPool } from '../core/run/task-queues';

/** temporal.api.enums.v1 values (the proto package is not a direct dependency). */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/** Status text of a running stage no worker can pick up. */
export function waitingForWorkerReason(pool: string): string {
  return `waiting for a worker on pool ${pool}: nothing polls task queue ${taskQueueForPool(pool)}; start one with \`fineflow worker --pool ${pool}\``;
}

/** Pools of the running stages, in first-seen order. */
export function poolsOfRunningStages(state: RunState): string[] {
  return [...new Set(state.stages.filter((s) => s.status === 'running').map((s) => s.pool))];
}

/**
 * A poller seen longer ago than this is gone: an idle worker renews its long poll about every
 * minute, while Temporal lists a stopped worker's poller for minutes after it died.
 */
export const POLLER_GONE_AFTER_MS = 90_000;

/** Whether any worker polled the pool's activity task queue within `goneAfterMs`. */
export async function poolHasWorker(
  client: Client,
  pool: string,
  goneAfterMs = POLLER_GONE_AFTER_MS,
  nowMs = Date.now(),
): Promise<boolean> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueueForPool(pool), kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (response.pollers ?? []).some((poller) => {
    const seen = optionalTsToDate(poller.lastAccessTime)?.getTime();
    return seen === undefined || nowMs - seen <= goneAfterMs;
  });
}

/** Remembers each pool's answer for `ttlMs`, so `watch` polling does not ask Temporal twice a second. */
export class WorkerPresence {
  private readonly seen = new Map<string, { readonly at: number; readonly polled: boolean }>();

  constructor(
    private readonly client: Client,
    private readonly ttlMs = 5_000,
    private readonly clock: () => number = Date.now,
    private readonly pollerGoneAfterMs = POLLER_GONE_AFTER_MS,
  ) {}

  async unpolledPools(pools: readonly string[]): Promise<Set<string>> {
    const unpolled = new Set<string>();
    for (const pool of pools) {
      const cached = this.seen.get(pool);
      let polled = cached && this.clock() - cached.at < this.ttlMs ? cached.polled : undefined;
      if (polled === undefined) {
        polled = await poolHasWorker(this.client, pool, this.pollerGoneAfterMs, this.clock());
        this.seen.set(pool, { at: this.clock(), polled });
      }
      if (!polled) unpolled.add(pool);
    }
    return unpolled;
  }
}
