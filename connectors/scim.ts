/**
 * The `scim` connector: scimflow as a SCIM 2.0 client (RFC 7643/7644) of the application a
 * tenant provisions into. Accounts are `/Users` resources: the profile in the core schema (and
 * the enterprise extension where the target has it), the rest of the account in scimflow's
 * extension where the target advertises it, else in `roles` and `entitlements`
 * (connectors/scim/mapping.ts). Failures are classified by connectors/scim/http.ts.
 *
 * What the target can do is discovered once per connector instance (ServiceProviderConfig,
 * /ResourceTypes, /Schemas) and cached; a failed discovery is tried again on the next call.
 * - ensureAccount: the known id (GET), else `externalId eq`, then `userName eq` (where the target
 *   filters) before POST; a 409 on POST finds the account by userName (filter, else a scan of
 *   /Users) and adopts it. A retry after a crash never makes a second account.
 * - apply and the PUT fallback of setLogin read the resource, overlay what scimflow owns and PUT
 *   it back, with If-Match where the target advertises ETags (a 412 re-reads once).
 * - setLogin: PATCH `active`; PUT when the target has no PATCH or answers 501/405 to it.
 * - terminate: DELETE (a 404 is an account already gone).
 */
import { z } from 'zod';
import { ConnectorError, type AccountPart, type AccountState, type ApplicationConnector, type ConnectorCall, type EnsuredAccount } from './port';
import { classify, isSuccess, resourceOf, scimRequest, type ScimRequest, type ScimResponse, type ScimTransport } from './scim/http';
import { CORE_USER_URN, ENTERPRISE_USER_URN, SCIMFLOW_ACCOUNT_URN, fromScim, mergeParts, toScim, type MappingTarget, type ScimUser } from './scim/mapping';

export { SCIMFLOW_ACCOUNT_URN } from './scim/mapping';

export const DEFAULT_SCIM_TIMEOUT_MS = 10_000;
const PATCH_OP_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** Pages of a /Users scan (only after a 409 on a target that does not filter): 200 pages of up to 100. */
const MAX_SCAN_PAGES = 200;

export const scimConnectorConfigSchema = z.strictObject({
  /** The SCIM base URL, the one /ServiceProviderConfig and /Users hang from: https://app.example.com/scim/v2 */
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL: the SCIM base, e.g. https://app.example.com/scim/v2' }),
  /** Per request, in ms (default 10 000). */
  timeoutMs: z.number().int().min(100).max(120_000).optional(),
  mapping: z
    .strictObject({
      /**
       * Where organisations, licences, provider accounts and access go: `auto` (default) the
       * scimflow extension when the target advertises it, else roles/entitlements;
       * `extension` or `attributes` to force one.
       */
      account: z.enum(['auto', 'extension', 'attributes']).optional(),
      /** The enterprise extension (`organization` = the primary organisation): `auto` (default) when advertised. */
      enterprise: z.enum(['auto', 'always', 'never']).optional(),
    })
    .optional(),
});
export type ScimConnectorConfig = z.infer<typeof scimConnectorConfigSchema>;

export interface ScimConnectorDeps {
  /**
   * The secret sent as `Authorization: Bearer`: the value, or a function that resolves it when a
   * request needs it (a secret store with its own cache; a failure it throws, e.g. a
   * ConnectorError for a secret not set, is the call's failure).
   */
  bearerToken: string | (() => Promise<string>);
  fetch?: typeof fetch;
}

/** What the target said it can do (ServiceProviderConfig), what it stores, and how scimflow maps onto it. */
export interface ScimCapabilities {
  patch: boolean;
  filter: boolean;
  etag: boolean;
  /** Schemas the target advertises (/Schemas ids and the User resource type's extensions). */
  schemas: string[];
  target: MappingTarget;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const supported = (spc: Json, key: string, fallback: boolean) => (isObject(spc[key]) ? (spc[key] as Json).supported === true : fallback);
/** A ListResponse's resources (a bare array accepted too); undefined when the body is neither. */
const resourcesOf = (body: unknown): Json[] | undefined =>
  Array.isArray(body) ? body.filter(isObject) : isObject(body) && Array.isArray(body.Resources) ? body.Resources.filter(isObject) : undefined;

export function createScimConnector(
  config: ScimConnectorConfig,
  deps: ScimConnectorDeps,
): ApplicationConnector & { capabilities(): Promise<ScimCapabilities> } {
  const transport: ScimTransport = {
    baseUrl: config.baseUrl.replace(/\/+$/, ''),
    bearerToken: deps.bearerToken,
    timeoutMs: config.timeoutMs ?? DEFAULT_SCIM_TIMEOUT_MS,
    fetch: deps.fetch ?? fetch,
  };
  const send = (req: ScimRequest) => scimRequest(transport, req);
  const userPath = (id: string) => `/Users/${encodeURIComponent(id)}`;
  let discovery: Promise<ScimCapabilities> | null = null;
  /** Set when the target answered 501/405 to a PATCH although it advertises PATCH (django-scim2's default handlers). */
  let patchRefused = false;

  /** A discovery document; null when the target does not serve it (404, 405, 400, 501). */
  async function discoveryDoc(path: string): Promise<unknown> {
    const res = await send({ method: 'GET', path, operation: `GET ${path}` });
    if (isSuccess(res.status)) return res.body;
    if ([400, 404, 405, 501].includes(res.status)) return null;
    throw classify(res);
  }

  async function discover(): Promise<ScimCapabilities> {
    const spc = await discoveryDoc('/ServiceProviderConfig');
    if (spc !== null && !isObject(spc)) {
      throw new ConnectorError(
        'permanent',
        `the application answered GET /ServiceProviderConfig without a SCIM document; is the base URL the SCIM endpoint (…/scim/v2)?`,
        { operation: 'GET /ServiceProviderConfig' },
      );
    }
    const mapping = config.mapping ?? {};
    const needSchemas = (mapping.account ?? 'auto') === 'auto' || (mapping.enterprise ?? 'auto') === 'auto';
    const schemas = new Set<string>();
    if (needSchemas) {
      const [types, list] = await Promise.all([discoveryDoc('/ResourceTypes'), discoveryDoc('/Schemas')]);
      for (const t of resourcesOf(types) ?? []) {
        if (t.schema !== CORE_USER_URN && t.name !== 'User') continue;
        if (Array.isArray(t.schemaExtensions)) for (const e of t.schemaExtensions) if (isObject(e) && typeof e.schema === 'string') schemas.add(e.schema);
      }
      for (const s of resourcesOf(list) ?? []) if (typeof s.id === 'string') schemas.add(s.id);
    }
    const carrier = mapping.account === 'extension' || (mapping.account !== 'attributes' && schemas.has(SCIMFLOW_ACCOUNT_URN)) ? 'extension' : 'attributes';
    const enterprise = mapping.enterprise === 'always' || (mapping.enterprise !== 'never' && schemas.has(ENTERPRISE_USER_URN));
    const doc = (spc ?? {}) as Json;
    // Without a ServiceProviderConfig: PATCH is tried (a 501 falls back to PUT), filters are tried (their answers checked), no ETags.
    return {
      patch: supported(doc, 'patch', true),
      filter: supported(doc, 'filter', true),
      etag: supported(doc, 'etag', false),
      schemas: [...schemas],
      target: { carrier, enterprise },
    };
  }

  function capabilities(): Promise<ScimCapabilities> {
    if (!discovery) {
      discovery = discover();
      discovery.catch(() => {
        discovery = null;
      });
    }
    return discovery;
  }

  /** The resource and its version (ETag header, else meta.version); null on 404. */
  async function getUser(id: string): Promise<{ resource: ScimUser & { id: string }; version: string | undefined } | null> {
    const res = await send({ method: 'GET', path: userPath(id), operation: 'GET /Users/{id}' });
    if (res.status === 404) return null;
    if (!isSuccess(res.status)) throw classify(res);
    const resource = resourceOf(res);
    const meta = isObject(resource.meta) ? resource.meta : {};
    const version = res.headers.get('etag') ?? (typeof meta.version === 'string' ? meta.version : undefined);
    return { resource, version };
  }

  type Attr = 'externalId' | 'userName';
  /** userName is case-insensitive in SCIM (RFC 7643 §4.1.1); externalId is case-exact. */
  const matches = (r: Json, attr: Attr, value: string) =>
    typeof r[attr] === 'string' && (attr === 'userName' ? (r[attr] as string).toLowerCase() === value.toLowerCase() : r[attr] === value);

  function oneMatch(found: Json[], attr: Attr, res: ScimResponse): (ScimUser & { id: string }) | null {
    if (found.length > 1) {
      throw new ConnectorError('conflict', `the application holds ${found.length} accounts with this ${attr}; scimflow cannot tell which one is the user's`, {
        status: res.status,
        operation: res.operation,
      });
    }
    return found.length === 1 ? resourceOf({ ...res, body: found[0] }) : null;
  }

  /**
   * The account whose `attr` is `value`, by filter: null when none; 'unusable' when the target
   * refuses the filter (400, 501) or ignores it (answers with resources that do not match).
   */
  async function findByFilter(attr: Attr, value: string): Promise<(ScimUser & { id: string }) | null | 'unusable'> {
    const filter = `${attr} eq ${JSON.stringify(value)}`;
    const res = await send({ method: 'GET', path: `/Users?filter=${encodeURIComponent(filter)}`, operation: `GET /Users?filter=${attr} eq …` });
    if (res.status === 400 || res.status === 501) return 'unusable';
    if (!isSuccess(res.status)) throw classify(res);
    const resources = resourcesOf(res.body);
    if (!resources) return 'unusable';
    const found = resources.filter((r) => matches(r, attr, value));
    if (found.length < resources.length) return 'unusable';
    return oneMatch(found, attr, res);
  }

  /** The account whose userName is `value`, page by page through /Users (a target without filters, after a 409). */
  async function findByScan(attr: Attr, value: string): Promise<(ScimUser & { id: string }) | null> {
    const found: Json[] = [];
    let startIndex = 1;
    let last: ScimResponse | undefined;
    for (let page = 0; page < MAX_SCAN_PAGES; page++) {
      const res = await send({ method: 'GET', path: `/Users?startIndex=${startIndex}&count=100`, operation: 'GET /Users (scan)' });
      if (!isSuccess(res.status)) throw classify(res);
      last = res;
      const resources = resourcesOf(res.body) ?? [];
      found.push(...resources.filter((r) => matches(r, attr, value)));
      const total = isObject(res.body) && typeof res.body.totalResults === 'number' ? res.body.totalResults : undefined;
      startIndex += resources.length;
      if (resources.length === 0 || (total !== undefined && startIndex > total)) return last ? oneMatch(found, attr, last) : null;
    }
    throw new ConnectorError(
      'conflict',
      `the application holds an account with this ${attr} that scimflow could not find among its first ${MAX_SCAN_PAGES} pages of /Users`,
      {
        operation: 'GET /Users (scan)',
      },
    );
  }

  /**
   * Reads the account, builds the resource to PUT from it, PUTs it (If-Match where the target
   * has ETags); a 412 reads again and tries once more, a second one is transient.
   */
  async function readModifyWrite(call: ConnectorCall, appId: string, build: (current: ScimUser) => ScimUser): Promise<void> {
    const caps = await capabilities();
    for (let attempt = 0; ; attempt++) {
      const got = await getUser(appId);
      if (!got)
        throw new ConnectorError('permanent', 'the account no longer exists in the application (404 on GET /Users/{id})', {
          status: 404,
          operation: 'GET /Users/{id}',
        });
      const body = { ...build(got.resource), id: got.resource.id };
      const res = await send({
        method: 'PUT',
        path: userPath(appId),
        operation: 'PUT /Users/{id}',
        body,
        ifMatch: caps.etag ? got.version : undefined,
        idempotencyKey: call.idempotencyKey,
      });
      if (isSuccess(res.status)) {
        if (res.hasBody) resourceOf(res);
        return;
      }
      if (res.status === 412 && attempt === 0) continue;
      throw classify(res, { write: true });
    }
  }

  return {
    kind: 'scim',
    readsBack: true,
    capabilities,

    async ensureAccount(call: ConnectorCall, account: AccountState, knownAppId: string | null): Promise<EnsuredAccount> {
      const caps = await capabilities();
      if (knownAppId) {
        const known = await getUser(knownAppId);
        if (known) return { appId: known.resource.id, created: false };
      }
      const userName = account.profile.email;
      if (!userName) throw new ConnectorError('permanent', 'the account has no email to use as its userName in the application', { operation: 'POST /Users' });
      if (caps.filter) {
        const keys: [Attr, string | null][] = [
          ['externalId', account.profile.externalId],
          ['userName', userName],
        ];
        for (const [attr, value] of keys) {
          if (!value) continue;
          const found = await findByFilter(attr, value);
          if (found && found !== 'unusable') return { appId: found.id, created: false };
        }
      }
      const res = await send({
        method: 'POST',
        path: '/Users',
        operation: 'POST /Users',
        body: toScim({ ...account, loginEnabled: false }, caps.target),
        idempotencyKey: call.idempotencyKey,
      });
      if (isSuccess(res.status)) return { appId: resourceOf(res).id, created: true };
      if (res.status !== 409) throw classify(res);
      // The login is taken: an earlier try made the account (a timeout after the target accepted), or someone else holds it.
      const byFilter = await findByFilter('userName', userName);
      const existing = byFilter === 'unusable' || byFilter === null ? await findByScan('userName', userName) : byFilter;
      if (existing) return { appId: existing.id, created: false };
      throw classify(res);
    },

    async apply(call: ConnectorCall, appId: string, account: AccountState, parts: readonly AccountPart[]): Promise<void> {
      if (parts.length === 0) return;
      const caps = await capabilities();
      await readModifyWrite(call, appId, (current) => mergeParts(current, account, parts, caps.target));
    },

    async setLogin(call: ConnectorCall, appId: string, enabled: boolean): Promise<void> {
      const caps = await capabilities();
      if (caps.patch && !patchRefused) {
        const res = await send({
          method: 'PATCH',
          path: userPath(appId),
          operation: 'PATCH /Users/{id}',
          body: { schemas: [PATCH_OP_URN], Operations: [{ op: 'replace', path: 'active', value: enabled }] },
          idempotencyKey: call.idempotencyKey,
        });
        if (isSuccess(res.status)) return;
        if (res.status !== 501 && res.status !== 405) throw classify(res, { write: true });
        patchRefused = true;
      }
      await readModifyWrite(call, appId, (current) => {
        const { meta: _meta, groups: _groups, ...rest } = current;
        return { ...rest, active: enabled };
      });
    },

    async terminate(call: ConnectorCall, appId: string): Promise<void> {
      await capabilities();
      const res = await send({ method: 'DELETE', path: userPath(appId), operation: 'DELETE /Users/{id}', idempotencyKey: call.idempotencyKey });
      if (isSuccess(res.status) || res.status === 404) return;
      throw classify(res, { write: true });
    },

    async readAccount(_call: ConnectorCall, appId: string): Promise<AccountState | null> {
      const caps = await capabilities();
      const got = await getUser(appId);
      return got ? fromScim(got.resource, caps.target) : null;
    },

    async check(): Promise<{ ok: boolean; detail: string }> {
      try {
        discovery = null;
        const caps = await capabilities();
        // Discovery may be served without authentication (RFC 7644 §4): /Users proves the token.
        const res = await send({ method: 'GET', path: '/Users?startIndex=1&count=1', operation: 'GET /Users' });
        if (!isSuccess(res.status)) throw classify(res);
        if (!resourcesOf(res.body)) {
          throw new ConnectorError(
            'permanent',
            'the application answered GET /Users without a SCIM ListResponse; is the base URL the SCIM endpoint (…/scim/v2)?',
          );
        }
        const yes = (b: boolean) => (b ? 'yes' : 'no');
        return {
          ok: true,
          detail:
            `reached ${transport.baseUrl} with the configured token: PATCH ${yes(caps.patch)}, filter ${yes(caps.filter)}, ETag ${yes(caps.etag)}; ` +
            `enterprise extension ${yes(caps.target.enterprise)}; account data in ${caps.target.carrier === 'extension' ? SCIMFLOW_ACCOUNT_URN : 'roles and entitlements'}`,
        };
      } catch (err) {
        return { ok: false, detail: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
