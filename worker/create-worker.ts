/** Builds the Temporal worker that runs the workflows and activities of one task queue. */
import type { LogLevel, LogMetadata, Logger as SdkLogger, PayloadCodec } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, type RuntimeOptions, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { createLogger, type Logger } from '../common/logger';
import { sdkRuntimeSettings, WORKER_DEFAULTS } from '../common/config';
import { appMetrics, type AppMetrics } from '../common/metrics';
import { workerTracing } from '../common/tracing';
import { operabilityActivityInterceptor } from './activity-interceptor';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Pre-built workflow bundle (production image); otherwise the workflows are bundled at start. Build it with `workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_MODULE]`. */
  workflowBundlePath?: string;
  /** Payload encryption (common/codec); must match the clients' codecs. */
  payloadCodecs?: PayloadCodec[];
  metrics?: AppMetrics;
  /** How long in-flight activities may finish after shutdown is requested before they are cancelled. Default 20 s. */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** Tuning, defaults sized for a 2-core machine. */
  tuning?: Pick<
    WorkerOptions,
    'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentLocalActivityExecutions' | 'maxConcurrentWorkflowTaskExecutions'
  >;
}

/** The workflow interceptor module (requestId on workflow log lines). */
export const WORKFLOW_INTERCEPTORS_MODULE = require.resolve('./workflow-interceptors');

const SDK_LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/**
 * The SDK's own log lines (worker lifecycle, workflow and activity context loggers) as pino
 * JSON lines: they carry workflowId, runId and activity attributes from the SDK, and the
 * requestId from our interceptors. Follows the latest worker's logger (one per process in
 * production; tests start several).
 */
class PinoSdkLogger implements SdkLogger {
  target: Logger;
  constructor(
    target: Logger,
    private readonly minLevel: LogLevel,
  ) {
    this.target = target;
  }
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (SDK_LEVELS.indexOf(level) < SDK_LEVELS.indexOf(this.minLevel)) return;
    const fields: Record<string, unknown> = { sdk: true };
    for (const [k, v] of Object.entries(meta ?? {})) fields[k] = typeof v === 'bigint' ? String(v) : v instanceof Error ? v.message : v;
    const method = level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error';
    this.target[method](fields, message);
  }
  trace = (m: string, meta?: LogMetadata) => this.log('TRACE', m, meta);
  debug = (m: string, meta?: LogMetadata) => this.log('DEBUG', m, meta);
  info = (m: string, meta?: LogMetadata) => this.log('INFO', m, meta);
  warn = (m: string, meta?: LogMetadata) => this.log('WARN', m, meta);
  error = (m: string, meta?: LogMetadata) => this.log('ERROR', m, meta);
}

let sdkLogger: PinoSdkLogger | undefined;
let runtimeInstalled = false;

/**
 * Installs the SDK runtime once per process, before the first connection:
 * - the SDK's log lines at WARN and above (TEMPORAL_SDK_LOG_LEVEL) go to `logger` as JSON;
 * - with TEMPORAL_METRICS_PORT set, the SDK's core serves its worker metrics (task slots,
 *   poll and schedule-to-start latencies, activity and workflow task outcomes, prefix
 *   temporal_) for Prometheus at http://<TEMPORAL_METRICS_HOST or HOST or 127.0.0.1>:<port>/metrics.
 * Later calls only point the SDK's log lines at the newer `logger`.
 */
export function installRuntime(logger?: Logger): void {
  if (sdkLogger && logger) sdkLogger.target = logger;
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const settings = sdkRuntimeSettings();
  sdkLogger = new PinoSdkLogger(logger ?? createLogger(settings.processLogLevel, { component: 'temporal-sdk' }), settings.logLevel);
  const options: RuntimeOptions = { logger: sdkLogger };
  if (settings.metricsAddress) {
    options.telemetryOptions = {
      metrics: { prometheus: { bindAddress: settings.metricsAddress, useSecondsForDurations: true }, globalTags: { service: 'scimflow-worker' } },
    };
  }
  try {
    Runtime.install(options);
  } catch {
    // already installed by the host (tests, embedding)
  }
}

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  const metrics = options.metrics ?? appMetrics();
  const tracing = workerTracing(); // OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: require.resolve('../workflows') }),
    // The activities observe into the worker's registry (a test harness gives each stack its own).
    activities: createActivities({ ...options.deps, metrics: options.deps.metrics ?? metrics }),
    dataConverter: options.payloadCodecs?.length ? { payloadCodecs: options.payloadCodecs } : undefined,
    interceptors: {
      activity: [...(tracing?.interceptors.activity ?? []), operabilityActivityInterceptor({ logger: options.deps.logger, metrics })],
      // A pre-built bundle carries its workflow interceptors (worker/workflow-bundle.ts).
      ...(options.workflowBundlePath ? {} : { workflowModules: [...(tracing?.interceptors.workflowModules ?? []), WORKFLOW_INTERCEPTORS_MODULE] }),
    },
    sinks: tracing?.sinks,
    // The cache holds the workflows active at once; a user waiting days for acceptance is
    // replayed (~18 events) on its next task instead of staying in memory. Activities and
    // local activities share the PostgreSQL pool.
    maxCachedWorkflows: WORKER_DEFAULTS.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: WORKER_DEFAULTS.maxConcurrentActivities,
    maxConcurrentLocalActivityExecutions: WORKER_DEFAULTS.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: 50,
    // SIGTERM: stop polling, let in-flight activities finish for this long, then cancel them
    // (their retries continue on another worker). Keep below the orchestrator's stop grace period.
    shutdownGraceTime: options.shutdownGraceTime ?? '20 seconds',
    ...(options.workflowBundlePath ? {} : { bundlerOptions: { ignoreModules: [] } }),
    ...options.tuning,
  });
}
