/**
 * "Waiting for a worker on pool X": a stage whose pool has no worker would otherwise sit in
 * `running` with no sign of why. The run client asks Temporal which activity task queues have
 * pollers (DescribeTaskQueue lists those seen in the last minutes, with when each last polled);
 * src/client/live-stages.ts marks the running stages of pools nobody polls. Client side only: the
 * workflow and its history are untouched.
 */
import { hostname } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import type { RunState, StageState } from '../core/run/run-types';
import type { Plan } from '../core/spec/plan-types';
import { taskQueueForPool } from '../core/run/task-queues';
import {
  capacityFromIdentity,
  describeResources,
  fits,
  type PlannedResources,
  type WorkerCapacity,
} from '../core/spec/resources';

/** temporal.api.enums.v1 values (the proto package is not a direct dependency). */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/** Status text of a running stage no worker can pick up. */
export function waitingForWorkerReason(pool: string): string {
  return (
    `waiting for a worker on pool ${pool}: nothing polls task queue ${taskQueueForPool(pool)}; start one with ` +
    `\`fineflow worker --pool ${pool}\``
  );
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

/**
 * Status text of a stage that asks for more than any worker of its pool declares (`fineflow worker
 * --cpu/--memory/--gpu`).
 */
export function noWorkerFitsReason(
  pool: string,
  request: PlannedResources,
  capacities: readonly WorkerCapacity[],
): string {
  const offers = [...new Set(capacities.map((c) => describeResources(c)))].slice(0, 3);
  return (
    `no worker can fit this stage: it asks for ${describeResources(request)}; the ${capacities.length} worker(s) of pool ${pool} ` +
    `offer ${offers.join(' / ')}; start one with enough (\`fineflow worker --pool ${pool} --cpu N --memory 16Gi --gpu N\`) or lower the stage's resources`
  );
}

/** Whether no worker of the pool can ever hold this running stage, which has not started anywhere (pure). */
function cannotFit(stage: StageState, capacities: ReadonlyMap<string, readonly WorkerCapacity[]>): boolean {
  const offered = capacities.get(stage.pool) ?? [];
  const request = stage.resources;
  return (
    stage.status === 'running' &&
    !stage.progress &&
    request !== undefined &&
    offered.length > 0 &&
    !offered.some((capacity) => fits(request, capacity))
  );
}

/** The running stages whose resources no worker of their pool can fit, with that reason (pure). */
export function markStagesNoWorkerFits(
  state: RunState,
  capacities: ReadonlyMap<string, readonly WorkerCapacity[]>,
): RunState {
  if (!state.stages.some((stage) => cannotFit(stage, capacities))) return state;
  const stages = state.stages.map((stage): StageState => {
    if (!cannotFit(stage, capacities)) return stage;
    const reason = noWorkerFitsReason(stage.pool, stage.resources ?? {}, capacities.get(stage.pool) ?? []);
    return { ...stage, reason: stage.reason ? `${reason}; ${stage.reason}` : reason };
  });
  return { ...state, stages };
}

/** A stage of a plan that no worker now polling its pool can fit. */
export interface UnfitStage {
  readonly stageId: string;
  readonly pool: string;
  readonly line?: number;
  readonly message: string;
}

/**
 * The plan's stages whose `resources:` exceed what every live worker of their pool announces (pure).
 * Pools with no announcing worker are unknown, not unfit: a worker may still join.
 */
export function stagesNoWorkerFits(
  plan: Plan,
  capacities: ReadonlyMap<string, readonly WorkerCapacity[]>,
): UnfitStage[] {
  const unfit: UnfitStage[] = [];
  for (const stage of plan.stages) {
    const offered = capacities.get(stage.pool) ?? [];
    const request = stage.resources;
    if (!request || offered.length === 0 || offered.some((capacity) => fits(request, capacity))) continue;
    unfit.push({
      stageId: stage.id,
      pool: stage.pool,
      ...(stage.line !== undefined ? { line: stage.line } : {}),
      message: noWorkerFitsReason(stage.pool, request, offered),
    });
  }
  return unfit;
}

/**
 * The pollers of one task queue that Temporal saw within `goneAfterMs` (one DescribeTaskQueue): Temporal keeps listing
 * a stopped worker's poller for minutes, so older ones are left out.
 */
async function recentPollers(
  client: Client,
  taskQueue: string,
  taskQueueType: number,
  nowMs: number,
  goneAfterMs = POLLER_GONE_AFTER_MS,
): Promise<{ readonly identity: string }[]> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType,
  });
  return (response.pollers ?? [])
    .filter((poller) => {
      const seen = optionalTsToDate(poller.lastAccessTime)?.getTime();
      return seen === undefined || nowMs - seen <= goneAfterMs;
    })
    .map((poller) => ({ identity: poller.identity ?? '' }));
}

/**
 * Who polled the pool's activity task queue within `goneAfterMs`: how many workers, and the
 * capacities they announce in their identity.
 */
export async function poolWorkers(
  client: Client,
  pool: string,
  goneAfterMs = POLLER_GONE_AFTER_MS,
  nowMs = Date.now(),
): Promise<{ readonly pollers: number; readonly capacities: readonly WorkerCapacity[] }> {
  const pollers = await recentPollers(client, taskQueueForPool(pool), TASK_QUEUE_TYPE_ACTIVITY, nowMs, goneAfterMs);
  const capacities = pollers
    .map((poller) => capacityFromIdentity(poller.identity))
    .filter((c): c is WorkerCapacity => c !== undefined);
  return { pollers: pollers.length, capacities };
}

/** Whether any worker polled the pool's activity task queue within `goneAfterMs`. */
export async function poolHasWorker(
  client: Client,
  pool: string,
  goneAfterMs = POLLER_GONE_AFTER_MS,
  nowMs = Date.now(),
): Promise<boolean> {
  return (await poolWorkers(client, pool, goneAfterMs, nowMs)).pollers > 0;
}

/** Remembers each pool's answer for `ttlMs`, so `watch` polling does not ask Temporal twice a second. */
export class WorkerPresence {
  private readonly seen = new Map<
    string,
    { readonly at: number; readonly polled: boolean; readonly capacities: readonly WorkerCapacity[] }
  >();

  constructor(
    private readonly client: Client,
    private readonly ttlMs = 5_000,
    private readonly clock: () => number = Date.now,
    private readonly pollerGoneAfterMs = POLLER_GONE_AFTER_MS,
  ) {}

  private async workersOf(pool: string): Promise<{ polled: boolean; capacities: readonly WorkerCapacity[] }> {
    const cached = this.seen.get(pool);
    if (cached && this.clock() - cached.at < this.ttlMs) return cached;
    const { pollers, capacities } = await poolWorkers(this.client, pool, this.pollerGoneAfterMs, this.clock());
    const answer = { at: this.clock(), polled: pollers > 0, capacities };
    this.seen.set(pool, answer);
    return answer;
  }

  async unpolledPools(pools: readonly string[]): Promise<Set<string>> {
    const unpolled = new Set<string>();
    for (const pool of pools) if (!(await this.workersOf(pool)).polled) unpolled.add(pool);
    return unpolled;
  }

  /** The capacities announced by each pool's live workers (pools without any are left out). */
  async capacities(pools: readonly string[]): Promise<Map<string, readonly WorkerCapacity[]>> {
    const found = new Map<string, readonly WorkerCapacity[]>();
    for (const pool of pools) {
      const { capacities } = await this.workersOf(pool);
      if (capacities.length > 0) found.set(pool, capacities);
    }
    return found;
  }
}

/**
 * Submit-time check: the plan's stages no worker now polling their pool can fit. Best effort (a
 * failed lookup finds none): workers that join later may fit them, so callers warn, never refuse.
 */
export async function unfitStagesOf(client: Client, plan: Plan): Promise<UnfitStage[]> {
  const pools = [...new Set(plan.stages.filter((s) => s.resources).map((s) => s.pool))];
  if (pools.length === 0) return [];
  try {
    return stagesNoWorkerFits(plan, await new WorkerPresence(client).capacities(pools));
  } catch {
    return [];
  }
}

/** The process of a worker whose identity is Fineflow's default, `<pool>@<host>:<pid>` (src/worker/run-worker.ts). */
export function pollerProcess(identity: string): { readonly host: string; readonly pid: number } | undefined {
  const match = /^[^@\s]+@(\S+):(\d+)(?:\s|$)/.exec(identity);
  if (!match?.[1] || !match[2]) return undefined;
  const pid = Number(match[2]);
  return Number.isSafeInteger(pid) && pid > 0 ? { host: match[1], pid } : undefined;
}

/** Whether process `pid` of this host exists (signal 0 checks without sending; EPERM: it exists, not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A pool's pollers: `running` are known to run now; `seenRecently` were seen by Temporal but cannot be checked. */
export interface PoolPollerCount {
  readonly running: number;
  readonly seenRecently: number;
}

/**
 * Sorts a pool's recent pollers (identities, each counted once over both queues). Temporal lists a poller for up to
 * POLLER_GONE_AFTER_MS after its worker stopped, so a worker of this host is checked by its pid: a stopped one is not
 * counted. A worker elsewhere (or with an identity of its own) counts as seen recently: only Temporal knows of it.
 */
export function countPollers(
  identities: Iterable<string>,
  localHost: string,
  isAlive: (pid: number) => boolean,
): PoolPollerCount {
  let running = 0;
  let seenRecently = 0;
  for (const identity of new Set(identities)) {
    const local = pollerProcess(identity);
    if (local?.host !== localHost) seenRecently += 1;
    else if (isAlive(local.pid)) running += 1;
  }
  return { running, seenRecently };
}

/** Workers polling a pool's activity or workflow task queue (a control worker may poll only the second). */
async function pollersOfPool(client: Client, pool: string, nowMs = Date.now()): Promise<PoolPollerCount> {
  const identities = await Promise.all(
    [TASK_QUEUE_TYPE_ACTIVITY, TASK_QUEUE_TYPE_WORKFLOW].map(async (taskQueueType) =>
      (await recentPollers(client, taskQueueForPool(pool), taskQueueType, nowMs)).map((poller) => poller.identity),
    ),
  );
  return countPollers(identities.flat(), hostname(), processAlive);
}

/**
 * How long Temporal holds an idle worker's poll before it answers it empty (the matching service's long-poll
 * expiration, 1 min); the worker polls again at once. So a live worker's poller was seen at most this long ago: an
 * idle control worker's `lastAccessTime` runs from 0 to ~60 s and back (measured on the dev server).
 */
export const LONG_POLL_MS = 60_000;

/**
 * A workflow-queue poller not seen for this long has stopped: a long poll and a margin for a slow network. Temporal
 * itself keeps listing it for minutes, and until session 20 a poller counted for POLLER_GONE_AFTER_MS (90 s).
 *
 * Why no sooner for a worker elsewhere: DescribeTaskQueue tells only when each poller last began or ended a poll
 * (matching's poller history is written at both, server v1.29.1 `task_queue_partition_manager.go`), never whether a
 * poll is open now (the server's count of open polls is not in the answer; its `stats` are backlog estimates). A
 * worker killed mid-poll ends its poll as its connection drops, so it reads as just seen: measured on the dev server,
 * a `kill -9` at 75 s set the poller's `lastAccessTime` to 75 s, the same reading a live idle worker gives when its
 * minute-long poll ends and it polls again. From that answer alone a dead worker and a live idle one look alike for a
 * long poll; only a process of this host can be checked at once (its pid).
 */
export const WORKFLOW_POLLER_GONE_AFTER_MS = LONG_POLL_MS + 10_000;

/**
 * How many of a workflow queue's pollers are live (pure): seen within `goneAfterMs`, and when the poller is a process
 * of this host (`name@host:pid`), that process still exists, so a worker stopped here is gone at once, not once its
 * poll ages out. A poller elsewhere can only be judged by its age.
 */
export function liveWorkflowPollers(
  pollers: readonly { readonly identity: string; readonly lastAccessMs?: number }[],
  nowMs: number,
  goneAfterMs: number,
  localHost: string,
  isAlive: (pid: number) => boolean,
): number {
  return pollers.filter((poller) => {
    if (poller.lastAccessMs !== undefined && nowMs - poller.lastAccessMs > goneAfterMs) return false;
    const local = pollerProcess(poller.identity);
    return local?.host !== localHost || isAlive(local.pid);
  }).length;
}

/** The live pollers of a workflow task queue: how many, and the pids of those that are processes of this host. */
export interface WorkflowQueuePollers {
  readonly count: number;
  /**
   * A client that remembers the queue as polled checks these again before trusting its memory: when all of them
   * ended (a killed control worker), the queue is no longer polled, which Temporal's listing says only a minute later.
   */
  readonly localPids: readonly number[];
}

/**
 * Who polls a workflow task queue (a run's control queue), by its full name: a run may have been submitted to any
 * control pool. See {@link liveWorkflowPollers}.
 */
export async function workflowQueuePollerSet(
  client: Client,
  taskQueue: string,
  nowMs = Date.now(),
  goneAfterMs = WORKFLOW_POLLER_GONE_AFTER_MS,
): Promise<WorkflowQueuePollers> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
  });
  const pollers = (response.pollers ?? []).map((poller) => {
    const lastAccessMs = optionalTsToDate(poller.lastAccessTime)?.getTime();
    return { identity: poller.identity ?? '', ...(lastAccessMs !== undefined ? { lastAccessMs } : {}) };
  });
  const localHost = hostname();
  const live = pollers.filter((poller) => liveWorkflowPollers([poller], nowMs, goneAfterMs, localHost, processAlive));
  const localPids = live.flatMap((poller) => {
    const local = pollerProcess(poller.identity);
    return local?.host === localHost ? [local.pid] : [];
  });
  return { count: live.length, localPids };
}

/** How many live workers poll a workflow task queue: {@link workflowQueuePollerSet}'s count. */
export async function workflowQueuePollers(
  client: Client,
  taskQueue: string,
  nowMs = Date.now(),
  goneAfterMs = WORKFLOW_POLLER_GONE_AFTER_MS,
): Promise<number> {
  return (await workflowQueuePollerSet(client, taskQueue, nowMs, goneAfterMs)).count;
}

/** What `fineflow dev up` / `dev status` learn about the workers of a stack's pools. */
export type PoolPollers = { readonly pollers: ReadonlyMap<string, PoolPollerCount> } | { readonly error: string };

/** How long `dev up` / `dev status` wait for Temporal's answer about workers before saying they could not tell. */
export const POOL_POLLERS_TIMEOUT_MS = 3_000;

/**
 * How many workers poll each pool's task queues at a Temporal `address` (a local stack: no TLS, no key), sorted by
 * `countPollers` into running and seen recently, two DescribeTaskQueue a pool, all at once, within `timeoutMs` in
 * total. Never throws: a failed or late answer is
 * `{error}`, so a status line says it could not tell instead of failing the command.
 */
export async function pollersOfPools(
  address: string,
  namespace: string,
  pools: readonly string[],
  timeoutMs = POOL_POLLERS_TIMEOUT_MS,
): Promise<PoolPollers> {
  const deadline = Date.now() + timeoutMs;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    const client = new Client({ connection, namespace });
    const open = connection;
    const counts = await open.withDeadline(deadline, () =>
      Promise.all(pools.map(async (pool) => [pool, await pollersOfPool(client, pool)] as const)),
    );
    return { pollers: new Map(counts) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { error: (message.split('\n')[0] ?? '').slice(0, 200) || 'no answer' };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
