/**
 * What validation produces (./validate.ts): the checked pipeline as plain data with source spans, for
 * the plan compiler (./compile.ts) and the sub-pipeline checks (./sub-pipelines.ts). Types only.
 */
import type { PARAM_TYPES } from '../core/spec/pipeline-schema';
import type { JsonObject, JsonValue, SecretReference } from '../core/spec/plan-types';
import type { Diagnostic } from './diagnostics';
import type { Span } from './located';
import type { StageTypeDefinition } from './stage-type-definition';

export type ParamType = (typeof PARAM_TYPES)[number];

export interface ValidatedParam {
  readonly name: string;
  readonly type: ParamType;
  /** The default; absent when the param must be given with `--set`. */
  readonly default?: JsonValue;
  readonly description?: string;
  readonly span: Span;
}

export interface ValidatedStage {
  readonly id: string;
  /** Written under `finally:` (runs after every other stage, src/core/run/finally.ts). */
  readonly finally?: true;
  readonly uses: string;
  readonly type?: StageTypeDefinition;
  readonly with: JsonObject;
  /** Stages this one waits for: explicit `needs` plus stages referenced in `with` and `when`. */
  readonly dependsOn: readonly string[];
  readonly when?: string;
  /** Stage-level settings as written (pool, timeout, retry, …), merged with `defaults` by the compiler. */
  readonly settings: JsonObject;
  /** `forEach`, `matrix`, `parallelism`, `failFast`, `minSuccessRatio` as written; absent without forEach/matrix. */
  readonly fanOut?: JsonObject;
  readonly description?: string;
  /** A `pipeline` stage's child, validated (./sub-pipelines.ts); absent when it could not be used. */
  readonly subPipeline?: ValidatedSubPipeline;
  readonly span: Span;
  readonly line: number;
}

export interface ValidatedPipeline {
  readonly name: string;
  readonly description?: string;
  readonly labels?: { readonly [key: string]: string };
  readonly params: readonly ValidatedParam[];
  readonly defaults: JsonObject;
  readonly stages: readonly ValidatedStage[];
  readonly schedule?: JsonObject;
  readonly triggers: readonly JsonObject[];
  /** Secret name → reference (env variable or file of the worker); never a value. */
  readonly secrets: { readonly [name: string]: SecretReference };
  /** `parallelism:`: most stages of a run running at once. */
  readonly parallelism?: number;
}

export interface ValidationResult {
  readonly file: string;
  readonly text: string;
  /** Sorted by position. */
  readonly diagnostics: readonly Diagnostic[];
  /** Present when the file parsed into a mapping (even with errors elsewhere). */
  readonly pipeline?: ValidatedPipeline;
  readonly valid: boolean;
  /** Text of every sub-pipeline file read, by the name its diagnostics carry (for their excerpts). */
  readonly texts?: { readonly [file: string]: string };
}

/** The child of one `pipeline` stage, as validated. */
export interface ValidatedSubPipeline {
  readonly file: string;
  readonly pipeline: ValidatedPipeline;
}
