/**
 * `dataWatcher`: one long-lived workflow per (pipeline, newData trigger). Every poll interval it
 * fingerprints the watched prefix (activity), feeds the observation to the pure state machine
 * in src/core/schedules/data-watch-state.ts, and starts a `pipelineRun` child for each version the
 * machine releases. The run's workflow id derives from the fingerprint and duplicates are
 * rejected, so a version never runs twice. Everything is workflow state: a worker or server
 * restart resumes where it was. Continue-as-new (carrying the state) keeps the history small.
 */
import { WorkflowExecutionAlreadyStartedError, type WithWorkflowArgs } from '@temporalio/common';
import {
  ParentClosePolicy,
  type ChildWorkflowOptions,
  WorkflowIdReusePolicy,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { DataWatchActivities, PrefixFingerprint } from '../activities/data-watch';
import {
  INITIAL_DATA_WATCH_STATE,
  runIdForDataVersion,
  runIdForRestart,
  stepDataWatch,
  type DataWatchAction,
  type DataWatchEvent,
  type DataWatchState,
} from '../src/core/schedules/data-watch-state';
import {
  DATA_WATCHER_QUERIES,
  DATA_WATCHER_SIGNALS,
  DEFAULT_POLLS_PER_EXECUTION,
  RECENT_RUNS_KEPT,
  WATCHER_MEMO_CONFIG_DIGEST,
  type DataWatchRunRecord,
  type DataWatcherConfig,
  type DataWatcherInput,
  type DataWatcherStatus,
} from '../src/core/schedules/data-watch-types';
import { RUN_WORKFLOW_TASK_TIMEOUT_MS, type PipelineRunInput } from '../src/core/run/run-types';
import { pipelineRun } from './pipeline-run';
import { searchAttributesForRun } from '../src/core/schedules/schedule-search-attributes';
import { lookFailureText } from '../src/core/schedules/watch-look';
import { describeStageFailure } from '../src/core/run/failures';
import { redactUrisIn } from '../src/core/security/redact';
import { RUN_PAGE_MEMO, runPageDetails, runPageUrl } from '../src/core/run/run-links';

const { fingerprintPrefix } = proxyActivities<DataWatchActivities>({
  startToCloseTimeout: '2m',
  // The poll heartbeats every 5 s: one lost with its worker (a control worker restarting) is handed out again
  // after 20 s instead of 2 minutes.
  heartbeatTimeout: '20s',
  // A listing that fails (MinIO down) is retried a few times, then this poll is skipped.
  retry: { maximumAttempts: 3, initialInterval: '2s', backoffCoefficient: 2 },
});

export const configureSignal = defineSignal<[DataWatcherConfig]>(DATA_WATCHER_SIGNALS.configure);
export const watcherStateQuery = defineQuery<DataWatcherStatus>(DATA_WATCHER_QUERIES.status);
export const pauseSignal = defineSignal<[string | undefined]>(DATA_WATCHER_SIGNALS.pause);
export const unpauseSignal = defineSignal<[]>(DATA_WATCHER_SIGNALS.unpause);
export const triggerSignal = defineSignal<[]>(DATA_WATCHER_SIGNALS.trigger);

/**
 * Revert detection changes which runs start: histories recorded before it replay without it
 * (docs/operations.md, "Lifecycle of a versioned change").
 */
const REVERTS_PATCH = 'fineflow-19-data-watch-reverts';

/**
 * Runs started before this had Temporal's default 10 s workflow task timeout; since, they get the
 * one `fineflow submit` gives (RUN_WORKFLOW_TASK_TIMEOUT_MS). A field of the start-child command.
 */
const RUN_TASK_TIMEOUT_PATCH = 'fineflow-17-watcher-run-task-timeout';

/**
 * An empty look is recorded as no version (no `handledVersion`, no `lastObservation.fingerprint`) instead of the
 * version id of no objects. It decides nothing differently; histories recorded before it replay with the old state.
 */
const EMPTY_NO_VERSION_PATCH = 'fineflow-s18-watch-empty-no-version';

/** patched(): watchers recorded before this started runs without their Fineflow page (memo, details). */
const RUN_PAGE_LINK_PATCH = 'fineflow-16-watcher-run-page-link';

/**
 * A run's memo, with the way back from the Temporal UI to Fineflow when the config has it (memo
 * entry and workflow details, as `fineflow submit` gives its runs).
 */
function withRunPageLink(
  config: DataWatcherConfig,
  runId: string,
  memo: Record<string, unknown>,
): { memo: Record<string, unknown>; staticDetails?: string } {
  if (!config.uiUrl || !patched(RUN_PAGE_LINK_PATCH)) return { memo };
  return {
    memo: { ...memo, [RUN_PAGE_MEMO]: runPageUrl(config.uiUrl, runId) },
    staticDetails: runPageDetails(config.uiUrl, runId),
  };
}

/** An error as the watcher logs it: the innermost failure's message, redacted (src/core/security/redact.ts). */
function errorText(error: unknown): string {
  return redactUrisIn(describeStageFailure(error).error.message);
}

/** Stop polling (and only wait for the running child) when the history grows past this. */
const HISTORY_EVENTS_SOFT_LIMIT = 10_000;

export async function dataWatcher(input: DataWatcherInput): Promise<void> {
  const watcher = new WatcherState(input);
  watcher.registerHandlers();
  for (;;) {
    let recheckAtMs: number | undefined;
    try {
      const seen = await fingerprintPrefix(watcher.config.path);
      const atMs = Date.now();
      watcher.observed(seen, atMs);
      // Paused: keep looking (describe shows the data), decide nothing; unpausing picks up what changed.
      if (!watcher.paused)
        recheckAtMs = await watcher.apply({ type: 'observed', version: seen.fingerprint, count: seen.count, atMs });
      if (watcher.triggerRequested) {
        watcher.triggerRequested = false;
        if (seen.count > 0)
          await watcher.apply({ type: 'triggered', version: seen.fingerprint, count: seen.count, atMs });
        else log.warn('trigger ignored: the watched prefix is empty', { path: watcher.config.path });
      }
    } catch (error) {
      // Said in the state too: the last look stays the old one, and its reader is told why. The activity's own
      // error, not the ActivityFailure around it ("Activity task failed" says nothing).
      const why = lookFailureText(describeStageFailure(error).error.message);
      watcher.lastLookFailure = { at: new Date(Date.now()).toISOString(), error: why };
      log.warn('could not list the watched prefix; trying again at the next poll', {
        path: watcher.config.path,
        error: why,
      });
    }
    watcher.polls++;

    // Drain the finished runs (a queued version may start now).
    while (watcher.finishedVersions.length > 0) {
      const version = watcher.finishedVersions.shift() as string;
      const started = !watcher.notStarted.delete(version);
      await watcher.apply({ type: 'run-finished', version, atMs: Date.now(), ...(started ? {} : { started: false }) });
    }

    const idle = watcher.state.runningVersion === undefined;
    if (idle && (watcher.polls >= watcher.pollsPerExecution || workflowInfo().continueAsNewSuggested)) {
      await continueAsNew<typeof dataWatcher>(watcher.carried());
    }
    if (!idle && workflowInfo().historyLength > HISTORY_EVENTS_SOFT_LIMIT) {
      // Stop adding history: wait for the run, then continue-as-new at the next iteration.
      await condition(() => watcher.finishedVersions.length > 0);
      continue;
    }

    const waitMs = watcher.nextWaitMs(recheckAtMs);
    watcher.reconfigured = false;
    await condition(() => watcher.finishedVersions.length > 0 || watcher.reconfigured, waitMs);
  }
}

/**
 * Everything a watcher execution knows, changed by its signals and its loop. The loop in dataWatcher keeps every
 * await of an iteration in its place, so the runs that finish while it polls are drained exactly when they were.
 */
class WatcherState {
  readonly watcherId: string;
  readonly pollsPerExecution: number;
  config: DataWatcherConfig;
  state: DataWatchState;
  lastObservation: DataWatcherInput['lastObservation'];
  recentRuns: DataWatchRunRecord[];
  polls = 0;
  reconfigured = false;
  paused: DataWatcherInput['paused'];
  triggerRequested = false;
  /** The newest failed look since the last good one (status only). */
  lastLookFailure: DataWatcherStatus['lastLookFailure'];
  readonly finishedVersions: string[] = [];
  /** Versions whose start Temporal refused: drained with the finished ones, their count taken back. */
  readonly notStarted = new Set<string>();
  private readonly detectReverts: boolean;
  private readonly emptyHasNoVersion: boolean;

  constructor(input: DataWatcherInput) {
    this.watcherId = input.watcherId;
    this.pollsPerExecution = input.pollsPerExecution ?? DEFAULT_POLLS_PER_EXECUTION;
    this.config = input.config;
    this.state = input.state ?? INITIAL_DATA_WATCH_STATE;
    this.lastObservation = input.lastObservation;
    this.recentRuns = [...(input.recentRuns ?? [])];
    this.paused = input.paused;
    this.lastLookFailure = input.lastLookFailure;
    this.detectReverts = patched(REVERTS_PATCH);
    this.emptyHasNoVersion = patched(EMPTY_NO_VERSION_PATCH);
  }

  /** Remember a look at the prefix for `describe`; an empty one names no version. */
  observed(seen: PrefixFingerprint, atMs: number): void {
    const observedAt = new Date(atMs).toISOString();
    this.lastLookFailure = undefined;
    if (seen.count === 0 && this.emptyHasNoVersion) {
      const { fingerprint: _none, ...rest } = seen;
      this.lastObservation = { ...rest, observedAt };
    } else this.lastObservation = { ...seen, observedAt };
  }

  registerHandlers(): void {
    setHandler(configureSignal, (next) => {
      this.config = next;
      this.reconfigured = true;
      // `schedule apply` compares this digest to decide whether to signal at all.
      upsertMemo({ [WATCHER_MEMO_CONFIG_DIGEST]: next.configDigest, planDigest: next.planDigest });
    });
    setHandler(pauseSignal, (note) => {
      this.paused = note ? { note } : {};
      this.reconfigured = true;
    });
    setHandler(unpauseSignal, () => {
      this.paused = undefined;
      this.reconfigured = true;
    });
    setHandler(triggerSignal, () => {
      this.triggerRequested = true;
      this.reconfigured = true;
    });
    setHandler(watcherStateQuery, () => this.status());
  }

  /** Feed one event to the state machine and start the runs it releases; when to look again, if sooner. */
  async apply(event: DataWatchEvent): Promise<number | undefined> {
    const firstSeenAtMs = this.state.candidate?.sinceMs;
    const step = stepDataWatch(this.state, event, {
      ...this.config,
      detectReverts: this.detectReverts,
      emptyHasNoVersion: this.emptyHasNoVersion,
    });
    this.state = step.state;
    for (const action of step.actions)
      await this.startRun(action, event.type === 'observed' ? (firstSeenAtMs ?? event.atMs) : undefined);
    return step.recheckAtMs;
  }

  /** The input of the next execution (continue-as-new carries the state). */
  carried(): DataWatcherInput {
    const { lastObservation, paused, lastLookFailure } = this;
    return {
      watcherId: this.watcherId,
      config: this.config,
      state: this.state,
      recentRuns: this.recentRuns,
      pollsPerExecution: this.pollsPerExecution,
      ...(lastObservation ? { lastObservation } : {}),
      ...(paused ? { paused } : {}),
      // Until the next execution's first look ends (a failing one retries for seconds, a hanging one for minutes),
      // its status would show the old look with no word of why.
      ...(lastLookFailure ? { lastLookFailure } : {}),
    };
  }

  /** Until the next poll, or the state machine's recheck when that comes first. */
  nextWaitMs(recheckAtMs: number | undefined): number {
    const now = Date.now();
    return Math.max(0, Math.min(this.config.pollIntervalMs, recheckAtMs !== undefined ? recheckAtMs - now : Infinity));
  }

  private status(): DataWatcherStatus {
    const { config, lastObservation, paused } = this;
    return {
      watcherId: this.watcherId,
      path: config.path,
      configDigest: config.configDigest,
      planDigest: config.planDigest,
      pollIntervalMs: config.pollIntervalMs,
      debounceMs: config.debounceMs,
      overlap: config.overlap,
      minObjects: config.minObjects,
      state: this.state,
      ...(lastObservation ? { lastObservation } : {}),
      recentRuns: this.recentRuns,
      pollsThisExecution: this.polls,
      ...(config.appliedAt ? { appliedAt: config.appliedAt } : {}),
      ...(config.onRevert ? { onRevert: config.onRevert } : {}),
      ...(paused ? { paused } : {}),
      ...(this.lastLookFailure ? { lastLookFailure: this.lastLookFailure } : {}),
    };
  }

  private record(run: DataWatchRunRecord): void {
    this.recentRuns = [...this.recentRuns.filter((r) => r.runId !== run.runId), run].slice(-RECENT_RUNS_KEPT);
  }

  /** Start the run for a released version as an abandoned child; its end is queued for the loop to drain. */
  private async startRun(action: DataWatchAction, firstSeenAtMs: number | undefined): Promise<void> {
    const { version } = action;
    const restart = action.kind === 'revert' || action.kind === 'manual' ? action.kind : undefined;
    const runId = restart
      ? runIdForRestart(this.watcherId, version, restart, Date.now())
      : runIdForDataVersion(this.watcherId, version);
    const startedAt = new Date(Date.now()).toISOString();
    const firstSeenAt = firstSeenAtMs !== undefined ? new Date(firstSeenAtMs).toISOString() : undefined;
    const base = {
      runId,
      datasetVersion: version,
      startedAt,
      ...(firstSeenAt ? { firstSeenAt } : {}),
      ...(restart ? { kind: restart } : {}),
    };
    try {
      // By function reference, so the compiler checks `args` against pipelineRun's input (same type name).
      const child = await startChild(pipelineRun, this.runStartOptions(runId, version, restart));
      this.record({ ...base, status: 'running' });
      log.info('started run for new data', { runId, datasetVersion: version });
      child.result().then(
        () => {
          this.record({ ...base, status: 'completed' });
          this.finishedVersions.push(version);
        },
        (error: unknown) => {
          log.warn('run for new data did not succeed', { runId, error: errorText(error) });
          this.record({ ...base, status: 'failed' });
          this.finishedVersions.push(version);
        },
      );
    } catch (error) {
      // A run for this version exists already (this watcher before a reset, or a restarted
      // watcher): it is not started twice. Any other start failure also frees the slot.
      const already = error instanceof WorkflowExecutionAlreadyStartedError;
      if (already) log.info('run for this dataset version already exists', { runId });
      else log.error('could not start run for new data', { runId, error: errorText(error) });
      this.record({ ...base, status: already ? 'already-started' : 'failed' });
      this.notStarted.add(version);
      this.finishedVersions.push(version);
    }
  }

  /** How a version's run is started: its input, id, memo, search attributes and summary. */
  private runStartOptions(
    runId: string,
    version: string,
    restart: 'revert' | 'manual' | undefined,
  ): WithWorkflowArgs<typeof pipelineRun, Omit<ChildWorkflowOptions, 'typeInfo'>> {
    const { config, watcherId, lastObservation } = this;
    const triggerKind = restart === 'manual' ? 'manual' : 'new-data';
    const runInput: PipelineRunInput = {
      plan: config.plan,
      trigger: {
        kind: 'new-data',
        watcherId,
        path: config.path,
        datasetVersion: version,
        ...(restart === 'manual' ? { manual: true } : restart === 'revert' ? { revert: true } : {}),
      },
      ...(config.bucket ? { bucket: config.bucket } : {}),
    };
    return {
      workflowId: runId,
      // Runs go where the watcher runs: the control pool's queue (or a test's own).
      taskQueue: workflowInfo().taskQueue,
      ...(patched(RUN_TASK_TIMEOUT_PATCH) ? { workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT_MS } : {}),
      args: [runInput],
      // The run outlives the watcher: deleting the trigger must not kill a training run.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      ...withRunPageLink(config, runId, {
        pipeline: config.plan.pipeline.name,
        trigger: triggerKind,
        watcherId,
        path: config.path,
        datasetVersion: version,
        planDigest: config.planDigest,
        ...(lastObservation?.fingerprint === version
          ? { datasetObjects: lastObservation.count, datasetBytes: lastObservation.bytes }
          : {}),
      }),
      typedSearchAttributes: searchAttributesForRun(config.plan.pipeline.name, triggerKind),
      staticSummary:
        restart === 'manual'
          ? `manual trigger: data under ${config.path}`
          : `${restart === 'revert' ? 'data returned to an earlier version' : 'new data'} under ${config.path}`,
    };
  }
}
