/**
 * Optional OpenTelemetry tracing through the Temporal SDK's interceptors, on only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP, e.g. http://otel-collector:4318; the
 * exporter appends /v1/traces; OTEL_EXPORTER_OTLP_HEADERS and OTEL_SERVICE_NAME are honoured).
 *
 * Spans: the outbox relay's signal-with-start / signal calls (client interceptor), the workflow
 * run and each activity scheduled from it (workflow interceptors, exported from the sandbox
 * through a sink), and each activity execution on the worker. The relay propagates the trace
 * context to the workflow in Temporal headers, so a delivery and the work it causes form one
 * trace. Spans carry ids only; the requestId links them to the logs.
 */
import type { ClientInterceptors } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { tracingSettings } from './config';

export function tracingEnabled(): boolean {
  return tracingSettings().enabled;
}

interface Tracing {
  resource: import('@opentelemetry/resources').Resource;
  spanProcessor: import('@opentelemetry/sdk-trace-base').SpanProcessor;
  provider: import('@opentelemetry/sdk-trace-base').BasicTracerProvider;
}

let tracing: Tracing | undefined;

/** Installs the global tracer provider once per process (no-op when tracing is off). */
function setup(serviceName: string): Tracing | undefined {
  if (!tracingEnabled()) return undefined;
  if (tracing) return tracing;
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Resource } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const resource = new Resource({ 'service.name': tracingSettings().serviceName ?? serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // The interceptors activate the propagated context with context.with(): that needs a real context manager.
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  tracing = { resource, spanProcessor, provider };
  return tracing;
}

/** Client interceptors for the Temporal client (outbox relay), or undefined when tracing is off. */
export function clientTracingInterceptors(serviceName = 'scimflow'): ClientInterceptors | undefined {
  if (!setup(serviceName)) return undefined;
  // Loaded only when tracing is on.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const otel = require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
  const { OpenTelemetryWorkflowClientInterceptor } = otel;
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/** The workflow side of the tracing interceptors (bundled into the workflow code). */
export const OTEL_WORKFLOW_INTERCEPTORS_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** Worker interceptors and the span-export sink, or undefined when tracing is off. */
export function workerTracing(
  serviceName = 'scimflow-worker',
): { interceptors: Required<Pick<WorkerInterceptors, 'activity' | 'workflowModules'>>; sinks: InjectedSinks<never> } | undefined {
  const t = setup(serviceName);
  if (!t) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const otel = require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
  return {
    interceptors: {
      activity: [
        (ctx) => ({ inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx), outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx) }),
      ],
      workflowModules: [OTEL_WORKFLOW_INTERCEPTORS_MODULE],
    },
    sinks: { exporter: otel.makeWorkflowExporter(t.spanProcessor, t.resource) } as unknown as InjectedSinks<never>,
  };
}

/** Flushes and stops the exporter (process shutdown). */
export async function shutdownTracing(): Promise<void> {
  const t = tracing;
  tracing = undefined;
  await t?.provider.shutdown().catch(() => undefined);
}
