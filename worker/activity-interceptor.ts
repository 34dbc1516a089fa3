/**
 * Activity interceptor: runs each activity inside a log context (workflowId, runId, activity,
 * attempt, and the requestId and tenantId of its input), so every line the activity writes
 * through a `createLogger` logger carries them; logs one line per finished activity; counts
 * and times activities for /metrics. The SDK's own activity log lines (Context.log) get the
 * requestId too, through getLogAttributes.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { withLogContext, type Logger } from '../common/logger';
import type { AppMetrics } from '../common/metrics';

interface StepLike {
  requestId?: unknown;
  tenantId?: unknown;
}

const idOrUndefined = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : undefined);

export function operabilityActivityInterceptor(options: { logger: Logger; metrics: AppMetrics }): ActivityInterceptorsFactory {
  return (ctx: Context) => {
    const info = ctx.info;
    let requestId: string | undefined;
    return {
      inbound: {
        async execute(input, next) {
          const first = (input.args[0] ?? {}) as StepLike;
          requestId = idOrUndefined(first.requestId);
          const context = {
            workflowId: info.workflowExecution?.workflowId,
            runId: info.workflowExecution?.runId,
            activity: info.activityType,
            attempt: info.attempt,
            requestId,
            tenantId: idOrUndefined(first.tenantId),
          };
          return withLogContext(context, async () => {
            const started = process.hrtime.bigint();
            const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
            try {
              const result = await next(input);
              const s = seconds();
              options.metrics.activityRuns.inc({ activity: info.activityType, outcome: 'completed' });
              options.metrics.activityDuration.observe({ activity: info.activityType }, s);
              options.logger[info.isLocal ? 'debug' : 'info']({ ms: Math.round(s * 1000) }, 'activity completed');
              return result;
            } catch (err) {
              const s = seconds();
              options.metrics.activityRuns.inc({ activity: info.activityType, outcome: 'failed' });
              options.metrics.activityDuration.observe({ activity: info.activityType }, s);
              const e = err as Error;
              options.logger.warn(
                { ms: Math.round(s * 1000), errorType: e?.name, err: e?.message?.slice(0, 500) },
                'activity failed; Temporal retries it per its retry policy',
              );
              throw err;
            }
          });
        },
      },
      outbound: {
        getLogAttributes: (attributes, next) => next(requestId ? { ...attributes, requestId } : attributes),
      },
    };
  };
}
