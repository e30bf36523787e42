/**
 * How a data watcher's last look at its prefix reads. A look at an empty prefix (a folder not pushed yet, or emptied)
 * seals nothing and starts no run; watchers started before patch `fineflow-s18-watch-empty-no-version` still record
 * its fingerprint as the version id of no objects (`e3b0c44298fc…`, sha256 of nothing), later ones record none.
 * Shown as `version e3b0c44298fc` it read as a dataset version of 0 objects that exists. Every reader (the UI's
 * schedules page, `fineflow schedule list|describe`) asks this one rule. Pure; bundled into the UI's frontend.
 */
import type { DataWatchObservation } from './data-watch-types';

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
