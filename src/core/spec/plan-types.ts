/**
 * The plan: the normalised, validated, JSON-serialisable form of a pipeline that a run
 * executes. `fineflow plan --json` prints it; `fineflow submit` passes it to the
 * `pipelineRun` workflow, which validates it again as its first step.
 *
 * This file is the contract between the spec (src/spec) and the runtime (workflows/,
 * activities/). It is pure data: importable from workflow code.
 */

import type { PlannedResources } from './resources';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** Upper bound of `retry.outageBudget` (24 h). */
export const MAX_OUTAGE_BUDGET_MS = 24 * 3_600_000;

/** Retry policy of one stage, in milliseconds so it maps directly onto Temporal's. */
export interface PlannedRetry {
  /** Attempts including the first; 1 means no retry. */
  readonly maxAttempts: number;
  readonly initialIntervalMs: number;
  readonly backoffCoefficient: number;
  /** Upper bound of the interval between attempts. */
  readonly maximumIntervalMs: number;
  /**
   * How long dependency-unavailable failures are retried, on top of (not counted in) maxAttempts.
   * Absent in plans compiled before it existed: the workflow uses the default (15 min).
   */
  readonly outageBudgetMs?: number;
}

export interface PlannedCache {
  /** Whether a previous result with the same content key may be reused. */
  readonly enabled: boolean;
  /** Oldest cache entry that may be reused; absent = no age limit. */
  readonly maxAgeMs?: number;
  /**
   * Recompute instead of reusing: the lookup is skipped (status says `refresh requested by
   * rerun`), and the new result is still recorded, replacing the entry under the same key.
   * Set by `fineflow rerun` on the stages it reruns; absent = false. Ignored when `enabled` is false.
   */
  readonly refresh?: boolean;
}

/** What happens when a stage has exhausted its retries. */
export type OnFailure = 'pause' | 'fail';

export interface PlannedStage {
  /** Stage id: the key under `stages:` in the YAML. */
  readonly id: string;
  /** Stage type name, e.g. `fine-tune`. */
  readonly uses: string;
  /** Version of the stage type that validated this stage; part of the cache key. */
  readonly typeVersion: string;
  /**
   * Inputs as written, with defaults of the stage type applied. Strings may contain
   * `${{ … }}` expressions, resolved at run time from params and upstream outputs.
   */
  readonly with: JsonObject;
  /** Every stage this one waits for: explicit `needs` plus those its expressions reference. Sorted. */
  readonly needs: readonly string[];
  /** A `${{ … }}` condition; the stage is skipped when it is false. */
  readonly when?: string;
  /** Worker pool that runs the stage; its task queue is `taskQueueForPool(pool)`. */
  readonly pool: string;
  /** Start-to-close timeout of one attempt. */
  readonly timeoutMs: number;
  /** The stage fails an attempt when no heartbeat arrives for this long. */
  readonly heartbeatTimeoutMs?: number;
  readonly retry: PlannedRetry;
  readonly onFailure: OnFailure;
  readonly cache: PlannedCache;
  /** 1-based line of the stage in its source file, for messages at run time. */
  readonly line?: number;
  /** `resources:` (merged with `defaults.resources`): what one attempt needs on its worker. */
  readonly resources?: PlannedResources;
  /** `forEach:` / `matrix:`: the stage runs once per item (src/core/run/fan-out.ts). */
  readonly fanOut?: PlannedFanOut;
  /**
   * A stage of the `finally:` section: it runs after every other stage settled, whatever the run's
   * outcome (src/core/run/finally.ts). Finally stages come last in `stages` and `levels`, always
   * have `onFailure: fail`, and no other stage may need them.
   */
  readonly finally?: true;
  /**
   * A `pipeline` stage's child, compiled with the parent: the run starts it as a child `pipelineRun`
   * with the stage's resolved `with.params` as param values (src/core/run/sub-pipeline.ts).
   */
  readonly subPipeline?: PlannedSubPipeline;
  /** Set on the instances of a fan-out (made by the workflow, never in a compiled plan). */
  readonly instance?: { readonly of: string; readonly index: number; readonly item: JsonValue };
}

export interface PlannedSubPipeline {
  /** The child's file as validate named it, e.g. `pipelines/parts/train.yaml`. */
  readonly file: string;
  /**
   * Its plan: params hold the child's defaults (or literal values the stage gives); its stages never
   * pause (a failure fails the child, and the parent stage's `onFailure` decides); no schedule or triggers.
   */
  readonly plan: Plan;
}

/** How a stage fans out over items and when the fan-out counts as a success. */
export interface PlannedFanOut {
  /** A list, or a `${{ }}` expression yielding one (resolved when the stage is ready). */
  readonly forEach?: JsonValue;
  /** Key → list or expression; the items are the cartesian product, as `{key: value}` objects. */
  readonly matrix?: { readonly [key: string]: JsonValue };
  /** Most instances running at once; absent = all. */
  readonly parallelism?: number;
  /** Cancel the running instances as soon as `minSuccessRatio` can no longer be reached. */
  readonly failFast: boolean;
  /** Share of the instances (0–1) that must succeed for the stage to succeed. */
  readonly minSuccessRatio: number;
}

export interface PlannedParam {
  readonly type: 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object';
  /** The value this plan runs with: the YAML default, or a `--set` override. */
  readonly value: JsonValue;
  readonly description?: string;
}

/**
 * Where a worker finds a secret's value (`secrets:` in the YAML): an environment variable or a
 * mounted file of the worker. Only the reference is ever part of a plan; which variables and
 * directories a pipeline may name is the operator's decision (FINEFLOW_SECRET_ENV,
 * FINEFLOW_SECRET_FILE_ROOTS in src/config.ts).
 */
export type SecretReference = { readonly env: string } | { readonly file: string };

export interface Plan {
  readonly apiVersion: 'fineflow/v1';
  readonly pipeline: {
    readonly name: string;
    readonly description?: string;
    readonly labels?: { readonly [key: string]: string };
  };
  /** Path of the YAML the plan came from, as given to the CLI. */
  readonly source?: string;
  readonly params: { readonly [name: string]: PlannedParam };
  /** Stages in a topological order (ties broken by id, so the order is stable). */
  readonly stages: readonly PlannedStage[];
  /** Topological levels: every stage of level N depends only on stages of levels < N. */
  readonly levels: readonly (readonly string[])[];
  readonly schedule?: JsonObject;
  readonly triggers: readonly JsonObject[];
  /** Secret name → reference (never a value); absent when the pipeline declares none. */
  readonly secrets?: { readonly [name: string]: SecretReference };
  /** `parallelism:`: most stages (instances, sweeps) of a run running at once; absent = no limit. */
  readonly parallelism?: number;
}
