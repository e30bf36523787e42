/**
 * The new-data trigger's decisions as a pure state machine: given what the watcher observed
 * under a prefix (a fingerprint per poll) and when its runs finished, which dataset versions
 * start a run. The `dataWatcher` workflow feeds it events and carries its state across
 * continue-as-new; the unit tests replay sequences without Temporal.
 *
 * Rules:
 * - The first observation is the baseline: data already there when the watcher starts does not
 *   start a run (`fineflow submit` is for that). No change, no run.
 * - A new version must stay unchanged for `debounceMs` (measured between observations) before it
 *   starts a run, so a burst of uploads gives one run for the final version.
 * - An empty prefix never starts a run (a dataset was deleted, not published). It is no dataset version either:
 *   the state records it as `handledCount: 0` with no `handledVersion`, not as the id of no objects, so the
 *   next upload is new data (a run after the debounce) exactly as when that id was recorded.
 * - With `minObjects` > 1, a version must hold at least that many objects more than the last
 *   handled one (a few stray uploads do not retrain); with 1, any change counts, including an
 *   object overwritten in place.
 * - At most one run is going at a time. A version that becomes ready meanwhile is queued
 *   (`queue`: only the newest one, it starts when the run ends) or dropped (`skip`).
 * - A ready version that already ran (objects were deleted and the prefix returned to it) is a
 *   revert: recorded (`lastRevert`, `reverts`) and, with `onRevert: retrain`, run again (a run
 *   with its own id); with `ignore` (default) it only becomes the handled version.
 * - `runsStarted` counts runs that really started: a start Temporal refused is taken back.
 */

export type DataWatchOverlap = 'skip' | 'queue';

export type DataWatchRevertPolicy = 'ignore' | 'retrain';

export interface DataWatchConfig {
  readonly debounceMs: number;
  readonly overlap: DataWatchOverlap;
  /** Objects that must have been added since the last handled version; default 1 (any change). */
  readonly minObjects?: number;
  /** What a return to a version that already ran does; default `ignore`. */
  readonly onRevert?: DataWatchRevertPolicy;
  /**
   * Whether reverts are told apart at all. Watchers whose history began before this existed keep
   * the old decisions on replay (the workflow passes `patched(…)`); default true.
   */
  readonly detectReverts?: boolean;
  /**
   * Whether an empty look is recorded as no version (`handledCount: 0`, no `handledVersion`) rather than as the
   * version id of no objects. Decides no run either way; watchers whose history began before this keep
   * recording the id on replay (the workflow passes `patched(…)`); default true.
   */
  readonly emptyHasNoVersion?: boolean;
}

/** Versions remembered as having run, for revert detection. */
export const RAN_VERSIONS_KEPT = 100;

export interface DataWatchState {
  /**
   * Version the watcher is done with: the baseline, the last one a run started for, or a skipped one. Absent
   * before the first look, and when the last handled look found the prefix empty (then `handledCount` is 0).
   */
  readonly handledVersion?: string;
  /** Object count of `handledVersion` (0: the prefix was empty). Absent before the first look. */
  readonly handledCount?: number;
  /** A version that differs from `handledVersion`, waiting out the debounce since `sinceMs`. */
  readonly candidate?: { readonly version: string; readonly count: number; readonly sinceMs: number };
  /** Version whose run is going. */
  readonly runningVersion?: string;
  /** Version that became ready while a run was going (`queue` policy), and its object count. */
  readonly queuedVersion?: string;
  readonly queuedCount?: number;
  /** Runs started since the watcher began (carried across continue-as-new). */
  readonly runsStarted: number;
  /** Newest versions that started a run, oldest first (at most RAN_VERSIONS_KEPT). */
  readonly ranVersions?: readonly string[];
  /** Returns to a version that already ran. */
  readonly reverts?: number;
  readonly lastRevert?: {
    readonly version: string;
    /** The version it returned from; absent when the prefix was empty before (or, recorded earlier, unknown). */
    readonly from?: string;
    readonly atMs: number;
    readonly retrained: boolean;
  };
  /** Set while the queued version is a manual trigger's. */
  readonly queuedManual?: boolean;
}

export type DataWatchEvent =
  | { readonly type: 'observed'; readonly version: string; readonly count: number; readonly atMs: number }
  /** `started: false`: Temporal refused the start (a run with that id exists); the count is taken back. */
  | { readonly type: 'run-finished'; readonly version: string; readonly atMs: number; readonly started?: boolean }
  /** `fineflow schedule trigger`: run the current version now (or when the going run ends). */
  | { readonly type: 'triggered'; readonly version: string; readonly count: number; readonly atMs: number };

/** `kind` decides the run's id: one per version (`new`), or one per start (`revert`, `manual`). */
export type DataWatchAction = {
  readonly type: 'start-run';
  readonly version: string;
  readonly kind?: 'new' | 'revert' | 'manual';
};

export interface DataWatchStep {
  readonly state: DataWatchState;
  readonly actions: readonly DataWatchAction[];
  /** Check again no later than this (end of a debounce window), in addition to the poll interval. */
  readonly recheckAtMs?: number;
}

export const INITIAL_DATA_WATCH_STATE: DataWatchState = Object.freeze({ runsStarted: 0 });

function without<K extends keyof DataWatchState>(state: DataWatchState, ...keys: K[]): DataWatchState {
  const copy: { -readonly [P in keyof DataWatchState]?: DataWatchState[P] } = { ...state };
  for (const key of keys) delete copy[key];
  return copy as DataWatchState;
}

function startRun(
  state: DataWatchState,
  version: string,
  count: number,
  kind: 'new' | 'revert' | 'manual' = 'new',
): DataWatchStep {
  const ran = [...(state.ranVersions ?? []).filter((v) => v !== version), version].slice(-RAN_VERSIONS_KEPT);
  return {
    state: {
      ...without(state, 'candidate', 'queuedVersion', 'queuedCount', 'queuedManual'),
      handledVersion: version,
      handledCount: count,
      runningVersion: version,
      runsStarted: state.runsStarted + 1,
      ranVersions: ran,
    },
    actions: [{ type: 'start-run', version, ...(kind === 'new' ? {} : { kind }) }],
  };
}

function ready(state: DataWatchState, version: string, count: number, config: DataWatchConfig): DataWatchStep {
  const settled = without(state, 'candidate');
  const isRevert =
    config.detectReverts !== false &&
    version !== settled.handledVersion &&
    (settled.ranVersions ?? []).includes(version);
  if (isRevert) {
    const retrain = config.onRevert === 'retrain';
    const lastRevert = {
      version,
      ...(settled.handledVersion ? { from: settled.handledVersion } : {}),
      atMs: state.candidate?.sinceMs ?? 0,
      retrained: retrain && settled.runningVersion === undefined,
    };
    const noted: DataWatchState = { ...settled, reverts: (settled.reverts ?? 0) + 1, lastRevert };
    if (!retrain || settled.runningVersion !== undefined)
      return { state: { ...noted, handledVersion: version, handledCount: count }, actions: [] };
    return startRun(noted, version, count, 'revert');
  }
  if (settled.runningVersion === undefined) return startRun(settled, version, count);
  if (config.overlap === 'queue')
    return { state: { ...settled, queuedVersion: version, queuedCount: count }, actions: [] };
  return { state: { ...settled, handledVersion: version, handledCount: count }, actions: [] };
}

function observe(
  state: DataWatchState,
  event: Extract<DataWatchEvent, { type: 'observed' }>,
  config: DataWatchConfig,
): DataWatchStep {
  const { version, count, atMs } = event;
  if ((state.handledVersion === undefined && state.handledCount === undefined) || count === 0) {
    // Baseline, or an emptied prefix: nothing to train on, and the next upload is new data.
    const cleared = without(state, 'candidate', 'queuedVersion', 'queuedCount');
    if (count === 0 && config.emptyHasNoVersion !== false)
      return { state: { ...without(cleared, 'handledVersion'), handledCount: 0 }, actions: [] };
    return { state: { ...cleared, handledVersion: version, handledCount: count }, actions: [] };
  }
  if (version === state.handledVersion)
    return { state: without(state, 'candidate', 'queuedVersion', 'queuedCount'), actions: [] };
  if (version === state.queuedVersion) return { state: without(state, 'candidate'), actions: [] };
  const minObjects = config.minObjects ?? 1;
  // A return to a version that ran (objects deleted) is an event whatever its size.
  const ranBefore = config.detectReverts !== false && (state.ranVersions ?? []).includes(version);
  if (minObjects > 1 && !ranBefore && count - (state.handledCount ?? 0) < minObjects) {
    // Not enough new objects yet: keep watching, the version is not handled.
    return { state: without(state, 'candidate'), actions: [] };
  }
  if (state.candidate?.version === version) {
    if (atMs - state.candidate.sinceMs >= config.debounceMs) return ready(state, version, count, config);
    return { state, actions: [], recheckAtMs: state.candidate.sinceMs + config.debounceMs };
  }
  const waiting: DataWatchState = { ...state, candidate: { version, count, sinceMs: atMs } };
  if (config.debounceMs <= 0) return ready(waiting, version, count, config);
  return { state: waiting, actions: [], recheckAtMs: atMs + config.debounceMs };
}

function runFinished(state: DataWatchState, event: Extract<DataWatchEvent, { type: 'run-finished' }>): DataWatchStep {
  if (state.runningVersion !== event.version) return { state, actions: [] };
  const counted = event.started === false ? { ...state, runsStarted: Math.max(0, state.runsStarted - 1) } : state;
  const idle = without(counted, 'runningVersion');
  if (idle.queuedVersion !== undefined)
    return startRun(idle, idle.queuedVersion, idle.queuedCount ?? 0, idle.queuedManual ? 'manual' : 'new');
  return { state: idle, actions: [] };
}

function triggered(state: DataWatchState, event: Extract<DataWatchEvent, { type: 'triggered' }>): DataWatchStep {
  // A manual start waits for the going run whatever the overlap policy: it was asked for.
  if (state.runningVersion !== undefined)
    return {
      state: {
        ...without(state, 'candidate'),
        queuedVersion: event.version,
        queuedCount: event.count,
        queuedManual: true,
      },
      actions: [],
    };
  return startRun(state, event.version, event.count, 'manual');
}

/** One transition of the watcher. */
export function stepDataWatch(state: DataWatchState, event: DataWatchEvent, config: DataWatchConfig): DataWatchStep {
  if (event.type === 'observed') return observe(state, event, config);
  return event.type === 'triggered' ? triggered(state, event) : runFinished(state, event);
}

/** Replay a sequence of events from the initial state; returns the versions that started runs, in order. */
export function replayDataWatch(
  events: readonly DataWatchEvent[],
  config: DataWatchConfig,
  initial: DataWatchState = INITIAL_DATA_WATCH_STATE,
): { state: DataWatchState; started: string[] } {
  let state = initial;
  const started: string[] = [];
  for (const event of events) {
    const step = stepDataWatch(state, event, config);
    state = step.state;
    for (const action of step.actions) started.push(action.version);
  }
  return { state, started };
}

/**
 * Workflow id of the run for one dataset version: derived from the fingerprint, so a second
 * start for the same version (a replay, a restarted watcher) is rejected by Temporal.
 */
export function runIdForDataVersion(watcherId: string, version: string): string {
  return `${watcherId}-${version.slice(0, 16)}`;
}

/**
 * Workflow id of a run that is not the first for its version (a revert retrained, a manual
 * trigger): one per start, from the workflow time of the start, so two never share an id or a
 * `runs/<id>/` folder.
 */
export function runIdForRestart(watcherId: string, version: string, kind: 'revert' | 'manual', atMs: number): string {
  return `${runIdForDataVersion(watcherId, version)}-${kind}-${atMs}`;
}
