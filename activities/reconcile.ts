/**
 * Drift repair, one page of a tenant's users per activity (workflows/reconcile-tenant.ts):
 * compares what the application directory holds with what the user should have (SCIM data +
 * groups + tenant policy, policy/desired-state.ts), and for each user that drifted
 * records `drift.detected` and enqueues a `drift` change. The outbox relay signals the user's
 * own workflow, whose normal steps repair the rows and audit what they changed, under the
 * reconcile run's request id.
 */
import type { FieldChange } from '../domain/directory-diff';
import { diffStates, stateOf } from '../domain/directory-diff';
import type { ProvisioningState } from '../domain/roles';
import { parseDuration } from '../domain/duration';
import { desiredStatesUnder } from '../policy/desired-state';
import { reconcileCandidates } from '../common/repositories/app-users';
import { appendAudit } from '../common/repositories/audit-log';
import { observedStates } from '../common/repositories/entitlements';
import { recordChanges, userChanges, usersWithRecentChanges } from '../common/repositories/outbox';
import { currentConfig } from '../common/repositories/tenants';
import type { ActivityDeps } from './deps';
import { audit, stepOrigin } from './step-context';

/**
 * States in which the workflow has applied every step and waits: the directory must match.
 * Others are left alone: onboarding in progress, waiting for data or a seat, failed (already
 * surfaced), suspended (entitlements are kept as they were, on purpose).
 */
const SETTLED: readonly ProvisioningState[] = ['invited', 'active', 'expired', 'scheduled', 'waitingPropagation'];

/**
 * States in which the user holds no licence seat on purpose: its invitation is not due yet (an
 * HR start date) or expired unaccepted. Their released seats are the desired state, not drift.
 */
const HOLDS_NO_SEATS: readonly ProvisioningState[] = ['scheduled', 'expired'];

export interface ReconcilePageInput {
  tenantId: string;
  /** Last user id of the previous page; null for the first. */
  after: string | null;
  /** Correlates the run with its audit entries, outbox rows and the repairs (`reconcile:<workflow id>`). */
  requestId: string;
  /** Overrides of the tenant's reconcile settings (tests). */
  pageSize?: number;
  settleMs?: number;
}

export interface ReconcilePageResult {
  /** Cursor for the next page; null after the last. */
  next: string | null;
  checked: number;
  skipped: number;
  drifted: number;
}

export interface ReconcileTotals {
  pages: number;
  checked: number;
  skipped: number;
  drifted: number;
}

/** Audit detail without personal data: profile fields by name only; roles, organisations and settings with their values. */
function auditable(changes: FieldChange[]): Record<string, unknown>[] {
  return changes.map((c) => (c.field.startsWith('profile.') ? { field: c.field } : { ...c }));
}

export function reconcileActivities({ db }: ActivityDeps) {
  return {
    async reconcilePage(input: ReconcilePageInput): Promise<ReconcilePageResult> {
      const { tenantId } = input;
      const { config } = await currentConfig(db, tenantId);
      const limit = input.pageSize ?? config.reconcile.pageSize;
      const settleMs = input.settleMs ?? parseDuration(config.reconcile.settleTime);
      const rows = await reconcileCandidates(db, tenantId, input.after, limit);
      const next = rows.length === limit ? rows[rows.length - 1].id : null;
      const settled = rows.filter((r) => r.state !== null && SETTLED.includes(r.state as ProvisioningState));
      const inFlight = await usersWithRecentChanges(
        db,
        tenantId,
        settled.map((r) => r.id),
        settleMs,
      );
      const candidates = settled.filter((r) => !inFlight.has(r.id));
      const [desired] = await desiredStatesUnder(
        db,
        tenantId,
        candidates.map((r) => r.id),
        [config],
      );
      const observed = await observedStates(
        db,
        tenantId,
        candidates.map((r) => r.id),
      );
      const drifted: { id: string; version: number; changes: FieldChange[] }[] = [];
      for (const r of candidates) {
        const want = desired.get(r.id)?.desired;
        const have = observed.get(r.id);
        // A user whose data became incomplete or inactive is its workflow's to handle, not a drift.
        if (!want || !have || !want.active || want.missing.length > 0) continue;
        const wanted = stateOf(want);
        if (HOLDS_NO_SEATS.includes(r.state as ProvisioningState)) wanted.licences = [];
        const changes = diffStates(have, wanted);
        if (changes.length > 0) drifted.push({ id: r.id, version: r.version, changes });
      }
      if (drifted.length > 0) {
        await db.withTransaction(async (tx) => {
          for (const d of drifted) {
            await audit(tx, { tenantId, userId: d.id, requestId: input.requestId }, 'drift.detected', {
              fields: d.changes.map((c) => c.field),
              changes: auditable(d.changes),
            });
          }
          await recordChanges(tx, userChanges(tenantId, 'drift', input.requestId, drifted));
        });
      }
      return { next, checked: candidates.length, skipped: rows.length - candidates.length, drifted: drifted.length };
    },

    /** One audit entry per run, with its totals (tenant-level: no user). */
    async recordReconcileRun(input: { tenantId: string; requestId: string; totals: ReconcileTotals }): Promise<void> {
      await appendAudit(db, {
        tenantId: input.tenantId,
        userId: null,
        action: 'reconcile.completed',
        detail: { ...input.totals },
        requestId: input.requestId,
        ...stepOrigin(),
      });
    },
  };
}
