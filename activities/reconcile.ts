/**
 * Drift repair, one page of a tenant's users per activity (workflows/reconcile-tenant.ts):
 * compares what the application directory holds with what the user should have (SCIM data +
 * groups + tenant policy, policy/desired-state.ts), and for each user that drifted
 * records `drift.detected` and enqueues a `drift` change. The outbox relay signals the user's
 * own workflow, whose normal steps repair the rows and audit what they changed, under the
 * reconcile run's request id.
 *
 * Where the tenant's connector reads the application back (`http` with a `readAccount`
 * operation, `scim`), the page also reads each settled user's account from the application and
 * compares it, part by part (connectors/account-state.ts digests), with the ledger (the `app_*`
 * tables, what scimflow applied): a user whose account differs gets `drift.detected` with
 * `source: 'application'` and the differing parts, which are marked unconfirmed in
 * connector_accounts in the same transaction as the `drift` change, so the convergence that
 * change starts sends them again. Bounded: such a tenant's pages hold at most
 * APPLICATION_READS_PER_PAGE users (every settled user is read once a run), read
 * READ_CONCURRENCY at a time within READ_BUDGET_MS (the rest of a slow page is read next run);
 * a read that fails is skipped, never taken for drift. The reads are not written to the users'
 * logs (they change nothing).
 */
import type { Queryable } from '../common/db';
import type { FieldChange } from '../domain/directory-diff';
import { diffStates, stateOf } from '../domain/directory-diff';
import type { ProvisioningState } from '../domain/roles';
import { parseDuration } from '../domain/duration';
import { desiredStatesUnder } from '../policy/desired-state';
import { reconcileCandidates } from '../common/repositories/app-users';
import { appendAudit } from '../common/repositories/audit-log';
import { connectorAccountsOf, latestApplicationDrift, unconfirmParts, type ConnectorAccount } from '../common/repositories/connector-accounts';
import { comparableState, directoryOf, type UserDirectory } from '../common/repositories/entitlements';
import { recordChanges, userChanges, usersWithRecentChanges } from '../common/repositories/outbox';
import { currentConfig } from '../common/repositories/tenants';
import { differingParts } from '../connectors/account-state';
import { ledgerAccountOf } from '../connectors/directory';
import type { AccountPart, AccountState, ApplicationConnector } from '../connectors/port';
import type { ActivityDeps } from './deps';
import { connectorsOf } from './connector-sync';
import { audit, stepOrigin } from './step-context';

/** Users read back from the application per page, at most (a tenant whose connector reads back pages by this many). */
export const APPLICATION_READS_PER_PAGE = 100;
/** Reads in flight at once. */
const READ_CONCURRENCY = 8;
/** How long a page's reads may take together; those not started by then are left to the next run (the activity's timeout is 2 min). */
const READ_BUDGET_MS = 60_000;

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
  /** Accounts read back from the application (its connector reads back), and reads that failed or did not fit the page's time. */
  readBack?: number;
  readBackSkipped?: number;
  /** Users whose application does not keep parts it accepted (activities/reconcile.ts keptOrNot): not sent again. */
  notKept?: number;
}

export interface ReconcileTotals {
  pages: number;
  checked: number;
  skipped: number;
  drifted: number;
  readBack?: number;
  readBackSkipped?: number;
  notKept?: number;
}

/** A user whose application account differs from the ledger: the parts, login, or the whole account (gone). */
interface ApplicationDrift {
  id: string;
  version: number;
  row: ConnectorAccount & { appId: string };
  parts: AccountPart[];
  login: boolean;
  missing: boolean;
}

/** What of the account differs, by name: `account` (gone), the parts, `login`. */
function whatDiffers(d: ApplicationDrift): string[] {
  return d.missing ? ['account'] : [...d.parts, ...(d.login ? ['login'] : [])];
}

const sameNames = (a: readonly string[] | undefined, b: readonly string[]) => !!a && a.length === b.length && a.every((x) => b.includes(x));

/**
 * Which application drifts to repair, and which are an application not keeping what it accepted:
 * the previous run found the same parts different, the application then confirmed the repair
 * (confirmed since), and scimflow has sent nothing new since (the account it sends unchanged), yet
 * the application reports them different again. Those are recorded once (`notKept`) and not sent
 * again until the user's account changes in scimflow (`quiet`: already recorded). A gone account
 * is always made again.
 */
async function keptOrNot(
  db: Queryable,
  tenantId: string,
  drifts: ApplicationDrift[],
): Promise<{ repair: ApplicationDrift[]; notKept: ApplicationDrift[]; quiet: number }> {
  const previous = await latestApplicationDrift(
    db,
    tenantId,
    drifts.filter((d) => !d.missing).map((d) => d.id),
  );
  const out = { repair: [] as ApplicationDrift[], notKept: [] as ApplicationDrift[], quiet: 0 };
  for (const d of drifts) {
    const prev = previous.get(d.id);
    const unchangedSince = prev && sameNames(prev.detail.parts, whatDiffers(d)) && !(d.row.pushedAt && d.row.pushedAt > prev.at);
    if (!unchangedSince) out.repair.push(d);
    else if (prev.detail.notKept) out.quiet += 1;
    else if (d.row.confirmedAt && d.row.confirmedAt > prev.at) out.notKept.push(d);
    else out.repair.push(d); // the repair has not been confirmed yet (the workflow is busy or failed): ask again
  }
  return out;
}

/** Runs `read` over `items`, `READ_CONCURRENCY` at a time, starting none after `deadline`. */
async function readAll<T, R>(items: T[], read: (item: T) => Promise<R>, deadline: number): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array(items.length).fill(undefined);
  let next = 0;
  const worker = async () => {
    while (next < items.length && Date.now() < deadline) {
      const i = next++;
      results[i] = await read(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, worker));
  return results;
}

/** The attributes the connector reads back (the http connector's `readAccount.read`), or null: it reads the whole account. */
function readAttributesOf(connector: ApplicationConnector): readonly string[] | null {
  const attrs = (connector as { readAttributes?: readonly string[] }).readAttributes;
  return Array.isArray(attrs) ? attrs : null;
}

/**
 * Reads each of `users` back from the application and compares it with the ledger. Users without
 * an account made by this connector, terminated there, or whose last call failed (their workflow
 * already knows) are not read.
 */
async function applicationDrift(
  connector: ApplicationConnector,
  tenantId: string,
  requestId: string,
  users: { id: string; version: number; dir: UserDirectory; row: ConnectorAccount | undefined }[],
): Promise<{ drifted: ApplicationDrift[]; read: number; skipped: number }> {
  const attributes = readAttributesOf(connector);
  const readable = users.filter(
    (u): u is typeof u & { row: ConnectorAccount & { appId: string } } =>
      !!u.row && u.row.connectorKind === connector.kind && !!u.row.appId && !u.row.terminatedAt && !u.row.lastError,
  );
  const reads = await readAll(
    readable,
    (u) =>
      connector
        .readAccount({ tenantId, userId: u.id, idempotencyKey: `${requestId}:readAccount` }, u.row.appId)
        .then((state): { state: AccountState | null } => ({ state }))
        .catch(() => undefined),
    Date.now() + READ_BUDGET_MS,
  );
  const drifted: ApplicationDrift[] = [];
  let read = 0;
  readable.forEach((u, i) => {
    const got = reads[i];
    if (!got) return;
    read += 1;
    if (got.state === null) {
      drifted.push({ id: u.id, version: u.version, row: u.row, parts: [], login: true, missing: true });
      return;
    }
    const parts = differingParts(ledgerAccountOf(u.dir, u.row.loginEnabled ?? false), got.state, attributes);
    const readsLogin = attributes === null || attributes.includes('loginEnabled');
    const login = readsLogin && u.row.loginEnabled !== null && got.state.loginEnabled !== u.row.loginEnabled;
    if (parts.length > 0 || login) drifted.push({ id: u.id, version: u.version, row: u.row, parts, login, missing: false });
  });
  return { drifted, read, skipped: readable.length - read };
}

/** Audit detail without personal data: profile fields by name only; roles, organisations and settings with their values. */
function auditable(changes: FieldChange[]): Record<string, unknown>[] {
  return changes.map((c) => (c.field.startsWith('profile.') ? { field: c.field } : { ...c }));
}

export function reconcileActivities(deps: ActivityDeps) {
  const { db } = deps;
  const connectors = connectorsOf(deps);
  return {
    async reconcilePage(input: ReconcilePageInput): Promise<ReconcilePageResult> {
      const { tenantId } = input;
      const version = await currentConfig(db, tenantId);
      const { config } = version;
      const connector = connectors.forConfig(tenantId, version);
      const readsBack = connector.kind !== 'directory' && connector.readsBack;
      const limit = Math.min(input.pageSize ?? config.reconcile.pageSize, readsBack ? APPLICATION_READS_PER_PAGE : Infinity);
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
      const directory = await directoryOf(
        db,
        tenantId,
        candidates.map((r) => r.id),
      );
      const observed = new Map([...directory].map(([id, d]) => [id, comparableState(d)]));
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
      // The application's accounts against the ledger (a user still waiting for propagation is its workflow's to verify).
      let app: Awaited<ReturnType<typeof applicationDrift>> = { drifted: [], read: 0, skipped: 0 };
      if (readsBack) {
        const settledHere = candidates.filter((r) => r.state !== 'waitingPropagation' && directory.has(r.id));
        const rowsById = await connectorAccountsOf(
          db,
          tenantId,
          settledHere.map((r) => r.id),
        );
        app = await applicationDrift(
          connector,
          tenantId,
          input.requestId,
          settledHere.map((r) => ({ id: r.id, version: r.version, dir: directory.get(r.id)!, row: rowsById.get(r.id) })),
        );
      }
      // An application that does not keep what it accepts (a SCIM server that stores a few attributes only) would be sent the same parts every run.
      const judged = await keptOrNot(db, tenantId, app.drifted);
      const repairs = new Map<string, { id: string; version: number }>();
      for (const d of [...drifted, ...judged.repair]) repairs.set(d.id, { id: d.id, version: d.version });
      if (repairs.size > 0 || judged.notKept.length > 0) {
        await db.withTransaction(async (tx) => {
          for (const d of drifted) {
            await audit(tx, { tenantId, userId: d.id, requestId: input.requestId }, 'drift.detected', {
              fields: d.changes.map((c) => c.field),
              changes: auditable(d.changes),
            });
          }
          for (const d of [...judged.repair, ...judged.notKept]) {
            // Part names only: what the application holds is not copied into the log.
            const what = whatDiffers(d);
            const notKept = judged.notKept.includes(d);
            await audit(tx, { tenantId, userId: d.id, requestId: input.requestId }, 'drift.detected', {
              source: 'application',
              connector: connector.kind,
              fields: what.map((p) => `application.${p}`),
              parts: what,
              ...(notKept ? { notKept: true } : {}),
            });
            if (notKept) continue;
            await unconfirmParts(tx, {
              tenantId,
              userId: d.id,
              connectorKind: d.row.connectorKind,
              appId: d.row.appId,
              parts: d.parts,
              login: d.login,
              account: d.missing,
            });
          }
          if (repairs.size > 0) await recordChanges(tx, userChanges(tenantId, 'drift', input.requestId, [...repairs.values()]));
        });
      }
      return {
        next,
        checked: candidates.length,
        skipped: rows.length - candidates.length,
        drifted: repairs.size,
        ...(readsBack ? { readBack: app.read, readBackSkipped: app.skipped, notKept: judged.notKept.length + judged.quiet } : {}),
      };
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
