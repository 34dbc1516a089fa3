/**
 * The `directory` connector, every tenant's default: scimflow's ledger (the `app_*` tables) is
 * the application. The activities write the ledger in their own transactions, so every call
 * here that would change the application is a no-op: `ensureAccount` names the account by the
 * scimflow user id, `apply`, `setLogin` and `terminate` have nothing left to do.
 *
 * `readsBack` is false: reading the ledger back would only return the rows just written, and the
 * tenant's propagation windows stand in for the caches of an application scimflow cannot
 * observe, so they are waited out as before instead of being "verified" against itself.
 * `readAccount` still answers (from the ledger), for drift repair and the console.
 */
import type { Queryable } from '../common/db';
import { getAppUser } from '../common/repositories/app-users';
import { directoryOf, type UserDirectory } from '../common/repositories/entitlements';
import type { DesiredMembership } from '../domain/desired-user';
import { SETTING_KINDS, type SettingKind } from '../domain/roles';
import type { AccountState, ApplicationConnector, ConnectorCall, EnsuredAccount } from './port';

/** What the ledger (the `app_*` tables) holds for a user, as an account: what the application should report (drift repair compares the two). */
export function ledgerAccountOf(dir: UserDirectory, loginEnabled: boolean): AccountState {
  const settings = Object.fromEntries(SETTING_KINDS.map((k) => [k, [] as string[]])) as Record<SettingKind, string[]>;
  for (const s of dir.settings) settings[s.kind].push(s.value);
  return {
    profile: dir.user.profile,
    loginEnabled,
    organisations: dir.memberships.map((m) => ({ orgKey: m.orgKey, kind: m.kind, role: m.role as DesiredMembership['role'] })),
    licences: dir.licences.map((l) => ({ orgKey: l.orgKey, licenceLevel: l.licenceLevel, mobileLicence: l.mobileLicence })),
    providerAccounts: dir.providerAccounts.map((p) => ({ providerType: p.providerType, orgKey: p.orgKey })),
    access: {
      securityRole: dir.user.securityRole,
      employeeType: dir.user.employeeType,
      caseManager: dir.user.caseManager,
      allowGridExport: dir.user.allowGridExport,
      receivesDocumentation: dir.user.receivesDocumentation,
      settings,
    },
  };
}

export function directoryConnector(db: Queryable): ApplicationConnector {
  return {
    kind: 'directory',
    readsBack: false,
    async ensureAccount(call: ConnectorCall, _account: AccountState, knownAppId: string | null): Promise<EnsuredAccount> {
      return { appId: knownAppId ?? call.userId, created: false };
    },
    async apply(): Promise<void> {},
    async setLogin(): Promise<void> {},
    async terminate(): Promise<void> {},
    async readAccount(call: ConnectorCall, appId: string): Promise<AccountState | null> {
      const dir = (await directoryOf(db, call.tenantId, [appId])).get(appId);
      const user = dir && (await getAppUser(db, call.tenantId, appId));
      if (!dir || !user || dir.user.status === 'terminated') return null;
      return ledgerAccountOf(dir, user.loginEnabled);
    },
    async check() {
      return { ok: true, detail: 'the directory connector is scimflow’s own ledger: nothing to reach' };
    },
  };
}
