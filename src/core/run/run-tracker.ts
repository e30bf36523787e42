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
import { gatherInstanceOutputs, instanceStage } from './fan-out';
import { failedFinallyStage, finallyPhaseDone, hasFinallyStages, runOutcome, type RunOutcome } from './finally';
import { paramValues, type ParamValues } from './params';
import { reusedReason } from './reused-stage';
import type {
  CarriedRunState,
  PipelineRunInput,
  RunState,
  RunStatus,
  StageProgress,
  StageState,
  StageStatus,
} from './run-types';

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
  /** Fan-out stage id → its instances (planned stages, in item order). */
  private readonly fanOuts = new Map<string, readonly PlannedStage[]>();
  private readonly instances = new Map<string, PlannedStage>();
  /** Plan stages by id: looked up for every started stage, so not a linear find (1,000-stage plans). */
  private readonly planned = new Map<string, PlannedStage>();
  /** `stages` of the expression context, built once per change rather than once per started stage. */
  private settledForExpressions: { version: number; stages: Record<string, { outputs: JsonObject; status: string }> } =
    { version: -1, stages: {} };
  /** Set when the normal stages have all settled and the `finally:` stages run. */
  private outcome: RunOutcome | undefined;
  private readonly withFinally: boolean;

  readonly startedAt: string;
  /** Executions of this run before the current one (continue-as-new). */
  readonly continuations: number;

  constructor(
    readonly input: PipelineRunInput,
    readonly runId: string,
    startedAt: string,
  ) {
    this.plan = input.plan;
    this.startedAt = input.carried?.startedAt ?? startedAt;
    this.continuations = input.carried?.continuations ?? 0;
    this.params = paramValues(input.plan);
    this.withFinally = hasFinallyStages(input.plan);
    for (const stage of input.plan.stages) {
      this.planned.set(stage.id, stage);
      this.stages.set(stage.id, {
        id: stage.id,
        uses: stage.uses,
        pool: stage.pool,
        status: 'pending',
        attempts: 0,
        ...(stage.resources ? { resources: stage.resources } : {}),
      });
    }
    if (input.carried) {
      this.restore(input.carried);
      return;
    }
    for (const reused of input.reuse ?? []) {
      const state = this.stages.get(reused.stageId);
      if (!state) continue;
      Object.assign(state, {
        status: 'succeeded',
        outputs: reused.outputs,
        reason: reusedReason(reused.fromRunId),
        reusedFrom: { runId: reused.fromRunId, stage: reused.stageId },
      });
    }
  }

  /** The state of an earlier execution of this run (continue-as-new): stages, instances, params, digests. */
  private restore(carried: CarriedRunState): void {
    this.params = carried.params;
    for (const [stageId, digest] of Object.entries(carried.digests)) this.digests.set(stageId, digest);
    for (const [stageId, items] of Object.entries(carried.fanOutItems)) {
      const stage = this.plan.stages.find((s) => s.id === stageId);
      if (!stage) continue;
      const instances = items.map((item, index) => instanceStage(stage, index, item));
      this.fanOuts.set(stageId, instances);
      for (const instance of instances) this.instances.set(instance.id, instance);
    }
    for (const state of carried.stages) {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      const { instanceOf, item, progress, live, ...own } = state;
      if (this.stages.has(own.id) || this.instances.has(own.id)) this.stages.set(own.id, { ...own });
    }
  }

  /** Everything the next execution needs to go on where this one stops (call with nothing in flight). */
  carry(): CarriedRunState {
    return {
      startedAt: this.startedAt,
      params: this.params,
      stages: this.snapshot().stages,
      digests: Object.fromEntries(this.digests),
      fanOutItems: Object.fromEntries(
        [...this.fanOuts].map(([stageId, instances]) => [stageId, instances.map((i) => i.instance?.item ?? null)]),
      ),
      continuations: this.continuations + 1,
    };
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
    const stage = this.instances.get(stageId) ?? this.planned.get(stageId);
    if (!stage) throw new Error(`unknown stage ${stageId}`);
    return stage;
  }

  /** A live status lookup (not a copy): cheap enough to call after every stage completion. */
  statuses(): StageStatuses {
    return this.statusLookup;
  }

  private readonly statusLookup = (stageId: string): StageStatus | undefined => this.stages.get(stageId)?.status;

  /** Status of the normal stages alone: what drives the main scheduling loop. */
  mainStatus(): RunStatus {
    return deriveRunStatus(this.plan, this.statuses());
  }

  /** The run's status: `running` while `finally:` stages are still to run or running. */
  status(): RunStatus {
    const main = this.mainStatus();
    if (!this.withFinally || main === 'running' || main === 'waiting') return main;
    if (!this.outcome || !finallyPhaseDone(this.plan, this.statuses())) return 'running';
    if (this.outcome.status === 'succeeded' && failedFinallyStage(this.plan, this.statuses())) return 'failed';
    return this.outcome.status;
  }

  /** The normal stages are done (`ended` says how): from now on the `finally:` stages run and see the outcome. */
  enterFinally(ended: RunOutcome['status']): RunOutcome {
    this.outcome = runOutcome(this.plan, this.statuses(), ended, (id) =>
      (this.fanOuts.get(id) ?? []).map((instance) => instance.id),
    );
    this.version++;
    return this.outcome;
  }

  /** A `finally:` stage running after the run was cancelled (it gets one attempt). */
  ranFinallyAfterCancel(stage: PlannedStage): boolean {
    return stage.finally === true && this.outcome?.status === 'cancelled';
  }

  /** True once every `finally:` stage settled (or the plan has none). */
  finallyDone(): boolean {
    return finallyPhaseDone(this.plan, this.statuses());
  }

  currentParams(): ParamValues {
    return this.params;
  }

  digestOf(stageId: string): string | undefined {
    return this.digests.get(stageId);
  }

  /** A stage of the plan or an instance of a fan-out. */
  hasStage(stageId: string): boolean {
    return this.stages.has(stageId);
  }

  /**
   * What `${{ }}` expressions see: params and every settled stage's outputs and status, and for
   * an instance of a fan-out its `item`.
   */
  expressionContext(stage?: PlannedStage): ExpressionContext {
    const stages = this.settledStages();
    const run: Record<string, JsonValue> = { id: this.runId, pipeline: this.plan.pipeline.name };
    if (this.outcome) {
      run.status = this.outcome.status;
      run.failedStages = [...this.outcome.failedStages];
      run.cancelledStages = [...this.outcome.cancelledStages];
    }
    // Secret references (never values) resolve to sealed references the stage runner opens on the worker.
    return {
      params: this.params,
      stages,
      run,
      ...(this.plan.secrets ? { secrets: this.plan.secrets } : {}),
      ...(stage?.instance ? { item: stage.instance.item } : {}),
    };
  }

  /** Every settled stage's outputs and status; the same object until the next change (callers only read it). */
  private settledStages(): Record<string, { outputs: JsonObject; status: string }> {
    if (this.settledForExpressions.version === this.version) return this.settledForExpressions.stages;
    const stages: Record<string, { outputs: JsonObject; status: string }> = {};
    for (const [id, state] of this.stages) {
      if (this.instances.has(id)) continue;
      if (state.outputs) stages[id] = { outputs: state.outputs, status: state.status };
      // `stages.X.status` of a stage that ended without outputs (failed, skipped, cancelled).
      else if (state.status !== 'pending' && state.status !== 'running')
        stages[id] = { outputs: {}, status: state.status };
    }
    this.settledForExpressions = { version: this.version, stages };
    return stages;
  }

  /**
   * Start a fan-out: the stage runs, one pending instance per item. A retried fan-out keeps the
   * instances that already succeeded for the same item and runs the others again.
   */
  expandFanOut(stage: PlannedStage, items: readonly JsonValue[], now: string): void {
    const previous = this.fanOuts.get(stage.id) ?? [];
    const planned = items.map((item, index) => instanceStage(stage, index, item));
    for (const instance of planned) {
      const before = previous.find((p) => p.id === instance.id);
      const state = this.stages.get(instance.id);
      const keep =
        before !== undefined &&
        state !== undefined &&
        (state.status === 'succeeded' || state.status === 'cached') &&
        JSON.stringify(before.instance?.item) === JSON.stringify(instance.instance?.item);
      this.instances.set(instance.id, instance);
      if (!keep)
        this.stages.set(instance.id, {
          id: instance.id,
          uses: instance.uses,
          pool: instance.pool,
          status: 'pending',
          attempts: state?.attempts ?? 0,
          ...(instance.resources ? { resources: instance.resources } : {}),
        });
    }
    for (const stale of previous.slice(items.length)) {
      this.instances.delete(stale.id);
      this.stages.delete(stale.id);
    }
    this.fanOuts.set(stage.id, planned);
    this.markRunning(stage.id, now);
  }

  /** Instances of a running or settled fan-out, in item order; undefined for other stages. */
  instancesOf(stageId: string): readonly PlannedStage[] | undefined {
    return this.fanOuts.get(stageId);
  }

  /** Ids of the fan-outs whose instances are being run. */
  runningFanOuts(): string[] {
    return [...this.fanOuts.keys()].filter((id) => this.stage(id).status === 'running');
  }

  /** The fan-in: the stage succeeds with the lists of its instances' outputs, in item order. */
  completeFanOut(stageId: string, now: string): void {
    const instances = this.fanOuts.get(stageId) ?? [];
    const outputs = instances.map((i) => {
      const state = this.stage(i.id);
      return state.status === 'succeeded' || state.status === 'cached' ? state.outputs : undefined;
    });
    const items = instances.map((i) => i.instance?.item ?? null);
    this.markSucceeded(stageId, now, gatherInstanceOutputs(items, outputs), 1);
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

  /** The child run of a `pipeline` stage's current attempt (src/core/run/sub-pipeline.ts), for `status` to nest. */
  noteChildRun(stageId: string, childRunId: string): void {
    this.update(stageId, { childRunId }, false);
  }

  /**
   * Why a running stage runs although it could have been cached (refresh, unfingerprintable input); kept when it
   * succeeds.
   */
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

  /**
   * The run was cancelled while stages waited for a retry: they end `cancelled` (their error stays, saying why they
   * waited), so the final state does not show a run that ended with a stage still waiting.
   */
  cancelWaiting(now: string): void {
    for (const id of this.waitingStages())
      this.update(id, { status: 'cancelled', endedAt: now, reason: 'the run was cancelled while this stage waited' });
  }

  waitingStages(): string[] {
    return [...this.stages.values()].filter((state) => state.status === 'waiting').map((state) => state.id);
  }

  /** Running stages that do work themselves: a fan-out is running while its instances are, and is not counted. */
  runningWork(): number {
    let count = 0;
    for (const state of this.stages.values()) if (state.status === 'running' && !this.fanOuts.has(state.id)) count++;
    return count;
  }

  runningStages(): string[] {
    return [...this.stages.values()].filter((state) => state.status === 'running').map((state) => state.id);
  }

  /** The run ended; `status` overrides the derived one (a cancelled run may have had no stage running). */
  end(now: string, status: RunStatus): void {
    this.endedAt = now;
    this.finalStatus = status;
  }

  /**
   * Every stage and instance in snapshot order, as the tracker holds them (no copies): for the
   * workflow's per-step stage table, which must not copy 1,000 stages after every completion.
   */
  stageStates(): readonly StageState[] {
    const states: StageState[] = [];
    for (const stage of this.plan.stages) {
      states.push(this.stage(stage.id));
      for (const instance of this.fanOuts.get(stage.id) ?? []) states.push(this.stage(instance.id));
    }
    return states;
  }

  snapshot(): RunState {
    return {
      runId: this.runId,
      pipeline: this.plan.pipeline.name,
      status: this.finalStatus ?? this.status(),
      trigger: this.input.trigger,
      startedAt: this.startedAt,
      ...(this.endedAt ? { endedAt: this.endedAt } : {}),
      stages: this.plan.stages.flatMap((stage) => [
        { ...this.stage(stage.id), ...(stage.finally ? { finally: true as const } : {}) },
        ...(this.fanOuts.get(stage.id) ?? []).map((instance) => ({
          ...this.stage(instance.id),
          instanceOf: stage.id,
          item: instance.instance?.item ?? null,
        })),
      ]),
      params: this.params,
    };
  }
}
