/**
 * The live part of a run's state, read from Temporal rather than from the run's history: each
 * running stage's latest heartbeat (progress, worker, age: DescribeWorkflowExecution's pending
 * activities) and whether anything polls its pool (src/client/worker-presence.ts). Merged into the
 * `runState` query's answer by the run client, so the CLI and the UI show the same thing:
 * - live progress, which stages no longer signal into the history (src/core/run/progress.ts);
 * - "progress stale" with its age when the attempt's heartbeat is overdue (the worker died or hangs);
 * - "waiting for a worker on pool P" when no worker polls the pool, whether or not the stage had progress;
 * - "no worker can fit this stage" when its `resources:` exceed what every live worker of its pool announces.
 * The run itself never sees any of it.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { formatHumanDuration } from '../core/spec/durations';
import { progressOf, readStageHeartbeat, type StageHeartbeat } from '../core/run/progress';
import type { RunState, StageLiveness, StageState } from '../core/run/run-types';
import { decodeHistoryPayload } from './temporal-connection';
import {
  markStagesNoWorkerFits,
  poolsOfRunningStages,
  waitingForWorkerReason,
  type WorkerPresence,
} from './worker-presence';
import type { WorkerCapacity } from '../core/spec/resources';

/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED. */
const ACTIVITY_SCHEDULED = 1;

/** One pending stage activity of a run, as DescribeWorkflowExecution reports it. */
export interface PendingStageActivity {
  /** Latest heartbeat of the activity (kept by Temporal across its retries). */
  readonly heartbeat: StageHeartbeat;
  /** A worker holds the current attempt (false: waiting in the queue or for its retry). */
  readonly started: boolean;
  readonly lastHeartbeatAtMs?: number;
  readonly lastStartedAtMs?: number;
  readonly worker?: string;
}

/**
 * A heartbeat older than this many intervals is stale; the floor covers clock skew and slow networks. Two, not
 * three: with the default interval (10 s) three made the note appear only at 30 s, when the default heartbeat timeout
 * (30 s) retries the attempt anyway, so a user never saw the warning the note is for. A live worker's heartbeats
 * reach Temporal every interval (the stage runner beats more often; the SDK sends one an interval).
 */
const STALE_INTERVALS = 2;
const STALE_FLOOR_MS = 5_000;

export function staleAfterMs(everyMs: number): number {
  return Math.max(STALE_FLOOR_MS, STALE_INTERVALS * everyMs);
}

export function staleProgressReason(staleForMs: number, worker: string | undefined): string {
  return (
    `progress stale: no heartbeat for ` +
    `${formatHumanDuration(staleForMs)}${worker ? ` from worker ${worker}` : ''}; the worker may have stopped (Temporal retries the attempt once its heartbeat or start-to-close timeout passes)`
  );
}

/**
 * A line without the age of a stale heartbeat ({@link staleProgressReason}): the same stale attempt, whatever its age.
 * A follower that prints a line per change printed it once a second while the age counted up.
 */
export function withoutStaleAge(line: string): string {
  return line.replace(/(progress stale: no heartbeat for )[^;]*?(?= from worker |;)/, '$1…');
}

/** The pending stage activities of a run, keyed by stage id (activities without a stage heartbeat are left out). */
export async function readPendingStageActivities(
  client: Client,
  description: WorkflowExecutionDescription,
): Promise<Map<string, PendingStageActivity>> {
  const found = new Map<string, PendingStageActivity>();
  for (const pending of description.raw.pendingActivities ?? []) {
    const payload = pending.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    const heartbeat = readStageHeartbeat(await decodeHistoryPayload(client, payload).catch(() => undefined));
    if (!heartbeat) continue;
    const lastHeartbeatAtMs = optionalTsToDate(pending.lastHeartbeatTime)?.getTime();
    const lastStartedAtMs = optionalTsToDate(pending.lastStartedTime)?.getTime();
    const previous = found.get(heartbeat.stageId);
    if (previous && previous.heartbeat.attempt > heartbeat.attempt) continue;
    found.set(heartbeat.stageId, {
      heartbeat,
      started: pending.state !== ACTIVITY_SCHEDULED,
      ...(lastHeartbeatAtMs !== undefined ? { lastHeartbeatAtMs } : {}),
      ...(lastStartedAtMs !== undefined ? { lastStartedAtMs } : {}),
      ...(pending.lastWorkerIdentity ? { worker: pending.lastWorkerIdentity } : {}),
    });
  }
  return found;
}

/** A running stage with what Temporal knows of its attempt (pure). */
export function stageWithLiveness(
  stage: StageState,
  pending: PendingStageActivity | undefined,
  poolUnpolled: boolean,
  nowMs: number,
): StageState {
  if (stage.status !== 'running') return stage;
  // The heartbeat belongs to the attempt a worker holds now only if it came after that attempt started.
  const current =
    pending !== undefined &&
    pending.started &&
    pending.heartbeat.attempt > stage.attempts &&
    (pending.lastStartedAtMs === undefined || (pending.lastHeartbeatAtMs ?? 0) >= pending.lastStartedAtMs);
  const live: { -readonly [K in keyof StageLiveness]: StageLiveness[K] } = {};
  let progress = stage.progress;
  const notes: string[] = [];
  if (pending?.started) {
    if (pending.worker) live.worker = pending.worker;
    const lastSign = current ? pending.lastHeartbeatAtMs : pending.lastStartedAtMs;
    if (current && pending.lastHeartbeatAtMs !== undefined) {
      live.heartbeatAt = new Date(pending.lastHeartbeatAtMs).toISOString();
      progress = progressOf(pending.heartbeat) ?? progress;
    }
    if (lastSign !== undefined && nowMs - lastSign > staleAfterMs(pending.heartbeat.everyMs)) {
      live.staleForMs = nowMs - lastSign;
      notes.push(staleProgressReason(live.staleForMs, pending.worker));
    }
  }
  // A stage whose fresh heartbeat shows a worker holds it needs no other: a busy worker does not poll.
  if (poolUnpolled && (live.staleForMs !== undefined || !pending?.started)) {
    live.waitingForWorker = true;
    notes.push(waitingForWorkerReason(stage.pool));
  }
  const withProgress = progress !== undefined ? { ...stage, progress } : stage;
  if (Object.keys(live).length === 0) return withProgress;
  return { ...withProgress, live, ...(notes.length > 0 ? { reason: notes.join('; ') } : {}) };
}

/** The state with liveness merged into every running stage (pure). */
export function applyStageLiveness(
  state: RunState,
  pending: ReadonlyMap<string, PendingStageActivity>,
  unpolledPools: ReadonlySet<string>,
  nowMs: number,
): RunState {
  if (state.endedAt !== undefined) return state;
  const stages = state.stages.map((stage) =>
    stageWithLiveness(stage, pending.get(stage.id), unpolledPools.has(stage.pool), nowMs),
  );
  return { ...state, stages };
}

/**
 * The state with its running stages' liveness, read from Temporal (one describe, unless the caller passes the one it
 * made; one DescribeTaskQueue per pool, cached by `presence`). Best effort: a lookup that fails leaves that part out.
 */
export async function withLiveStages(
  client: Client,
  presence: WorkerPresence,
  state: RunState,
  options: { readonly description?: WorkflowExecutionDescription | undefined; readonly nowMs?: number } = {},
): Promise<RunState> {
  if (state.endedAt !== undefined || !state.stages.some((s) => s.status === 'running')) return state;
  const pools = poolsOfRunningStages(state);
  const described = options.description
    ? Promise.resolve(options.description)
    : client.workflow.getHandle(state.runId).describe();
  const [pending, [unpolled, capacities]] = await Promise.all([
    described
      .then((description) => readPendingStageActivities(client, description))
      .catch(() => new Map<string, PendingStageActivity>()),
    // One DescribeTaskQueue per pool answers both (the second call reads presence's cache).
    presence
      .unpolledPools(pools)
      .then(async (found) => [found, await presence.capacities(pools)] as const)
      .catch(() => [new Set<string>(), new Map<string, readonly WorkerCapacity[]>()] as const),
  ]);
  return markStagesNoWorkerFits(applyStageLiveness(state, pending, unpolled, options.nowMs ?? Date.now()), capacities);
}
