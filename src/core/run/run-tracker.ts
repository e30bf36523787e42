/**
 * The state of one pipeline run as the workflow sees it: every stage's status, attempts,
 * times, outputs and live progress, plus the params (which `fineflow retry --set` may
 * change). The workflow mutates it through these methods; the `runState` query returns
 * {@link RunTracker.snapshot}. Pure and deterministic: timestamps are passed in (the workflow
 * passes its deterministic clock).
 */
import type { ExpressionContext } from '../spec/expressions';
import type { JsonObject, JsonValue, Plan, PlannedStage } from '../spec/plan-types';
import { deriveRunStatus, type StageStatuses } from './dag';
import { paramValues, type ParamValues } from './params';
import type { PipelineRunInput, RunState, RunStatus, StageProgress, StageState, StageStatus } from './run-types';

type MutableStageState = { -readonly [K in keyof StageState]: StageState[K] };

export interface StageError {
  readonly type: string;
  readonly message: string;
}

export class RunTracker {
  readonly plan: Plan;
  private readonly stages = new Map<string, MutableStageState>();
  private params: ParamValues;
  private endedAt: string | undefined;
  private finalStatus: RunStatus | undefined;
  /** Content digests of stage outputs (from the cache), fed into downstream cache keys. */
  private readonly digests = new Map<string, string>();
  /** Bumped on every change that can unblock scheduling; the workflow waits on it. */
  private version = 0;

  constructor(
    readonly input: PipelineRunInput,
    readonly runId: string,
    readonly startedAt: string,
  ) {
    this.plan = input.plan;
    this.params = paramValues(input.plan);
    for (const stage of input.plan.stages) {
      this.stages.set(stage.id, { id: stage.id, uses: stage.uses, pool: stage.pool, status: 'pending', attempts: 0 });
    }
    for (const reused of input.reuse ?? []) {
      const state = this.stages.get(reused.stageId);
      if (!state) continue;
      Object.assign(state, {
        status: 'succeeded',
        outputs: reused.outputs,
        reason: `reused from run ${reused.fromRunId}`,
      });
    }
  }

  get changeCount(): number {
    return this.version;
  }

  stage(stageId: string): StageState {
    const state = this.stages.get(stageId);
    if (!state) throw new Error(`unknown stage ${stageId}`);
    return state;
  }

  plannedStage(stageId: string): PlannedStage {
    const stage = this.plan.stages.find((s) => s.id === stageId);
    if (!stage) throw new Error(`unknown stage ${stageId}`);
    return stage;
  }

  /** A live status lookup (not a copy): cheap enough to call after every stage completion. */
  statuses(): StageStatuses {
    return this.statusLookup;
  }

  private readonly statusLookup = (stageId: string): StageStatus | undefined => this.stages.get(stageId)?.status;

  status(): RunStatus {
    return deriveRunStatus(this.plan, this.statuses());
  }

  currentParams(): ParamValues {
    return this.params;
  }

  digestOf(stageId: string): string | undefined {
    return this.digests.get(stageId);
  }

  /** What `${{ }}` expressions see: params and every settled stage's outputs and status. */
  expressionContext(): ExpressionContext {
    const stages: Record<string, { outputs: JsonObject; status: string }> = {};
    for (const [id, state] of this.stages) {
      if (state.outputs) stages[id] = { outputs: state.outputs, status: state.status };
    }
    // Secret references (never values) resolve to sealed references the stage runner opens on the worker.
    return { params: this.params, stages, ...(this.plan.secrets ? { secrets: this.plan.secrets } : {}) };
  }

  private update(stageId: string, patch: Partial<MutableStageState>, bump = true): void {
    const state = this.stages.get(stageId);
    if (!state) throw new Error(`unknown stage ${stageId}`);
    Object.assign(state, patch);
    for (const key of Object.keys(patch) as (keyof MutableStageState)[]) {
      if (patch[key] === undefined) delete state[key];
    }
    if (bump) this.version++;
  }

  markRunning(stageId: string, now: string): void {
    this.update(stageId, {
      status: 'running',
      startedAt: now,
      endedAt: undefined,
      error: undefined,
      progress: undefined,
      reason: undefined,
    });
  }

  /** Why a running stage runs although it could have been cached (refresh, unfingerprintable input); kept when it succeeds. */
  noteReason(stageId: string, reason: string): void {
    this.update(stageId, { reason });
  }

  markSucceeded(stageId: string, now: string, outputs: JsonObject, attempts: number, digest?: string): void {
    if (digest) this.digests.set(stageId, digest);
    this.update(stageId, {
      status: 'succeeded',
      endedAt: now,
      outputs,
      attempts: this.stage(stageId).attempts + attempts,
      progress: undefined,
    });
  }

  markCached(stageId: string, now: string, outputs: JsonObject, digest: string, reason: string): void {
    this.digests.set(stageId, digest);
    this.update(stageId, {
      status: 'cached',
      startedAt: this.stage(stageId).startedAt ?? now,
      endedAt: now,
      outputs,
      reason,
    });
  }

  markSkipped(stageId: string, now: string, reason: string): void {
    this.update(stageId, { status: 'skipped', endedAt: now, reason });
  }

  /** A failed stage: `failed` ends the run, `waiting` (onFailure: pause) waits for a retry. */
  markFailed(
    stageId: string,
    now: string,
    status: Extract<StageStatus, 'failed' | 'waiting'>,
    error: StageError,
    attempts: number,
  ): void {
    this.update(stageId, {
      status,
      endedAt: now,
      error,
      attempts: this.stage(stageId).attempts + attempts,
      progress: undefined,
    });
  }

  markCancelled(stageId: string, now: string, attempts: number): void {
    this.update(stageId, {
      status: 'cancelled',
      endedAt: now,
      attempts: this.stage(stageId).attempts + attempts,
      progress: undefined,
    });
  }

  /** Live progress relayed from the activity's heartbeats; ignored once the stage stopped running. */
  recordProgress(stageId: string, progress: StageProgress): void {
    const state = this.stages.get(stageId);
    if (!state || state.status !== 'running') return;
    this.update(stageId, { progress }, false);
  }

  /** `fineflow retry`: waiting stages go back to pending, with param overrides applied first. */
  retry(stageIds: readonly string[], params: { readonly [name: string]: JsonValue }): void {
    this.params = { ...this.params, ...params };
    for (const id of stageIds)
      this.update(id, { status: 'pending', reason: `retried after ${this.stage(id).attempts} attempt(s)` });
    this.version++;
  }

  waitingStages(): string[] {
    return [...this.stages.values()].filter((state) => state.status === 'waiting').map((state) => state.id);
  }

  runningStages(): string[] {
    return [...this.stages.values()].filter((state) => state.status === 'running').map((state) => state.id);
  }

  /** The run ended; `status` overrides the derived one (a cancelled run may have had no stage running). */
  end(now: string, status: RunStatus): void {
    this.endedAt = now;
    this.finalStatus = status;
  }

  snapshot(): RunState {
    return {
      runId: this.runId,
      pipeline: this.plan.pipeline.name,
      status: this.finalStatus ?? this.status(),
      trigger: this.input.trigger,
      startedAt: this.startedAt,
      ...(this.endedAt ? { endedAt: this.endedAt } : {}),
      stages: this.plan.stages.map((stage) => ({ ...this.stage(stage.id) })),
      params: this.params,
    };
  }
}
