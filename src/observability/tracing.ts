/**
 * OpenTelemetry traces of a worker, through Temporal's interceptors (@temporalio/interceptors-opentelemetry).
 * Off unless the operator sets an OTLP endpoint (src/config.ts: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
 * One trace per run:
 *   RunWorkflow:pipelineRun            the run (control worker; parent: the client's StartWorkflow span if any)
 *   └ StartActivity:<stage type>       one stage execution the run scheduled (retries stay under it)
 *     └ RunActivity:<stage type>       one attempt, on the stage's pool
 * Sweeps add StartChildWorkflow:hyperparameterSweep → RunWorkflow:hyperparameterSweep → trials. Fineflow's
 * ids (src/core/run/trace-attributes.ts) are attributes; inputs, params and outputs never are. Error
 * messages recorded on spans were already scrubbed by the stage runner; URIs in them lose credentials here too.
 *
 * Workflow spans are made inside the sandbox and leave it through the `exporter` sink; the workflow
 * bundle then needs the interceptor module (TRACING_WORKFLOW_MODULE), so src/worker/run-worker.ts
 * bundles separately when tracing is on.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
  type TimedEvent,
} from '@opentelemetry/sdk-trace-base';
import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  InjectedSinks,
  Next,
} from '@temporalio/worker';
import {
  OpenTelemetryActivityInboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import path from 'node:path';
import type { TracingConfig } from '../config';
import { stageSpanAttributes, TRACE_ATTRIBUTES } from '../core/run/trace-attributes';
import { redactUrisIn } from '../core/security/redact';

/** The workflow interceptor module a tracing worker's bundle must include. */
export const TRACING_WORKFLOW_MODULE = path.resolve(
  __dirname,
  `../../workflows/tracing-interceptors${path.extname(__filename)}`,
);

/** A collector that does not answer must not hold a worker's shutdown for long. */
const EXPORT_TIMEOUT_MS = 10_000;

export interface Tracing {
  readonly tracer: Tracer;
  /** The workflow interceptor module the workflow bundle must include (TRACING_WORKFLOW_MODULE). */
  readonly workflowModule: string;
  /** What Worker.create needs: activity interceptors and the workflow spans' sink. */
  workerOptions(): TracingWorkerOptions;
  /** Spans of this process's activities and of the workflows it runs go through here. */
  readonly processor: SpanProcessor;
  readonly resource: Resource;
  /** Export what is buffered (tests; before a process exits). */
  forceFlush(): Promise<void>;
  /** Flush and stop; spans ended later are dropped. */
  shutdown(): Promise<void>;
}

/** Error texts may carry URIs (with credentials or signed queries): export them without. */
function redactedSpan(span: ReadableSpan): ReadableSpan {
  const events: TimedEvent[] = span.events.map((event) => ({
    ...event,
    ...(event.attributes
      ? {
          attributes: Object.fromEntries(
            Object.entries(event.attributes).map(([key, value]) => [
              key,
              typeof value === 'string' ? redactUrisIn(value) : value,
            ]),
          ),
        }
      : {}),
  }));
  const status = span.status.message ? { ...span.status, message: redactUrisIn(span.status.message) } : span.status;
  // A ReadableSpan of the SDK is a class instance with getters: copy what exporters read.
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanId: span.parentSpanId,
    startTime: span.startTime,
    endTime: span.endTime,
    status,
    attributes: span.attributes,
    links: span.links,
    events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationLibrary: span.instrumentationLibrary,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Wraps an exporter so every span leaves with redacted error texts. */
export function redactingExporter(inner: SpanExporter): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      inner.export(spans.map(redactedSpan), done);
    },
    shutdown: () => inner.shutdown(),
    ...(inner.forceFlush ? { forceFlush: () => inner.forceFlush?.() ?? Promise.resolve() } : {}),
  };
}

let globalsInstalled = false;

/**
 * Tracing for this process: the OTLP/HTTP exporter of `config`, or `exporter` (tests pass an
 * in-memory one). Installs, once per process, an AsyncLocalStorage context manager (so the
 * activity span is the active span inside the activity, where Fineflow's attributes are set) and
 * the W3C trace-context propagator (Temporal's interceptors carry the parent span in headers with it).
 */
export function createTracing(config: TracingConfig, options: { readonly exporter?: SpanExporter } = {}): Tracing {
  if (!globalsInstalled) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    globalsInstalled = true;
  }
  const resource = new Resource({ 'service.name': config.serviceName });
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({ url: config.endpoint, headers: { ...config.headers }, timeoutMillis: EXPORT_TIMEOUT_MS });
  const processor = new BatchSpanProcessor(redactingExporter(exporter), { exportTimeoutMillis: EXPORT_TIMEOUT_MS });
  const provider = new BasicTracerProvider({ resource });
  provider.addSpanProcessor(processor);
  const tracer = provider.getTracer('fineflow');
  return {
    tracer,
    workflowModule: TRACING_WORKFLOW_MODULE,
    workerOptions: () => tracingWorkerOptions(tracer, processor, resource),
    processor,
    resource,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** Runs inside `RunActivity:*` and adds the stage's ids to it. */
class StageSpanAttributes implements ActivityInboundCallsInterceptor {
  constructor(private readonly info: Context['info']) {}

  execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const attributes = stageSpanAttributes(input.args[0], this.info.taskQueue, this.info.attempt);
    trace.getActiveSpan()?.setAttributes(attributes);
    return next(input);
  }
}

export interface TracingWorkerOptions {
  readonly activityInterceptors: ActivityInterceptorsFactory[];
  readonly sinks: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;
}

function tracingWorkerOptions(tracer: Tracer, processor: SpanProcessor, resource: Resource): TracingWorkerOptions {
  return {
    // Temporal's interceptor first: it opens the span ours then annotates.
    activityInterceptors: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }) }),
      (ctx) => ({ inbound: new StageSpanAttributes(ctx.info) }),
    ],
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
  };
}

export { TRACE_ATTRIBUTES };
