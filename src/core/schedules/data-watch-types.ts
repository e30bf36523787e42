/**
 * Contract between `fineflow schedule apply` (src/schedules/data-watch-client.ts) and the
 * `dataWatcher` workflow (workflows/data-watcher.ts). Pure types and names: workflow-safe.
 */
import type { Plan } from '../spec/plan-types';
import type { DataWatchOverlap, DataWatchRevertPolicy, DataWatchState } from './data-watch-state';

/** What a watcher does; `apply` replaces it in a running watcher with the `configure` signal. */
export interface DataWatcherConfig {
  /** Plan a triggered run executes (validated by the CLI, again by the run). */
  readonly plan: Plan;
  readonly planDigest: string;
  /** Watched prefix, s3://bucket/prefix/. */
  readonly path: string;
  readonly pollIntervalMs: number;
  readonly debounceMs: number;
  readonly overlap: DataWatchOverlap;
  /** Objects that must have been added since the last run; 1 = any change. */
  readonly minObjects: number;
  /** A return to a version that already ran: run again, or only record it (absent = ignore). */
  readonly onRevert?: DataWatchRevertPolicy;
  /** Bucket of runs/, cache/ and models/ passed to each run (the client's FINEFLOW_BUCKET). */
  readonly bucket?: string;
  /** Base URL of `fineflow ui` (FINEFLOW_UI_URL): each run links back to its page there (memo and details). */
  readonly uiUrl?: string;
  /** Digest of this config (plan digest + timing + path): equal means `apply` has nothing to send. */
  readonly configDigest: string;
  /** When `schedule apply` sent this config, ISO 8601 (not part of the digest). */
  readonly appliedAt?: string;
}

/** Last look at the prefix, for `schedule describe`. */
export interface DataWatchObservation {
  /**
   * The dataset version id of what the look found. Absent when the prefix was empty: no objects are no dataset
   * version (watchers started before patch `fineflow-s18-watch-empty-no-version` recorded sha256 of nothing here).
   */
  readonly fingerprint?: string;
  readonly count: number;
  readonly bytes: number;
  readonly newestModified?: string;
  /** Workflow time of the observation, ISO 8601. */
  readonly observedAt: string;
}

/** A run the watcher started. */
export interface DataWatchRunRecord {
  readonly runId: string;
  readonly datasetVersion: string;
  /** Workflow time the start was requested, ISO 8601. */
  readonly startedAt: string;
  /** When this version was first observed, ISO 8601: startedAt − firstSeenAt ≈ debounce. */
  readonly firstSeenAt?: string;
  readonly status: 'running' | 'completed' | 'failed' | 'already-started';
  /** Why it started: new data (default), a return to a version that ran (`revert`), or `manual`. */
  readonly kind?: 'revert' | 'manual';
}

export interface DataWatcherInput {
  /** = the watcher's workflow id, `fineflow-<pipeline>-newdata-<hash of path>`. */
  readonly watcherId: string;
  readonly config: DataWatcherConfig;
  /** Carried across continue-as-new. */
  readonly state?: DataWatchState;
  readonly lastObservation?: DataWatchObservation;
  readonly recentRuns?: readonly DataWatchRunRecord[];
  /** `fineflow schedule pause` (carried across continue-as-new): look, but start no run. */
  readonly paused?: { readonly note?: string };
  /** The newest failed look since the last good one (carried across continue-as-new; bounded and redacted). */
  readonly lastLookFailure?: DataWatcherStatus['lastLookFailure'];
  /** Polls per workflow execution before continue-as-new (history stays small). Default 200. */
  readonly pollsPerExecution?: number;
}

/** What the `watcherState` query returns. */
export interface DataWatcherStatus {
  readonly watcherId: string;
  readonly path: string;
  readonly configDigest: string;
  readonly planDigest: string;
  readonly pollIntervalMs: number;
  readonly debounceMs: number;
  readonly overlap: DataWatchOverlap;
  readonly minObjects: number;
  readonly state: DataWatchState;
  readonly lastObservation?: DataWatchObservation;
  readonly recentRuns: readonly DataWatchRunRecord[];
  /** Polls in this execution (resets at continue-as-new). */
  readonly pollsThisExecution: number;
  /** When the running config was applied, ISO 8601 (watchers started before this field: absent). */
  readonly appliedAt?: string;
  readonly onRevert?: DataWatchRevertPolicy;
  /** Present while paused: it looks but starts no run (a manual trigger still runs). */
  readonly paused?: { readonly note?: string };
  /**
   * The newest look that failed since the last one that succeeded (the listing refused, MinIO down): while it lasts,
   * `lastObservation` is older than the poll interval says it should be. Carried across continue-as-new.
   */
  readonly lastLookFailure?: { readonly at: string; readonly error: string };
}

/** Memo key holding the config digest; the watcher rewrites it when a `configure` signal lands. */
export const WATCHER_MEMO_CONFIG_DIGEST = 'configDigest';

export const DATA_WATCHER_SIGNALS = {
  configure: 'configure',
  pause: 'pause',
  unpause: 'unpause',
  trigger: 'trigger',
} as const;
export const DATA_WATCHER_QUERIES = { status: 'watcherState' } as const;

export const DEFAULT_POLLS_PER_EXECUTION = 200;
/** Runs kept in `recentRuns` (older ones are in the visibility store). */
export const RECENT_RUNS_KEPT = 20;
