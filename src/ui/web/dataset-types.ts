/**
 * What /api/datasets and /api/datasets/version answer (src/ui/datasets.ts builds them): shared by the server and the
 * app, so plain types only.
 */

/** One quality check of a data report: what it found and what the policy did. */
export interface DatasetCheckView {
  readonly check: string;
  readonly outcome: 'ok' | 'warned' | 'failed';
  readonly count: number;
}

/** A prepare-data stage that read a version (src/datasets/version-reads.ts). */
export interface DatasetReadView {
  readonly runId: string;
  readonly stage: string;
  /** When it finished reading or failed; while `reading` or `stopped`, when it began. */
  readonly at: string;
  /**
   * `read`: finished, with a verdict; `reading`: it has resolved this version and is reading it now; `failed`: it
   * failed for a reason other than its quality checks (the store, a file it could not parse, a cancel), see `error`;
   * `stopped`: its record says reading but its run has ended (a killed worker), so it never finished.
   */
  readonly state: 'read' | 'reading' | 'failed' | 'stopped';
  /** `failed`: the error's first line (redacted, bounded), its type and the attempt that failed. */
  readonly error?: string;
  readonly errorType?: string;
  readonly attempt?: number;
  /** `failed`: a check stopped the stage (after it wrote its data report). Absent until it has finished reading. */
  readonly verdict?: 'passed' | 'warnings' | 'failed';
  /** The stage wrote a data report (served at /api/runs/<run>/stages/<stage>/report). */
  readonly hasReport: boolean;
  readonly checks: readonly DatasetCheckView[];
  readonly records: number;
  readonly kept: number;
  readonly classes: number;
}

/** One version in a dataset's list: its manifest's header, or why it could not be read. */
export interface DatasetVersionRow {
  readonly id: string;
  /** When last sealed (the manifest's createdAt; when unreadable, when the manifest was written). */
  readonly createdAt: string;
  /** Who sealed it last. */
  readonly createdBy?: string;
  /** When and by whom it was first sealed; absent when its manifest predates that record (only the last is known). */
  readonly firstSealedAt?: string;
  readonly firstSealedBy?: string;
  readonly count?: number;
  readonly bytes?: number;
  /** The newest read's quality verdict, when a prepare-data stage read it. */
  readonly verdict?: DatasetReadView['verdict'];
  /** The newest read's state: no verdict unless `read` (failed: see the version's reads for the error). */
  readonly readState?: DatasetReadView['state'];
  /** Runs' stages that read it (records found). */
  readonly reads: number;
  /** The manifest could not be shown (too large, not a manifest). */
  readonly problem?: string;
}

export interface DatasetView {
  /** `s3://bucket/prefix/`. */
  readonly prefix: string;
  /** Newest first, at most the page's bound. */
  readonly versions: readonly DatasetVersionRow[];
  /** Versions not listed (older than the ones shown). */
  readonly omitted: number;
}

export interface DatasetsView {
  readonly datasets: readonly DatasetView[];
  /** The listing of the store stopped at its bound: there may be more datasets and versions than shown. */
  readonly truncated: boolean;
}

export interface DatasetObjectView {
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
}

/** What changed from the previous version, as `fineflow data diff` prints it (each list capped; counts whole). */
export interface DatasetCompareView {
  readonly from: string;
  readonly added: readonly DatasetObjectView[];
  readonly removed: readonly DatasetObjectView[];
  readonly changed: readonly {
    readonly key: string;
    readonly before: DatasetObjectView;
    readonly after: DatasetObjectView;
  }[];
  readonly counts: {
    readonly added: number;
    readonly removed: number;
    readonly changed: number;
    readonly unchanged: number;
  };
}

export interface DatasetVersionView {
  readonly prefix: string;
  readonly id: string;
  /** When and by whom it was last sealed, and first (absent: not recorded, see {@link DatasetVersionRow}). */
  readonly createdAt: string;
  readonly createdBy: string;
  readonly firstSealedAt?: string;
  readonly firstSealedBy?: string;
  readonly count: number;
  readonly bytes: number;
  /** Objects `offset` … `offset + objects.length - 1` of `count`, in key order. */
  readonly offset: number;
  readonly objects: readonly DatasetObjectView[];
  /** Newest first (at most the bound), and how many records there are. */
  readonly reads: readonly DatasetReadView[];
  readonly readCount: number;
  /** Absent for the first version of its prefix. */
  readonly compare?: DatasetCompareView;
  /** The previous version exists but could not be read (too large, not a manifest). */
  readonly compareProblem?: string;
}
