/**
 * How a data watcher's last look at its prefix reads. A look at an empty prefix (a folder not pushed yet, or emptied)
 * seals nothing and starts no run; watchers started before patch `fineflow-s18-watch-empty-no-version` still record
 * its fingerprint as the version id of no objects (`e3b0c44298fc…`, sha256 of nothing), later ones record none.
 * Shown as `version e3b0c44298fc` it read as a dataset version of 0 objects that exists. Every reader (the UI's
 * schedules page, `fineflow schedule list|describe`) asks this one rule. Pure; bundled into the UI's frontend.
 */
import type { DataWatchObservation } from './data-watch-types';
import { formatHumanDuration } from '../spec/durations';
import { redactUrisIn } from '../security/redact';

/** What an empty look says instead of a version. */
export const EMPTY_LOOK = 'nothing under the prefix (no dataset version; no run starts until data arrives)';

/**
 * A look as its readers get it: the watcher's own record, or its JSON (where a reader may meet `null` for "no
 * fingerprint", as the web app's fetch of `/api/schedules` may).
 */
export type LookRecord = Omit<Pick<DataWatchObservation, 'fingerprint' | 'count'>, 'fingerprint'> & {
  readonly fingerprint?: string | null;
  readonly bytes?: number;
};

/** Whether a look found nothing to run: no objects, or no version recorded for them. */
export function isEmptyLook(look: LookRecord): boolean {
  return look.count === 0 || look.fingerprint === undefined || look.fingerprint === null;
}

/** `12 objects, version 0123456789ab`, or {@link EMPTY_LOOK}; with `bytes`, the size after the count. */
export function lookText(look: LookRecord, options: { readonly bytes?: boolean } = {}): string {
  if (isEmptyLook(look) || !look.fingerprint) return EMPTY_LOOK;
  const size = options.bytes && look.bytes !== undefined ? `, ${look.bytes} bytes` : '';
  return `${look.count} objects${size}, version ${look.fingerprint.slice(0, 12)}`;
}

/** A data watcher a trigger reaches: its prefix (or its id, when its status could not be read) and its last look. */
export interface TriggeredWatcher {
  readonly path: string;
  readonly lastObservation?: LookRecord;
}

/** What a trigger of a pipeline starts, in the words the UI's confirmation and `fineflow schedule trigger` share. */
export interface TriggerReach {
  /** One sentence per kind of outcome. */
  readonly lines: readonly string[];
  /** Prefixes whose last look found nothing: their watcher ignores the trigger (it only logs a warning). */
  readonly emptyPaths: readonly string[];
  /** No schedule, and every watcher's last look found nothing: the trigger starts no run at all. */
  readonly startsNothing: boolean;
}

/**
 * What a trigger starts: one run of the schedule, or per watcher the version its prefix holds; a watcher whose last
 * look found nothing starts none. A watcher with no look yet (or whose status could not be read) is counted as one
 * that runs: it looks again when triggered.
 */
export function triggerReach(pipeline: string, schedule: boolean, watchers: readonly TriggeredWatcher[]): TriggerReach {
  if (schedule)
    return {
      lines: ['Starts one run of the schedule’s plan now; the schedule’s overlap policy applies.'],
      emptyPaths: [],
      startsNothing: false,
    };
  const isEmpty = (w: TriggeredWatcher): boolean => w.lastObservation !== undefined && isEmptyLook(w.lastObservation);
  const emptyPaths = watchers.filter(isEmpty).map((w) => w.path);
  const others = watchers.filter((w) => !isEmpty(w)).map((w) => w.path);
  const lines = [
    others.length > 0
      ? `Each data watcher of ${pipeline} runs the dataset version its prefix holds now: ${others.join(', ')}.`
      : undefined,
    emptyPaths.length > 0
      ? `Nothing was under ${emptyPaths.join(', ')} at the last look: no run starts there until data arrives.`
      : undefined,
  ].filter((line): line is string => line !== undefined);
  return { lines, emptyPaths, startsNothing: watchers.length > 0 && others.length === 0 };
}

/** Characters of a failed look's error kept in the watcher's state. */
const LOOK_FAILURE_CHARS = 300;

/**
 * A failed look's error as the watcher keeps it in its state (and logs it): redacted by the one rule every recorded
 * error text follows (src/core/security/redact.ts: a URI's user info and query, access keys, credential pairs), then
 * bounded. Redacted first, so a credential cut by the bound cannot slip through half-matched.
 */
export function lookFailureText(error: string): string {
  const redacted = redactUrisIn(error);
  return redacted.length > LOOK_FAILURE_CHARS ? `${redacted.slice(0, LOOK_FAILURE_CHARS - 1)}…` : redacted;
}

/** Looks a watcher may miss before its last one reads as stale: a slow listing, a retry, a worker restart. */
const MISSED_LOOKS = 2;
/** Slack beyond the missed looks (a loaded control worker takes its time). */
const STALE_SLACK_MS = 30_000;

/**
 * Why a watcher's last look is older than its poll interval allows, in words, or undefined while it is current. A
 * watcher's state is what its last finished workflow task left: a look that failed (it says why), a look no worker
 * ran, or a workflow task that keeps failing leave the old look in place while the state still answers.
 */
export function staleLookText(
  watcher: {
    readonly pollIntervalMs: number;
    readonly lastObservation?: { readonly observedAt: string };
    readonly lastLookFailure?: { readonly at: string; readonly error: string };
  },
  nowMs: number,
): string | undefined {
  if (watcher.lastLookFailure) return `the last look failed: ${watcher.lastLookFailure.error}`;
  const at = watcher.lastObservation ? Date.parse(watcher.lastObservation.observedAt) : Number.NaN;
  if (!Number.isFinite(at)) return undefined;
  const lateMs = nowMs - at;
  if (lateMs <= MISSED_LOOKS * watcher.pollIntervalMs + STALE_SLACK_MS) return undefined;
  return (
    `no look for ${formatHumanDuration(lateMs)} (it looks every ${formatHumanDuration(watcher.pollIntervalMs)}): ` +
    'is a control worker running and keeping up? `fineflow dev status` lists the pools with a worker'
  );
}
