/**
 * Who is running this step, for audit entries and log lines: workflow id, run id and activity
 * name; and the audit entry of a step's change, written in the step's transaction.
 */
import { Context } from '@temporalio/activity';
import type { Queryable } from '../common/db';
import { appendAudit, appendAudits, type AuditEntry } from '../common/repositories/audit-log';
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

/**
 * The audit entries of several steps in one transaction, written together by one statement at
 * its end (`flush`), in the order they were added.
 */
export interface AuditBatch {
  add(input: StepInput & { step?: string }, action: string, detail?: Record<string, unknown>): void;
  flush(tx: Queryable): Promise<void>;
}

export function auditBatch(): AuditBatch {
  const entries: AuditEntry[] = [];
  const origin = stepOrigin();
  return {
    add(input, action, detail = {}) {
      entries.push({ tenantId: input.tenantId, userId: input.userId, action, detail, requestId: input.requestId, ...origin, step: input.step ?? origin.step });
    },
    async flush(tx) {
      await appendAudits(tx, entries.splice(0));
    },
  };
}
