/**
 * Who sealed a dataset version, in the words `fineflow data versions` and the UI's Datasets page both print: the first
 * sealer, and the last when another sealed the same contents again (the watcher right after `data push`, prepare-data
 * reading the prefix as it is). Pure and free of Node built-ins: the web app imports it.
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
 * `data push`, `data push (re-sealed by watcher)`, or, for a manifest that predates the first-seal record,
 * `watcher (last to seal it)`: the first sealer is never guessed.
 */
export function sealedByWords(v: VersionSeals): string {
  if (v.createdBy === undefined) return '';
  if (v.firstSealedBy === undefined) return `${v.createdBy} (last to seal it)`;
  return wasResealed(v) && v.firstSealedBy !== v.createdBy
    ? `${v.firstSealedBy} (re-sealed by ${v.createdBy})`
    : v.firstSealedBy;
}
