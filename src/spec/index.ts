/**
 * Public surface of the pipeline spec: parse, validate, compile to a plan, re-validate a plan,
 * format diagnostics, the stage-type registry and the JSON Schema. Workflow code must import
 * the pure modules directly (./expressions, ./validate-plan), not this index, which pulls in
 * the `yaml` package.
 */
export { parsePipeline, MAX_PIPELINE_BYTES, type ParsedPipeline } from './parse';
export {
  validatePipeline,
  type ValidateOptions,
  type ValidationResult,
  type ValidatedPipeline,
  type ValidatedStage,
  type ValidatedParam,
} from './validate';
export { compilePlan, buildPlan, type CompileOptions, type CompileResult } from './compile';
export { validatePlan } from '../core/spec/validate-plan';
export { formatDiagnostics, sortDiagnostics, errorCount, LineIndex, type Diagnostic } from './diagnostics';
export {
  registerStageType,
  getStageType,
  listStageTypes,
  loadStageTypeModules,
  checkStageTypeDefinition,
  BUILTIN_STAGE_TYPES,
  type StageTypeDefinition,
  type StageOutput,
  type StageInputProblem,
} from './stage-types';
export { type InputSchema, type ObjectSchema, type OutputType, toJsonSchema } from './schema-language';
export { pipelineJsonSchema, pipelineJsonSchemaText } from './json-schema';
export { renderDag, type RenderOptions } from './render-dag';
export {
  resolveStageInputs,
  evaluateCondition,
  collectReferences,
  type ExpressionContext,
  type ExpressionReference,
} from '../core/spec/expressions';
export { parseDuration, formatDuration } from '../core/spec/durations';
export { API_VERSION } from '../core/spec/pipeline-schema';
