/**
 * reconcileTenant: drift repair for one tenant, started by the tenant's Temporal Schedule
 * (`reconcile-<tenant>`, common/temporal/reconcile-schedule.ts) or by an operator.
 *
 * 1. Page through the tenant's provisioned, non-terminated users in id order.
 * 2. Per page, one activity compares the application directory with the desired state (SCIM
 *    data + groups + tenant policy), and, where the connector reads back, the application's
 *    accounts with the ledger; each drifted user gets a `drift.detected` audit entry and a
 *    `drift` change through the outbox, so the user's own workflow repairs it with its normal
 *    steps (their audit entries carry this run's request id).
 * 3. Continue-as-new when the history grows long; record the run's totals at the end.
 * Deterministic: all reads and writes are in the activities.
 */
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ReconcileTotals } from '../activities/reconcile';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

export interface ReconcileTenantInput {
  tenantId: string;
  /** Users per page; default the tenant's reconcile.pageSize (200). */
  pageSize?: number;
  /** Leave users changed within this many milliseconds to their workflow; default the tenant's reconcile.settleTime (5m). */
  settleMs?: number;
  /** Carried across continue-as-new. */
  cursor?: string | null;
  totals?: ReconcileTotals;
  requestId?: string;
}

const PAGES_PER_RUN = 500;

export async function reconcileTenant(input: ReconcileTenantInput): Promise<ReconcileTotals> {
  const requestId = input.requestId ?? `reconcile:${workflowInfo().workflowId}`;
  const totals: ReconcileTotals = input.totals ?? { pages: 0, checked: 0, skipped: 0, drifted: 0 };
  let cursor = input.cursor ?? null;
  for (let pagesThisRun = 0; ; pagesThisRun += 1) {
    if (pagesThisRun >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof reconcileTenant>({ ...input, cursor, totals, requestId });
    }
    const page = await acts.reconcilePage({ tenantId: input.tenantId, after: cursor, requestId, pageSize: input.pageSize, settleMs: input.settleMs });
    totals.pages += 1;
    totals.checked += page.checked;
    totals.skipped += page.skipped;
    totals.drifted += page.drifted;
    if (page.readBack !== undefined) {
      totals.readBack = (totals.readBack ?? 0) + page.readBack;
      totals.readBackSkipped = (totals.readBackSkipped ?? 0) + (page.readBackSkipped ?? 0);
      totals.notKept = (totals.notKept ?? 0) + (page.notKept ?? 0);
    }
    if (page.next === null) break;
    cursor = page.next;
  }
  await acts.recordReconcileRun({ tenantId: input.tenantId, requestId, totals });
  return totals;
}
