/**
 * When and by whom a dataset version was sealed, in the words `fineflow data versions` and the UI's Datasets pages all
 * print: the first seal, and `re-sealed <when> by <who>` when the same contents were sealed again (the watcher right
 * after `data push`, prepare-data reading the prefix as it is). Pure and free of Node built-ins: the web app imports
 * it.
 */

/** A version's seals as its manifest records them (src/datasets/dataset-version.ts). */
export interface VersionSeals {
  /** When and by whom it was last sealed. */
  readonly createdAt: string;
  readonly createdBy?: string;
  /** When and by whom it was first sealed; absent in manifests written before Fineflow kept them. */
  readonly firstSealedAt?: string;
  readonly firstSealedBy?: string;
}

/** Sealed again after its first seal (by someone, or at a time, other than the first). */
export function wasResealed(v: VersionSeals): boolean {
  return v.firstSealedBy !== undefined && (v.firstSealedBy !== v.createdBy || v.firstSealedAt !== v.createdAt);
}

/**
 * When the version was sealed, as every view shows it: its first seal; for a manifest that predates the first-seal
 * record, the only seal known (the last; {@link sealedByWords} then says so).
 */
export function firstSealTime(v: VersionSeals): string {
  return v.firstSealedAt ?? v.createdAt;
}

/** `re-sealed <when> by <who>` when the version was sealed again after its first seal; undefined otherwise. */
export function resealedWords(v: VersionSeals, formatTime: (iso: string) => string = (iso) => iso): string | undefined {
  return wasResealed(v) ? `re-sealed ${formatTime(v.createdAt)} by ${v.createdBy ?? 'unknown'}` : undefined;
}

/**
 * `data push`, `data push (re-sealed 2026-12-05 00:00:05 by watcher)`, or, for a manifest that predates the
 * first-seal record, `watcher (last to seal it)`: the first sealer is never guessed. `formatTime` writes the
 * re-seal's time as the view writes times (default: ISO 8601 as stored).
 */
export function sealedByWords(v: VersionSeals, formatTime?: (iso: string) => string): string {
  if (v.createdBy === undefined) return '';
  if (v.firstSealedBy === undefined) return `${v.createdBy} (last to seal it)`;
  const again = resealedWords(v, formatTime);
  return again ? `${v.firstSealedBy} (${again})` : v.firstSealedBy;
}
