/** Builds the Temporal worker that runs the workflows and activities of one task queue. */
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Pre-built workflow bundle (production image); otherwise the workflows are bundled at start. */
  workflowBundlePath?: string;
  /** Tuning, defaults sized for a 2-core machine. */
  tuning?: Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions'>;
}

let runtimeInstalled = false;

/** The SDK's own log lines at WARN and above unless TEMPORAL_SDK_LOG_LEVEL says otherwise; once per process, before the first connection. */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_SDK_LOG_LEVEL ?? 'WARN') as LogLevel) });
  } catch {
    // already installed by the host (tests, embedding)
  }
}

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(options.deps),
    maxCachedWorkflows: 2_000,
    maxConcurrentActivityTaskExecutions: 50,
    maxConcurrentWorkflowTaskExecutions: 50,
    shutdownGraceTime: '20 seconds',
    bundlerOptions: { ignoreModules: [] },
    ...options.tuning,
  });
}
