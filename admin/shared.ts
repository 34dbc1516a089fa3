/**
 * The admin API's use cases are one module per resource beside this one (tenants, config,
 * preview, users, user-actions, held-changes, tokens, connection-test, requests, audit,
 * overview); routes.ts is their HTTP side, and the console's pages call the same functions.
 * Reads come from PostgreSQL; user actions go through the same paths as the identity provider's
 * requests, so the IdP-visible SCIM resource and the application agree: suspend / reactivate /
 * terminate change the SCIM resource through the users service (active false / true, DELETE),
 * "create user" POSTs a SCIM-shaped user through it; resend and retry are the user workflow's
 * update and signal. Every action carries a request id `admin:<uuid>` into the outbox, the
 * workflow and the audit log.
 *
 * This module holds what they all share: their dependencies, the caller (an admin token of one
 * tenant), the error a request is refused with, and the checks and records every use case makes
 * (the tenant is the caller's, the caller may write, the user id names a user, the action is
 * audited).
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../common/db';
import { HttpError } from '../common/http-error';
import type { Logger } from '../common/logger';
import type { SenderPolicy } from '../common/mail/sender';
import type { ConnectorRegistry } from '../connectors/registry';
import type { SecretKey } from '../connectors/secret-crypto';
import { appendAudit } from '../common/repositories/audit-log';
import { getTenant } from '../common/repositories/tenants';
import { ADMIN_WRITE_ROLE } from '../common/repositories/tokens';
import { isUuid } from '../domain/uuid';
import type { ScimContext } from '../scim-server/context';

/**
 * Reads from Temporal shown beside the database's view (a workflow's status, the repair schedule)
 * are bounded: with no worker polling, a query would otherwise wait for Temporal's own timeout
 * while the page or the admin call hangs.
 */
const TEMPORAL_READ_MS = 5_000;
export const boundedRead = <R>(client: Client, read: () => Promise<R>): Promise<R> => client.connection.withDeadline(Date.now() + TEMPORAL_READ_MS, read);

export interface AdminDeps {
  db: Db;
  temporal: () => Promise<Client>;
  taskQueue: string;
  /** Absolute base of SCIM URLs (…/scim/v2), for the users service's `meta.location`. */
  scimBaseUrl: string;
  onCommitted: () => void;
  logger: Logger;
  /** The Temporal UI and namespace, for links to a user's workflow (unset: no link). */
  temporalUi?: { url: string; namespace: string };
  /** Which senders tenants may configure (MAIL_FROM, MAIL_ALLOWED_FROM_DOMAINS); without it only the document's own rules apply. */
  senderPolicy?: SenderPolicy;
  /** CONNECTOR_SECRETS_KEYS, parsed: the connector's "test connection" decrypts its secrets with them. Default: the key kept in the database. */
  connectorSecretKeys?: SecretKey[];
  /** The tenants' connectors (tests); default one built over `db` and `connectorSecretKeys` (admin/connector.ts). */
  connectors?: ConnectorRegistry;
}

/** Who is calling: the admin token's tenant and role, and this request's id. */
export interface Caller {
  tenantId: string;
  tokenId: string;
  role: string | null;
  requestId: string;
}

/** Thrown for an admin request that cannot be served; `problems` lists validation problems (400). */
export class AdminError extends HttpError {
  constructor(status: number, message: string, problems?: string[]) {
    super(status, message, problems);
    this.name = 'AdminError';
  }
}

/** An admin token reaches its own tenant only; another tenant is "not found", as if it did not exist. */
export async function tenantOf(deps: AdminDeps, caller: Caller, tenantId: string) {
  const tenant = tenantId === caller.tenantId ? await getTenant(deps.db, tenantId) : undefined;
  if (!tenant) throw new AdminError(404, `tenant "${tenantId}" not found`);
  return tenant;
}

export function requireWriter(caller: Caller): void {
  if (caller.role !== ADMIN_WRITE_ROLE) {
    throw new AdminError(
      403,
      `only a "${ADMIN_WRITE_ROLE}" admin token may change users or configuration; this token's role is ${caller.role ? `"${caller.role}"` : 'not set'} (read-only)`,
    );
  }
}

/** A user id as stored (lower case); anything that is not a UUID names no user (404). */
export function userId(id: string): string {
  if (!isUuid(id)) throw new AdminError(404, `user "${id}" not found`);
  return id.toLowerCase();
}

/** The users service's context for an admin action: the caller's tenant and request id, source "admin". */
export function scimContext(deps: AdminDeps, caller: Caller): ScimContext {
  return { db: deps.db, tenantId: caller.tenantId, requestId: caller.requestId, source: 'admin', baseUrl: deps.scimBaseUrl, onCommitted: deps.onCommitted };
}

/** Records an admin action as `admin.<action>`, with the admin token and its role. */
export async function auditAction(deps: AdminDeps, caller: Caller, uid: string | null, action: string, detail: Record<string, unknown> = {}) {
  await appendAudit(deps.db, {
    tenantId: caller.tenantId,
    userId: uid,
    action: `admin.${action}`,
    detail: { tokenId: caller.tokenId, role: caller.role, ...detail },
    requestId: caller.requestId,
  });
}
