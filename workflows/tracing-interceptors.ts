/**
 * Workflow interceptors bundled only when tracing is on (src/observability/tracing.ts). Temporal's
 * OpenTelemetry interceptors make the spans — `RunWorkflow:pipelineRun` (the run) and one
 * `StartActivity:<stage type>` per stage execution it schedules — and send them out of the sandbox
 * through the worker's `exporter` sink; the Fineflow interceptors below run inside those spans and
 * add Fineflow's ids. Only ids and names become attributes, never inputs or params (they may hold
 * secret references or data). Setting attributes issues no command, so histories replay unchanged.
 *
 * Bundled into workflows, so: no Node built-ins.
 */
import { trace, type Attributes } from '@opentelemetry/api';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import {
  workflowInfo,
  type ActivityInput,
  type Next,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { TRACE_ATTRIBUTES, stageSpanAttributes } from '../src/core/run/trace-attributes';

/** The run's own attributes on `RunWorkflow:*`: pipeline name and Fineflow run id. */
class FineflowRunAttributes implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const info = workflowInfo();
    const attributes: Attributes = {
      [TRACE_ATTRIBUTES.runId]: info.workflowId,
      [TRACE_ATTRIBUTES.workflowType]: info.workflowType,
    };
    const pipeline = (input.args[0] as { plan?: { pipeline?: { name?: unknown } } } | undefined)?.plan?.pipeline;
    if (typeof pipeline?.name === 'string') attributes[TRACE_ATTRIBUTES.pipeline] = pipeline.name.slice(0, 256);
    trace.getActiveSpan()?.setAttributes(attributes);
    return next(input);
  }
}

/** A stage's attributes on `StartActivity:<stage type>`: stage id, attempt and pool. */
class FineflowStageAttributes implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    trace.getActiveSpan()?.setAttributes(stageSpanAttributes(input.args[0], input.options.taskQueue));
    return next(input);
  }
}

// Temporal's interceptors first: ours run inside the spans they open.
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new OpenTelemetryInboundInterceptor(), new FineflowRunAttributes()],
  outbound: [new OpenTelemetryOutboundInterceptor(), new FineflowStageAttributes()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
