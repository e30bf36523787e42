/**
 * Answers of the stage panel's checkpoint and cache endpoints and a model version's tags: pure types, shared by the
 * server (src/ui/stage-store-info.ts, src/ui/api.ts) and the page.
 */
import type { CheckpointSummary } from '../../ml/train/checkpoint-summary';

/** One `lookupStageCache` the run made for a stage, with its answer (src/core/run/run-types.ts CacheLookupResult). */
export interface StageCacheLookup {
  readonly key: string;
  readonly hit: boolean;
  /** A hit: the run whose result was reused and when its entry was recorded. */
  readonly fromRunId?: string;
  readonly createdAt?: string;
  /** A miss: why (no entry, what changed since the last entry, too old, artifacts gone …). */
  readonly reason?: string;
  /** No entry was consulted on purpose (a rerun's refresh, an input without a fingerprint). */
  readonly bypassed?: boolean;
}

/** `GET /api/runs/R/stages/S/checkpoints` (src/ui/stage-store-info.ts). */
export type StageCheckpoints =
  | { readonly applies: false; readonly note?: string }
  | {
      readonly applies: true;
      /** The stage was served from the cache: the run whose checkpoints these are. */
      readonly fromRunId?: string;
      readonly prefix: string;
      readonly checkpoints: readonly (CheckpointSummary & {
        readonly best: boolean;
        readonly latest: boolean;
        readonly resume: boolean;
        /** What `keepLast` retention keeps (the newest N and the best epoch). */
        readonly keptByPolicy?: boolean;
      })[];
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
  readonly lookups: readonly StageCacheLookup[];
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
  readonly rerunFromHere: RerunPreviewInfo;
}

/**
 * What a rerun from a stage would do (`previewRerun`, the decision `fineflow rerun` starts with): the stages that
 * run again and those reused, each with why; or why no rerun can start from there.
 * `GET /api/runs/R/stages/S/rerun-preview`, and the Cache section.
 */
export type RerunPreviewInfo =
  | { readonly unavailable: string }
  | {
      /** Stages the new run executes, in plan order. */
      readonly rerun: readonly string[];
      /** Stages whose outputs the new run takes from `fromRunId`; `producedBy`: the run that computed them, when a cache hit. */
      readonly reuse: readonly { readonly stageId: string; readonly fromRunId: string; readonly producedBy?: string }[];
      /** One clause per stage of the plan: why it runs again or is reused. */
      readonly why: { readonly [stageId: string]: string };
      readonly notes: readonly string[];
    };

/** A version's tags as the page shows them (src/ui/api.ts versionTagsView): sorted by key, as `models show` prints. */
export interface VersionTagsView {
  readonly tags: readonly (readonly [string, string])[];
  /** Tags left out past the page's limit (`fineflow models show NAME@VERSION` prints all). */
  readonly omitted?: number;
  /** Why tags.json was not read (too large, not JSON): pipeline code writes it, so it may be anything. */
  readonly error?: string;
}
