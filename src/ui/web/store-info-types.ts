/**
 * Answers of the stage panel's checkpoint and cache endpoints: pure types, shared by the server
 * (src/ui/stage-store-info.ts) and the page.
 */

/** `GET /api/runs/R/stages/S/checkpoints` (src/ui/stage-store-info.ts). */
export type StageCheckpoints =
  | { readonly applies: false; readonly note?: string }
  | {
      readonly applies: true;
      /** The stage was served from the cache: the run whose checkpoints these are. */
      readonly fromRunId?: string;
      readonly prefix: string;
      readonly checkpoints: readonly {
        readonly epoch: number;
        readonly directory: string;
        readonly objects: number;
        readonly bytes: number;
        readonly verified: boolean;
        readonly requestKey?: string;
        readonly bestEpoch?: number;
        readonly best: boolean;
        readonly latest: boolean;
        readonly resume: boolean;
        /** What `keepLast` retention keeps (the newest N and the best epoch). */
        readonly keptByPolicy?: boolean;
      }[];
      readonly truncated: boolean;
      readonly latestEpoch?: number;
      readonly bestEpoch?: number;
      readonly resumeEpoch?: number;
      readonly policy: { readonly everyEpochs?: number; readonly keepLast?: number };
      readonly attempts: readonly {
        readonly attempt: number;
        readonly resumedFromEpoch?: number;
        readonly directory?: string;
      }[];
    };

/** `GET /api/runs/R/stages/S/cache` (src/ui/stage-store-info.ts). */
export interface StageCacheInfo {
  readonly enabled: boolean;
  readonly maxAgeMs?: number;
  readonly refresh?: boolean;
  /** The run's `lookupStageCache` answers for the stage, oldest first. */
  readonly lookups: readonly {
    readonly key: string;
    readonly hit: boolean;
    readonly fromRunId?: string;
    readonly createdAt?: string;
    readonly reason?: string;
    readonly bypassed?: boolean;
  }[];
  /** A rerun reused this stage's outputs from that run. */
  readonly reusedFrom?: string;
  /** The entry under the newest key now: would a new run reuse it. */
  readonly entry?: {
    readonly key: string;
    readonly usable: boolean;
    readonly reason?: string;
    readonly runId?: string;
    readonly createdAt?: string;
  };
  readonly rerunFromHere:
    | { readonly unavailable: string }
    | {
        readonly rerun: readonly string[];
        readonly reuse: readonly { readonly stageId: string; readonly fromRunId: string }[];
        readonly notes: readonly string[];
      };
}
