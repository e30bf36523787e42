/**
 * `fineflow submit`'s span, when tracing is on (src/config.ts: OTEL_EXPORTER_OTLP_*), so a run's trace starts
 * where the user started it:
 *   fineflow submit                    the CLI (service fineflow-cli): the pipeline, then the run id
 *   └ StartWorkflow:pipelineRun        Temporal's client interceptor, which carries the context in headers
 *     └ RunWorkflow:pipelineRun        the control worker (src/observability/tracing.ts), then stages and attempts
 * Only the start call is traced: `--watch` queries the run several times a second, and a span for each poll would
 * bury the trace. Spans carry ids and names only (no params, no plan), like the worker's.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { ClientOptions, WorkflowClientInterceptor } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config';
import { ensureError } from '../core/errors';
import { TRACE_ATTRIBUTES } from '../core/run/trace-attributes';
import { redactUrisIn } from '../core/security/redact';
import { createTracing } from './tracing';

export interface SubmitTracing {
  /** The client's interceptors: the start call's span, the run's parent. */
  readonly interceptors: NonNullable<ClientOptions['interceptors']>;
  /** Run `submit` (which starts the run and returns its id) inside the `fineflow submit` span, then export it. */
  traceSubmit(pipeline: string, submit: () => Promise<string>): Promise<string>;
  /** Export what is left and stop (before the process exits). */
  shutdown(): Promise<void>;
}

/** `exporter`: tests pass an in-memory one; otherwise OTLP/HTTP to the configured endpoint. */
export function createSubmitTracing(
  config: TracingConfig,
  options: { readonly exporter?: SpanExporter } = {},
): SubmitTracing {
  const tracing = createTracing({ ...config, serviceName: config.cliServiceName }, options);
  const temporal = new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer });
  const startOnly: WorkflowClientInterceptor = {
    start: (input, next) => temporal.start(input, next),
    startWithDetails: (input, next) => temporal.startWithDetails(input, next),
  };
  return {
    interceptors: { workflow: [startOnly] },
    traceSubmit: (pipeline, submit) =>
      tracing.tracer.startActiveSpan(
        'fineflow submit',
        { attributes: { [TRACE_ATTRIBUTES.pipeline]: pipeline } },
        async (span) => {
          try {
            const runId = await submit();
            span.setAttribute(TRACE_ATTRIBUTES.runId, runId);
            return runId;
          } catch (thrown) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: redactUrisIn(ensureError(thrown).message) });
            throw thrown;
          } finally {
            span.end();
            // A collector that is down must not fail the submit (it delays it by the export timeout at most).
            await tracing.forceFlush().catch(() => undefined);
          }
        },
      ),
    shutdown: () => tracing.shutdown().catch(() => undefined),
  };
}
