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
 * - An empty prefix never starts a run (a dataset was deleted, not published).
 * - With `minObjects` > 1, a version must hold at least that many objects more than the last
 *   handled one (a few stray uploads do not retrain); with 1, any change counts, including an
 *   object overwritten in place.
 * - At most one run is going at a time. A version that becomes ready meanwhile is queued
 *   (`queue`: only the newest one, it starts when the run ends) or dropped (`skip`).
 */

export type DataWatchOverlap = 'skip' | 'queue';

export interface DataWatchConfig {
  readonly debounceMs: number;
  readonly overlap: DataWatchOverlap;
  /** Objects that must have been added since the last handled version; default 1 (any change). */
  readonly minObjects?: number;
}

export interface DataWatchState {
  /** Version the watcher is done with: the baseline, the last one a run started for, or a skipped one. */
  readonly handledVersion?: string;
  /** Object count of `handledVersion`. */
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
}

export type DataWatchEvent =
  | { readonly type: 'observed'; readonly version: string; readonly count: number; readonly atMs: number }
  | { readonly type: 'run-finished'; readonly version: string; readonly atMs: number };

export type DataWatchAction = { readonly type: 'start-run'; readonly version: string };

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

function startRun(state: DataWatchState, version: string, count: number): DataWatchStep {
  return {
    state: {
      ...without(state, 'candidate', 'queuedVersion', 'queuedCount'),
      handledVersion: version,
      handledCount: count,
      runningVersion: version,
      runsStarted: state.runsStarted + 1,
    },
    actions: [{ type: 'start-run', version }],
  };
}

function ready(state: DataWatchState, version: string, count: number, config: DataWatchConfig): DataWatchStep {
  const settled = without(state, 'candidate');
  if (settled.runningVersion === undefined) return startRun(settled, version, count);
  if (config.overlap === 'queue') return { state: { ...settled, queuedVersion: version, queuedCount: count }, actions: [] };
  return { state: { ...settled, handledVersion: version, handledCount: count }, actions: [] };
}

function observe(state: DataWatchState, event: Extract<DataWatchEvent, { type: 'observed' }>, config: DataWatchConfig): DataWatchStep {
  const { version, count, atMs } = event;
  if (state.handledVersion === undefined || count === 0) {
    // Baseline, or an emptied prefix: nothing to train on, and the next upload is new data.
    return { state: { ...without(state, 'candidate', 'queuedVersion', 'queuedCount'), handledVersion: version, handledCount: count }, actions: [] };
  }
  if (version === state.handledVersion) return { state: without(state, 'candidate', 'queuedVersion', 'queuedCount'), actions: [] };
  if (version === state.queuedVersion) return { state: without(state, 'candidate'), actions: [] };
  const minObjects = config.minObjects ?? 1;
  if (minObjects > 1 && count - (state.handledCount ?? 0) < minObjects) {
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
  const idle = without(state, 'runningVersion');
  if (idle.queuedVersion !== undefined) return startRun(idle, idle.queuedVersion, idle.queuedCount ?? 0);
  return { state: idle, actions: [] };
}

/** One transition of the watcher. */
export function stepDataWatch(state: DataWatchState, event: DataWatchEvent, config: DataWatchConfig): DataWatchStep {
  return event.type === 'observed' ? observe(state, event, config) : runFinished(state, event);
}

/** Replay a sequence of events from the initial state; returns the versions that started runs, in order. */
export function replayDataWatch(events: readonly DataWatchEvent[], config: DataWatchConfig, initial: DataWatchState = INITIAL_DATA_WATCH_STATE): { state: DataWatchState; started: string[] } {
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
