/**
 * Who is running this step, for audit entries and log lines: workflow id, run id and activity
 * name; and the audit entry of a step's change, written in the step's transaction.
 */
import { Context } from '@temporalio/activity';
import type { Queryable } from '../common/db';
import { appendAudit } from '../common/repositories/audit-log';
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

/** Writes the audit entry of the step's change. `input.step` names the step when it is not the activity itself (several steps in one activity). */
export async function audit(tx: Queryable, input: StepInput & { step?: string }, action: string, detail: Record<string, unknown> = {}): Promise<void> {
  const origin = stepOrigin();
  if (input.step) origin.step = input.step;
  await appendAudit(tx, { tenantId: input.tenantId, userId: input.userId, action, detail, requestId: input.requestId, ...origin });
}
