/**
 * The span attributes Fineflow adds to Temporal's OpenTelemetry spans (workflow side in
 * workflows/tracing-interceptors.ts, activity side in src/observability/tracing.ts): ids and names
 * only, never a stage's inputs, params or outputs, so nothing secret or large reaches a collector.
 * Workflow-safe: pure functions of the activity's arguments.
 */

export const TRACE_ATTRIBUTES = {
  runId: 'fineflow.run.id',
  pipeline: 'fineflow.pipeline',
  workflowType: 'fineflow.workflow.type',
  stageId: 'fineflow.stage.id',
  attempt: 'fineflow.stage.attempt',
  pool: 'fineflow.pool',
} as const;

const POOL_QUEUE = /^fineflow-(.+)$/;
/** Ids are bounded in the plan; this only keeps a malformed argument from growing a span. */
const MAX_VALUE = 256;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, MAX_VALUE) : undefined;
}

/**
 * Attributes of one stage activity, read from its first argument (`StageActivityInput.context`, or a
 * sweep's `{context}`) and its task queue. Activities without a stage context (cache look-ups) get
 * the pool only. `temporalAttempt` (activity side) turns the execution's first attempt into this
 * attempt's number within the run, as the stage runner counts it for logs and `status`.
 */
export function stageSpanAttributes(
  firstArgument: unknown,
  taskQueue: string | undefined,
  temporalAttempt = 1,
): Record<string, string | number> {
  const attributes: Record<string, string | number> = {};
  const pool = taskQueue ? POOL_QUEUE.exec(taskQueue)?.[1] : undefined;
  if (pool) attributes[TRACE_ATTRIBUTES.pool] = pool.slice(0, MAX_VALUE);
  const argument = firstArgument !== null && typeof firstArgument === 'object' ? firstArgument : {};
  const nested = (argument as { context?: unknown }).context;
  const context = (nested !== null && typeof nested === 'object' ? nested : argument) as Record<string, unknown>;
  const runId = text(context.runId);
  const stageId = text(context.stageId);
  const pipeline = text(context.pipeline);
  if (runId) attributes[TRACE_ATTRIBUTES.runId] = runId;
  if (stageId) attributes[TRACE_ATTRIBUTES.stageId] = stageId;
  if (pipeline) attributes[TRACE_ATTRIBUTES.pipeline] = pipeline;
  if (typeof context.attempt === 'number' && Number.isSafeInteger(context.attempt))
    attributes[TRACE_ATTRIBUTES.attempt] = context.attempt + Math.max(0, temporalAttempt - 1);
  return attributes;
}
