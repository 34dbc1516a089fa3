/** Builds the Temporal worker that runs the workflows and activities of one task queue. */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
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
