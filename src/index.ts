/**
 * The public surface of the `fineflow` package (`import … from 'fineflow'`): everything here is
 * supported API; anything reached by a deep import is internal and may change without notice.
 * - the pipeline spec: parse, validate and compile YAML to a plan, diagnostics, the JSON Schema,
 *   the stage-type registry (for custom stage types);
 * - what a custom stage implementation receives and returns, and the error classes it throws
 *   (a class decides whether Temporal retries: InvalidInputError is final, DependencyUnavailableError retries);
 * - the client and worker entry points, for programs that embed Fineflow instead of using the CLI.
 */
export * from './spec';
export {
  FineflowError,
  InvalidInputError,
  DependencyUnavailableError,
  CancelledError,
  NotFoundError,
  AccessDeniedError,
  CorruptDataError,
  ResourceLimitError,
  ConflictError,
  InternalError,
  StageError,
  FatalStageError,
  ERROR_TYPES,
  NON_RETRYABLE_ERROR_TYPES,
  ensureError,
  type ErrorType,
} from './core/errors';
export type { StageImplementation, StageRuntime } from '../activities/stage-runner';
export { checkInputsAgainst } from '../activities/ml-stage-support';
export type { JsonObject, JsonValue } from './core/spec/plan-types';
export type { StageActivityInput, StageActivityResult } from './core/run/run-types';
export { loadConfig, type FineflowConfig } from './config';
export { createWorker, type WorkerOptions, type FineflowWorker } from './worker/run-worker';
export {
  pipeline,
  stage,
  params,
  run,
  compilePipeline,
  pipelineYaml,
  type PipelineDefinition,
  type PipelineSpec,
  type StageHandle,
  type StageEntry,
  type StageSpec,
  type ExecutionSpec,
  type Params,
} from './sdk/pipeline';
export { Ref, expr, type In, type AnyIn } from './sdk/refs';
export type { StageInputs, StageInputValues, StageOutputs, BuiltinStageType } from './sdk/stage-io.generated';
