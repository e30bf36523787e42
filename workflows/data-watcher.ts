/**
 * `dataWatcher`: one long-lived workflow per (pipeline, newData trigger). Every poll interval it
 * fingerprints the watched prefix (activity), feeds the observation to the pure state machine
 * in src/core/schedules/data-watch-state.ts, and starts a `pipelineRun` child for each version the
 * machine releases. The run's workflow id derives from the fingerprint and duplicates are
 * rejected, so a version never runs twice. Everything is workflow state: a worker or server
 * restart resumes where it was. Continue-as-new (carrying the state) keeps the history small.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ParentClosePolicy,
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
import type { DataWatchActivities } from '../activities/data-watch';
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
import { RUN_PAGE_MEMO, runPageDetails, runPageUrl } from '../src/core/run/run-links';

const { fingerprintPrefix } = proxyActivities<DataWatchActivities>({
  startToCloseTimeout: '2m',
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

/** Stop polling (and only wait for the running child) when the history grows past this. */
const HISTORY_EVENTS_SOFT_LIMIT = 10_000;

export async function dataWatcher(input: DataWatcherInput): Promise<void> {
  const { watcherId } = input;
  const pollsPerExecution = input.pollsPerExecution ?? DEFAULT_POLLS_PER_EXECUTION;
  let config = input.config;
  let state: DataWatchState = input.state ?? INITIAL_DATA_WATCH_STATE;
  let lastObservation = input.lastObservation;
  let recentRuns: DataWatchRunRecord[] = [...(input.recentRuns ?? [])];
  let polls = 0;
  let reconfigured = false;
  let paused = input.paused;
  let triggerRequested = false;
  const finishedVersions: string[] = [];
  /** Versions whose start Temporal refused: drained with the finished ones, their count taken back. */
  const notStarted = new Set<string>();
  const detectReverts = patched(REVERTS_PATCH);

  setHandler(configureSignal, (next) => {
    config = next;
    reconfigured = true;
    // `schedule apply` compares this digest to decide whether to signal at all.
    upsertMemo({ [WATCHER_MEMO_CONFIG_DIGEST]: next.configDigest, planDigest: next.planDigest });
  });
  setHandler(pauseSignal, (note) => {
    paused = note ? { note } : {};
    reconfigured = true;
  });
  setHandler(unpauseSignal, () => {
    paused = undefined;
    reconfigured = true;
  });
  setHandler(triggerSignal, () => {
    triggerRequested = true;
    reconfigured = true;
  });
  setHandler(watcherStateQuery, () => ({
    watcherId,
    path: config.path,
    configDigest: config.configDigest,
    planDigest: config.planDigest,
    pollIntervalMs: config.pollIntervalMs,
    debounceMs: config.debounceMs,
    overlap: config.overlap,
    minObjects: config.minObjects,
    state,
    ...(lastObservation ? { lastObservation } : {}),
    recentRuns,
    pollsThisExecution: polls,
    ...(config.appliedAt ? { appliedAt: config.appliedAt } : {}),
    ...(config.onRevert ? { onRevert: config.onRevert } : {}),
    ...(paused ? { paused } : {}),
  }));

  function record(run: DataWatchRunRecord): void {
    recentRuns = [...recentRuns.filter((r) => r.runId !== run.runId), run].slice(-RECENT_RUNS_KEPT);
  }

  async function startRun(action: DataWatchAction, firstSeenAtMs: number | undefined): Promise<void> {
    const { version } = action;
    const restart = action.kind === 'revert' || action.kind === 'manual' ? action.kind : undefined;
    const runId = restart
      ? runIdForRestart(watcherId, version, restart, Date.now())
      : runIdForDataVersion(watcherId, version);
    const startedAt = new Date(Date.now()).toISOString();
    const firstSeenAt = firstSeenAtMs !== undefined ? new Date(firstSeenAtMs).toISOString() : undefined;
    const base = {
      runId,
      datasetVersion: version,
      startedAt,
      ...(firstSeenAt ? { firstSeenAt } : {}),
      ...(restart ? { kind: restart } : {}),
    };
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
    try {
      // By function reference, so the compiler checks `args` against pipelineRun's input (same type name).
      const child = await startChild(pipelineRun, {
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
      });
      record({ ...base, status: 'running' });
      log.info('started run for new data', { runId, datasetVersion: version });
      child.result().then(
        () => {
          record({ ...base, status: 'completed' });
          finishedVersions.push(version);
        },
        (error: unknown) => {
          log.warn('run for new data did not succeed', { runId, error: String(error) });
          record({ ...base, status: 'failed' });
          finishedVersions.push(version);
        },
      );
    } catch (error) {
      // A run for this version exists already (this watcher before a reset, or a restarted
      // watcher): it is not started twice. Any other start failure also frees the slot.
      const already = error instanceof WorkflowExecutionAlreadyStartedError;
      if (already) log.info('run for this dataset version already exists', { runId });
      else log.error('could not start run for new data', { runId, error: String(error) });
      record({ ...base, status: already ? 'already-started' : 'failed' });
      notStarted.add(version);
      finishedVersions.push(version);
    }
  }

  async function apply(event: DataWatchEvent): Promise<number | undefined> {
    const firstSeenAtMs = state.candidate?.sinceMs;
    const step = stepDataWatch(state, event, { ...config, detectReverts });
    state = step.state;
    for (const action of step.actions)
      await startRun(action, event.type === 'observed' ? (firstSeenAtMs ?? event.atMs) : undefined);
    return step.recheckAtMs;
  }

  for (;;) {
    let recheckAtMs: number | undefined;
    try {
      const seen = await fingerprintPrefix(config.path);
      const atMs = Date.now();
      lastObservation = { ...seen, observedAt: new Date(atMs).toISOString() };
      // Paused: keep looking (describe shows the data), decide nothing; unpausing picks up what changed.
      if (!paused) recheckAtMs = await apply({ type: 'observed', version: seen.fingerprint, count: seen.count, atMs });
      if (triggerRequested) {
        triggerRequested = false;
        if (seen.count > 0) await apply({ type: 'triggered', version: seen.fingerprint, count: seen.count, atMs });
        else log.warn('trigger ignored: the watched prefix is empty', { path: config.path });
      }
    } catch (error) {
      log.warn('could not list the watched prefix; trying again at the next poll', {
        path: config.path,
        error: String(error),
      });
    }
    polls++;

    // Drain the finished runs (a queued version may start now).
    while (finishedVersions.length > 0) {
      const version = finishedVersions.shift() as string;
      const started = !notStarted.delete(version);
      await apply({ type: 'run-finished', version, atMs: Date.now(), ...(started ? {} : { started: false }) });
    }

    const idle = state.runningVersion === undefined;
    if (idle && (polls >= pollsPerExecution || workflowInfo().continueAsNewSuggested)) {
      await continueAsNew<typeof dataWatcher>({
        watcherId,
        config,
        state,
        recentRuns,
        pollsPerExecution,
        ...(lastObservation ? { lastObservation } : {}),
        ...(paused ? { paused } : {}),
      });
    }
    if (!idle && workflowInfo().historyLength > HISTORY_EVENTS_SOFT_LIMIT) {
      // Stop adding history: wait for the run, then continue-as-new at the next iteration.
      await condition(() => finishedVersions.length > 0);
      continue;
    }

    const now = Date.now();
    const waitMs = Math.max(
      0,
      Math.min(config.pollIntervalMs, recheckAtMs !== undefined ? recheckAtMs - now : Infinity),
    );
    reconfigured = false;
    await condition(() => finishedVersions.length > 0 || reconfigured, waitMs);
  }
}
