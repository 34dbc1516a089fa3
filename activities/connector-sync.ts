/**
 * Carries what the activities recorded in the ledger to the tenant's application, through its
 * connector (connectors/port.ts), after the ledger's transaction has committed: no transaction
 * is ever held open across a remote call.
 *
 * The ledger (app_*) is what scimflow decided the user holds; connector_accounts is what the
 * application confirmed: its account id, a digest of each part it accepted, login as last set.
 * Each carry compares the two and sends what the application has not confirmed, so a retry
 * after a crash, a timeout or a refusal sends exactly what is missing, and a repeat sends
 * nothing. verifyAccess (before the invitation) refuses while a part is unconfirmed, so no
 * invitation goes out for an account the application refused.
 *
 * A failure becomes the step's ApplicationFailure: `permanent` and `conflict` are not retried
 * (the message, the application's own, becomes the user's lastError: `failed`), `transient` is
 * retried, after the application's Retry-After when it gave one. Every call is written to the
 * user's audit log (`connector.call`: operation, outcome, HTTP status, duration, idempotency
 * key; no personal data). The default `directory` connector is never carried: its application
 * is the ledger, and the default path costs no statement more.
 */
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../common/db';
import type { Logger } from '../common/logger';
import { appendAudits, type AuditEntry } from '../common/repositories/audit-log';
import { connectorAccountOf, saveConnectorAccount, type ConnectorAccount, type LedgerWithConnector } from '../common/repositories/connector-accounts';
import { accountStateOf, digestOf, partDigests, partsToSend } from '../connectors/account-state';
import { readDesiredState } from '../policy/desired-state';
import { ConnectorError, type AccountPart, type AccountState, type ApplicationConnector, type ConnectorCall } from '../connectors/port';
import { connectorRegistry, type ConnectorRegistry } from '../connectors/registry';
import { secretStore } from '../connectors/secrets';
import type { ActivityDeps } from './deps';
import { stepOrigin } from './step-context';
import { FAILURE_TYPES, type StepInput } from './types';

/** The deps' connector registry (createActivities builds one), else one over their database. */
export function connectorsOf(deps: Pick<ActivityDeps, 'db' | 'connectors' | 'connectorSecretKeys'>): ConnectorRegistry {
  return deps.connectors ?? connectorRegistry({ db: deps.db, secrets: secretStore(deps.db, { keys: deps.connectorSecretKeys }) });
}

/** One port call as the user's log shows it. */
interface CallRecord {
  operation: string;
  part?: AccountPart;
  outcome: 'ok' | 'permanent' | 'conflict' | 'transient' | 'error';
  status?: number;
  durationMs: number;
  idempotencyKey: string;
}

/**
 * `<workflowId>:<step>:<scimVersion>`: the same for every try of this step on this version. A
 * step run for a drift-repair run (activities/reconcile.ts: the application no longer holds what
 * it confirmed) adds `:repair-<run>`: it sends again what the application already accepted under
 * the plain key, and an application that keeps its answers by key would otherwise answer from
 * that memory and change nothing.
 */
export function idempotencyKeyOf(input: StepInput, scimVersion: number): string {
  const origin = stepOrigin();
  const repair = input.requestId?.startsWith(DRIFT_REPAIR_PREFIX)
    ? `:repair-${crypto.createHash('sha256').update(input.requestId).digest('base64url').slice(0, 10)}`
    : '';
  return `${origin.workflowId ?? `user-${input.tenantId}-${input.userId}`}:${origin.step ?? 'step'}:${scimVersion}${repair}`;
}

/** The request ids of drift-repair runs (workflows/reconcile-tenant.ts: `reconcile:<workflow id>`). */
const DRIFT_REPAIR_PREFIX = 'reconcile:';

/** The step's failure for a connector's: permanent and conflict are not retried; transient is, after Retry-After. */
export function failureOf(err: ConnectorError, operation: string): ApplicationFailure {
  const op = err.details.operation ?? operation;
  const status = err.details.status !== undefined ? ` (HTTP ${err.details.status})` : '';
  if (err.kind === 'permanent')
    return ApplicationFailure.create({
      message: `the application refused ${op}${status}: ${err.message}`,
      type: FAILURE_TYPES.connectorRefused,
      nonRetryable: true,
    });
  if (err.kind === 'conflict')
    return ApplicationFailure.create({
      message: `the application reports a conflict on ${op}${status}: ${err.message}; resolve it in the application (an account scimflow did not make holds this login?), then retry the user`,
      type: FAILURE_TYPES.connectorConflict,
      nonRetryable: true,
    });
  return ApplicationFailure.create({
    message: `the application did not answer ${op}: ${err.message}`,
    type: FAILURE_TYPES.connectorUnavailable,
    nonRetryable: false,
    nextRetryDelay: err.details.retryAfterMs !== undefined ? Math.max(err.details.retryAfterMs, 1) : undefined,
  });
}

export interface PushOptions {
  connector: ApplicationConnector;
  account: AccountState;
  /** The SCIM version the account was computed from (the idempotency key's). */
  scimVersion: number;
  /** Login as it should be in the application. */
  loginEnabled: boolean;
  /** Make the account when the application has none (convergence); a hold only changes an existing one. */
  create: boolean;
  /** The row already read, if the caller has it. */
  known?: ConnectorAccount | null;
}

export function connectorSync({ db, logger, connectors }: { db: Db; logger: Logger; connectors?: ConnectorRegistry }) {
  /** Runs the calls of one carry, recording each; writes the row and the call log at the end (or at the failure), then throws the failure. */
  async function carry(
    input: StepInput,
    connector: ApplicationConnector,
    scimVersion: number,
    row: ConnectorAccount | null,
    plan: (ctx: {
      call: ConnectorCall;
      state: {
        appId: string | null;
        confirmed: Record<string, string>;
        login: boolean | null;
        terminated: boolean;
        pushed: { version: number; digest: string } | null;
      };
      run: <T>(operation: string, fn: () => Promise<T>, part?: AccountPart) => Promise<T>;
    }) => Promise<void>,
  ): Promise<void> {
    const sameKind = row?.connectorKind === connector.kind;
    const call: ConnectorCall = { tenantId: input.tenantId, userId: input.userId, idempotencyKey: idempotencyKeyOf(input, scimVersion) };
    const state = {
      appId: sameKind ? row!.appId : null,
      confirmed: sameKind ? { ...row!.confirmedParts } : {},
      login: sameKind ? row!.loginEnabled : null,
      terminated: sameKind ? row!.terminatedAt !== null : false,
      pushed: sameKind && row!.pushedDigest && row!.pushedVersion !== null ? { version: row!.pushedVersion, digest: row!.pushedDigest } : null,
    };
    const records: CallRecord[] = [];
    const run = async <T>(operation: string, fn: () => Promise<T>, part?: AccountPart): Promise<T> => {
      const started = performance.now();
      try {
        const result = await fn();
        records.push({ operation, part, outcome: 'ok', durationMs: Math.round(performance.now() - started), idempotencyKey: call.idempotencyKey });
        return result;
      } catch (err) {
        const e = err instanceof ConnectorError ? err : undefined;
        records.push({
          operation: e?.details.operation ?? operation,
          part,
          outcome: e?.kind ?? 'error',
          status: e?.details.status,
          durationMs: Math.round(performance.now() - started),
          idempotencyKey: call.idempotencyKey,
        });
        throw err;
      }
    };
    const failure = await plan({ call, state, run }).then(
      () => undefined,
      (err: unknown) => ({ err, operation: records[records.length - 1]?.operation ?? 'connector' }),
    );
    const error =
      failure?.err instanceof ConnectorError
        ? { kind: failure.err.kind, message: failure.err.message }
        : failure
          ? { kind: 'transient' as const, message: (failure.err as Error).message }
          : null;
    // Nothing called and nothing to clear: no write (a convergence that changes nothing costs one read).
    if (records.length > 0 || (row && (row.lastError !== null) !== (error !== null)) || (error && !row)) {
      const origin = stepOrigin();
      const audits: AuditEntry[] = records.map((r) => ({
        tenantId: input.tenantId,
        userId: input.userId,
        action: 'connector.call',
        detail: { connector: connector.kind, ...r },
        requestId: input.requestId,
        ...origin,
      }));
      await db.withTransaction(async (tx) => {
        await saveConnectorAccount(tx, {
          tenantId: input.tenantId,
          userId: input.userId,
          connectorKind: connector.kind,
          appId: state.appId,
          pushedVersion: state.pushed?.version ?? null,
          pushedDigest: state.pushed?.digest ?? null,
          confirmedParts: state.confirmed,
          confirmed: records.some((r) => r.outcome === 'ok'),
          loginEnabled: state.login,
          terminated: state.terminated,
          error,
        });
        await appendAudits(tx, audits);
      });
    }
    if (!failure) return;
    if (failure.err instanceof ConnectorError) {
      logger.warn(
        {
          tenantId: input.tenantId,
          userId: input.userId,
          connector: connector.kind,
          operation: failure.err.details.operation ?? failure.operation,
          kind: failure.err.kind,
          status: failure.err.details.status,
        },
        'connector call failed',
      );
      throw failureOf(failure.err, failure.operation);
    }
    throw failure.err;
  }

  return {
    /**
     * The tenant's connector and the user's account in its application, when a lifecycle change
     * must go there too: the user has an account made by the tenant's current connector (never
     * for `directory`, whose application is the ledger: no account row, no statement more).
     */
    async accountOf(input: StepInput, view: LedgerWithConnector): Promise<{ connector: ApplicationConnector; row: ConnectorAccount } | undefined> {
      const row = view.account;
      if (!row?.appId || row.connectorKind === 'directory' || !connectors) return undefined;
      const connector = await connectors.current(input.tenantId);
      if (connector.kind !== row.connectorKind) {
        logger.warn(
          { tenantId: input.tenantId, userId: input.userId, was: row.connectorKind, now: connector.kind },
          'the tenant changed connectors: the change stays in the ledger',
        );
        return undefined;
      }
      return { connector, row };
    },

    /**
     * Brings the application's account in line with `account`: made (or found, after a try that
     * made it) when `create` and there is none, then each part it has not confirmed, then login.
     */
    async pushAccount(input: StepInput, o: PushOptions): Promise<void> {
      const row = o.known !== undefined ? o.known : await connectorAccountOf(db, input.tenantId, input.userId);
      const wanted = partDigests(o.account);
      await carry(input, o.connector, o.scimVersion, row, async ({ call, state, run }) => {
        if (state.terminated) return; // ended in the application; a re-hire is a new user
        if (!state.appId) {
          if (!o.create) return;
          const ensured = await run('ensureAccount', () => o.connector.ensureAccount(call, { ...o.account, loginEnabled: false }, null));
          state.appId = ensured.appId;
          state.confirmed = {};
          // A new account starts with login blocked; one an earlier try made may be either.
          state.login = ensured.created ? false : null;
        }
        const appId = state.appId;
        const parts = partsToSend(wanted, state.confirmed);
        if (parts.length > 0) state.pushed = { version: o.scimVersion, digest: digestOf(wanted) };
        for (const part of parts) {
          await run('apply', () => o.connector.apply(call, appId, o.account, [part]), part);
          state.confirmed[part] = wanted[part];
        }
        if (state.login !== o.loginEnabled) {
          await run('setLogin', () => o.connector.setLogin(call, appId, o.loginEnabled));
          state.login = o.loginEnabled;
        }
      });
    },

    /**
     * For an account the application has (suspension, reactivation, acceptance, termination):
     * login as `login`, then `parts` of `account` it has not confirmed as they are, or the end of
     * the account (`terminate`, once: a terminated account is not sent again).
     */
    async bring(
      input: StepInput,
      connector: ApplicationConnector,
      row: ConnectorAccount,
      scimVersion: number,
      want: { login?: boolean; account?: AccountState; parts?: AccountPart[]; terminate?: boolean },
    ): Promise<void> {
      await carry(input, connector, scimVersion, row, async ({ call, state, run }) => {
        if (!state.appId || state.terminated) return;
        const appId = state.appId;
        if (want.terminate) {
          await run('terminate', () => connector.terminate(call, appId));
          state.terminated = true;
          state.login = false;
          return;
        }
        if (want.login !== undefined && state.login !== want.login) {
          const enabled = want.login;
          await run('setLogin', () => connector.setLogin(call, appId, enabled));
          state.login = enabled;
        }
        if (want.account && want.parts) {
          const account = want.account;
          const wanted = partDigests(account);
          for (const part of want.parts.filter((p) => state.confirmed[p] !== wanted[p])) {
            await run('apply', () => connector.apply(call, appId, account, [part]), part);
            state.confirmed[part] = wanted[part];
          }
        }
      });
    },

    /** What the application has not confirmed of `account` (verifyAccess); empty when it holds it all. */
    async unconfirmed(input: StepInput, connector: ApplicationConnector, account: AccountState): Promise<string[]> {
      const row = await connectorAccountOf(db, input.tenantId, input.userId);
      if (!row || row.connectorKind !== connector.kind || !row.appId)
        return [`the application has no account for the user yet${row?.lastError ? ` (last error: ${row.lastError})` : ''}`];
      if (row.terminatedAt) return ['the account is terminated in the application'];
      const parts = partsToSend(partDigests(account), row.confirmedParts);
      if (parts.length === 0) return [];
      return [`the application has not confirmed ${parts.join(', ')}${row.lastError ? ` (last error: ${row.lastError})` : ''}`];
    },
  };
}

export type ConnectorSync = ReturnType<typeof connectorSync>;

/**
 * The application gives back the licences the ledger released (an expired invitation, a failed
 * onboarding): its licences part is sent without them. A try cut short after the ledger's commit
 * sends what the application has not confirmed; nothing for an account it does not have.
 */
export async function giveBackLicences(sync: ConnectorSync, db: Db, input: StepInput, view: LedgerWithConnector): Promise<void> {
  const app = await sync.accountOf(input, view);
  if (!app) return;
  const read = (await readDesiredState(db, input.tenantId, input.userId)).state;
  if (read)
    await sync.bring(input, app.connector, app.row, view.scimVersion, { account: accountStateOf({ ...read.desired, licences: [] }), parts: ['licences'] });
}
