/** Shapes of the JSON API's answers (src/ui/api.ts); run state types come from the runtime itself. */
import type { RunState, StageState } from '../../core/run/run-types';
import type { Diagnostic } from '../../spec/diagnostics';
import type { GraphData } from './dag';
import type { VersionTagsView } from './store-info-types';

export type { Diagnostic, RunState, StageState };

export interface RunSummary {
  readonly runId: string;
  readonly pipeline: string;
  readonly status: string;
  readonly trigger: string;
  readonly startedAt: string;
  readonly endedAt?: string;
}

export interface TrialRow {
  readonly trialId: number;
  readonly state: string;
  readonly params: Record<string, unknown>;
  readonly epochs: number;
  readonly objective?: number;
  readonly best: boolean;
  readonly error?: string;
  /** What Temporal knows of a live trial's attempt (`worker lost: …`), src/client/trial-attempts.ts. */
  readonly note?: string;
}

export interface SweepTable {
  readonly stageId: string;
  readonly source: string;
  readonly metric?: string;
  readonly goal?: string;
  readonly outcome?: string;
  readonly partial: boolean;
  readonly bestTrialId?: number;
  readonly rows: readonly TrialRow[];
  /** The stage was served from the cache: the run whose sweep these trials are. */
  readonly fromRunId?: string;
  /** `warm start: 37 trials from 2 earlier sweeps, …` when the sweep began from earlier sweeps' trials. */
  readonly warmStart?: string;
}

export interface RunDetails {
  readonly state: RunState;
  readonly graph: GraphData;
  readonly sweeps: readonly SweepTable[];
  readonly temporalUrl?: string;
}

export interface ModelCard {
  readonly name: string;
  readonly version: number;
  readonly createdAt: string;
  readonly description?: string;
  readonly source: string;
  readonly lineage: {
    readonly dataset?: string;
    readonly datasetVersion?: string;
    readonly runId?: string;
    readonly stage?: string;
    /** The run and stage that trained the weights (`stage` is the one that registered them). */
    readonly trainedInRun?: string;
    readonly trainedByStage?: string;
    readonly baseModel?: string;
  };
  readonly metrics?: Record<string, number>;
  readonly hyperparameters?: Record<string, unknown>;
  readonly classes?: readonly string[];
  readonly backend?: string;
  /** The registering run's evaluations and gate verdicts (src/core/run/register-evaluations.ts); older cards have none. */
  readonly evaluations?: unknown;
}

export interface ModelSummary {
  readonly name: string;
  readonly versions: number;
  readonly latest: number;
  readonly aliases: Record<string, number>;
  readonly latestCreatedAt?: string;
  /** The latest version's description: what the model is for. */
  readonly latestDescription?: string;
  readonly latestTags: VersionTagsView;
}

export type { RerunPreviewInfo, StageCacheInfo, StageCheckpoints, VersionTagsView } from './store-info-types';
