/** Who is running this step, for audit entries and log lines: workflow id, run id and activity name. */
import { Context } from '@temporalio/activity';
import type { Queryable } from '../common/db';
import { appendAudit } from '../common/repositories/directory';
import type { StepInput } from './types';

export interface StepOrigin {
  workflowId: string | null;
  runId: string | null;
  step: string | null;
}

export function stepOrigin(): StepOrigin {
  try {
    const info = Context.current().info;
    return { workflowId: info.workflowExecution?.workflowId ?? null, runId: info.workflowExecution?.runId ?? null, step: info.activityType };
  } catch {
    return { workflowId: null, runId: null, step: null }; // called outside an activity (tests, admin tools)
  }
}

export async function audit(tx: Queryable, input: StepInput, action: string, detail: Record<string, unknown> = {}): Promise<void> {
  const origin = stepOrigin();
  await appendAudit(tx, { tenantId: input.tenantId, userId: input.userId, action, detail, requestId: input.requestId, ...origin });
}
