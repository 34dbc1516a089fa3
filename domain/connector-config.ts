/**
 * The `connector` section of a tenant's configuration (docs/connectors.md): where the changes
 * scimflow decides for the tenant's users go.
 *
 * - `directory` (the default, also when the section is absent): scimflow's own ledger is the
 *   application.
 * - `http`: a REST user API, declared per operation: method, path and JSON body templates
 *   (domain/connector-template.ts), where the account id is in the answer (JSON pointer), and
 *   where readAccount finds each attribute. Auth by a static bearer token, OAuth 2.0 client
 *   credentials or an HMAC-SHA256 signature, each naming a secret (never holding one).
 * - `scim`: an outbound SCIM 2.0 client of the application (connectors/scim.ts).
 *
 * Every placeholder is checked here, with its path; that the named secrets exist and that the
 * URL answers is checked online by connectors/validate.ts (the CLI's validate and load).
 */
import { z } from 'zod';
import { httpUrl } from './http-url';
import { ACCOUNT_ATTRIBUTES, CALL_NAMES, isJsonPointer, LIST_ITEM_FIELDS, templateProblems, type TemplateScope } from './connector-template';
import { parseDuration } from './duration';
import { closestKey } from './strict-object';

/** Parts of an account `apply` sends (connectors/port.ts ACCOUNT_PARTS). */
export const APPLY_PARTS = ['profile', 'organisations', 'licences', 'providerAccounts', 'access'] as const;

const secretName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'a secret name is 1-64 characters of A-Z a-z 0-9 . _ - (the value is set with `npm run tenant-config -- set-secret`)',
  );
const secretRef = z.strictObject({ secret: secretName });

const timeout = z
  .string()
  .refine((v) => {
    try {
      const ms = parseDuration(v);
      return ms >= 100 && ms <= 20_000;
    } catch {
      return false;
    }
  }, 'must be a duration from 100ms to 20s, such as 5s (several calls run within one 30-second step)')
  .default('10s');

const authSchema = z
  .strictObject({
    /** `Authorization: Bearer <secret>`. */
    bearer: secretRef.optional(),
    /** OAuth 2.0 client credentials (RFC 6749 §4.4): a token from tokenUrl, kept until shortly before it expires. */
    oauth2ClientCredentials: z
      .strictObject({
        tokenUrl: httpUrl,
        clientId: z.string().min(1),
        clientSecret: secretRef,
        scope: z.string().min(1).optional(),
      })
      .optional(),
    /** An HMAC-SHA256 of method, path, timestamp and body in a header (default X-Signature), keyed with the secret. */
    hmac: z
      .strictObject({
        secret: secretName,
        header: z
          .string()
          .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
          .default('X-Signature'),
      })
      .optional(),
  })
  .superRefine((auth, ctx) => {
    const given = (['bearer', 'oauth2ClientCredentials', 'hmac'] as const).filter((k) => auth[k] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one of bearer, oauth2ClientCredentials, hmac${given.length ? ` (not ${given.join(' and ')})` : ''}`,
      });
  });

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const pointer = z.string().refine(isJsonPointer, 'must be a JSON pointer such as /id or /users/0/id (RFC 6901)');

/** One request: method (defaulted per operation), path (appended to baseUrl) and body templates, and where the account id is in the answer. */
function operation(method: (typeof METHODS)[number], options: { id?: boolean } = {}) {
  return z.strictObject({
    method: z.enum(METHODS).default(method),
    path: z.string().regex(/^\//, 'must start with / (it is appended to baseUrl)'),
    body: z.unknown().optional(),
    /** Where the account's id is in the answer (createAccount, findAccount). */
    id: options.id ? pointer : pointer.optional(),
  });
}

/** Where an attribute is in readAccount's answer: a pointer, or for a list a pointer to it and where each entry's fields are. */
const readMapping = z.union([pointer, z.strictObject({ at: pointer, item: z.union([pointer, z.record(z.string(), pointer)]) })]);

const httpSchema = z.strictObject({
  kind: z.literal('http'),
  baseUrl: httpUrl,
  auth: authSchema,
  timeout,
  /** Looks for an account an earlier try made, in order, before createAccount; a lookup whose placeholders are all empty is skipped. */
  findAccount: z.union([operation('GET', { id: true }), z.array(operation('GET', { id: true })).min(1)]),
  createAccount: operation('POST', { id: true }),
  /** One operation per part of the account; a part without one is not sent (the application has no such part). */
  apply: z
    .strictObject({
      profile: operation('PUT').optional(),
      organisations: operation('PUT').optional(),
      licences: operation('PUT').optional(),
      providerAccounts: operation('PUT').optional(),
      access: operation('PUT').optional(),
    })
    .prefault({}),
  setLogin: operation('POST'),
  /** An answer of 404 or 410 means the account is already gone, which is what terminate wants. */
  terminate: operation('DELETE'),
  /** The account's effective state; `read` maps attributes to where they are in the answer. Without it the connector does not read back. */
  readAccount: operation('GET')
    .extend({ read: z.record(z.string(), readMapping) })
    .optional(),
});

const scimSchema = z.strictObject({
  kind: z.literal('scim'),
  /** The SCIM base URL, the one /ServiceProviderConfig and /Users hang from. */
  baseUrl: httpUrl,
  auth: z.strictObject({ bearer: secretRef }),
  timeout,
  /** Where the account's parts go in the target's resources (connectors/scim.ts). */
  mapping: z
    .strictObject({
      /** `auto` (default): scimflow's extension when the target advertises it, else roles and entitlements. */
      account: z.enum(['auto', 'extension', 'attributes']).optional(),
      /** The enterprise extension: `auto` (default) when the target advertises it. */
      enterprise: z.enum(['auto', 'always', 'never']).optional(),
    })
    .optional(),
});

const directorySchema = z.strictObject({ kind: z.literal('directory') });

const ACCOUNT_SCOPE = [...ACCOUNT_ATTRIBUTES, 'userId', 'idempotencyKey'];
/** What each operation's templates may name. */
export const OPERATION_SCOPES: Record<string, readonly string[]> = {
  findAccount: ACCOUNT_SCOPE,
  createAccount: ACCOUNT_SCOPE,
  apply: [...ACCOUNT_SCOPE, 'appId'],
  setLogin: [...CALL_NAMES, 'loginEnabled'],
  terminate: CALL_NAMES,
  readAccount: CALL_NAMES,
};

type Path = (string | number)[];

/** The placeholders and pointers of an `http` connector, every problem with its path. */
function httpProblems(cfg: z.output<typeof httpSchema>, at: Path): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  const check = (op: { method: string; path: string; body?: unknown } | undefined, name: string, scopeName: string, path: Path) => {
    if (!op) return;
    const scope: TemplateScope = { names: OPERATION_SCOPES[scopeName], operation: name };
    problems.push(...templateProblems(op.path, scope, [...path, 'path']));
    if (op.body !== undefined) {
      if (op.method === 'GET' || op.method === 'DELETE') problems.push({ path: [...path, 'body'], message: `a ${op.method} request has no body` });
      problems.push(...templateProblems(op.body, scope, [...path, 'body']));
    }
  };
  const finds = Array.isArray(cfg.findAccount) ? cfg.findAccount : [cfg.findAccount];
  finds.forEach((op, i) => check(op, 'findAccount', 'findAccount', Array.isArray(cfg.findAccount) ? [...at, 'findAccount', i] : [...at, 'findAccount']));
  check(cfg.createAccount, 'createAccount', 'createAccount', [...at, 'createAccount']);
  for (const part of APPLY_PARTS) check(cfg.apply[part], `apply.${part}`, 'apply', [...at, 'apply', part]);
  check(cfg.setLogin, 'setLogin', 'setLogin', [...at, 'setLogin']);
  check(cfg.terminate, 'terminate', 'terminate', [...at, 'terminate']);
  check(cfg.readAccount, 'readAccount', 'readAccount', [...at, 'readAccount']);
  for (const [attribute, mapping] of Object.entries(cfg.readAccount?.read ?? {})) {
    const path = [...at, 'readAccount', 'read', attribute];
    if (!ACCOUNT_ATTRIBUTES.includes(attribute)) {
      const near = closestKey(attribute, ACCOUNT_ATTRIBUTES);
      problems.push({
        path,
        message: `unknown attribute "${attribute}"${near ? `; did you mean "${near}"?` : ' (the attributes are listed in docs/connectors.md)'}`,
      });
      continue;
    }
    if (typeof mapping === 'object') {
      const fields = LIST_ITEM_FIELDS[attribute];
      if (fields === undefined) problems.push({ path: [...path, 'at'], message: `${attribute} is not a list; map it to a pointer` });
      else if (typeof mapping.item === 'object') {
        if (fields.length === 0) problems.push({ path: [...path, 'item'], message: `an entry of ${attribute} is text: give one pointer` });
        for (const field of Object.keys(mapping.item))
          if (!fields.includes(field))
            problems.push({
              path: [...path, 'item', field],
              message: `unknown field "${field}"; the fields of an entry of ${attribute} are: ${fields.join(', ')}`,
            });
      } else if (fields.length > 0) problems.push({ path: [...path, 'item'], message: `an entry of ${attribute} has fields (${fields.join(', ')}): map each` });
    }
  }
  return problems;
}

export const connectorSchema = z
  .discriminatedUnion('kind', [directorySchema, httpSchema, scimSchema], {
    error: (iss) => (iss.code === 'invalid_union' ? 'kind must be directory, http or scim' : undefined),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.kind === 'http') for (const p of httpProblems(cfg, [])) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  });

export type ConnectorConfig = z.output<typeof connectorSchema>;
export type HttpConnectorConfig = Extract<ConnectorConfig, { kind: 'http' }>;
export type ScimConnectorConfig = Extract<ConnectorConfig, { kind: 'scim' }>;
export type HttpOperation = HttpConnectorConfig['createAccount'];

export const DIRECTORY_CONNECTOR: ConnectorConfig = Object.freeze({ kind: 'directory' });

/** The tenant's connector: as configured, else `directory`. */
export function connectorOf(cfg: { connector?: ConnectorConfig }): ConnectorConfig {
  return cfg.connector ?? DIRECTORY_CONNECTOR;
}

/** The names of the secrets a connector configuration refers to, each with its path. */
export function secretReferences(cfg: ConnectorConfig): { name: string; path: Path }[] {
  if (cfg.kind === 'directory') return [];
  if (cfg.kind === 'scim') return [{ name: cfg.auth.bearer.secret, path: ['connector', 'auth', 'bearer', 'secret'] }];
  const refs: { name: string; path: Path }[] = [];
  if (cfg.auth.bearer) refs.push({ name: cfg.auth.bearer.secret, path: ['connector', 'auth', 'bearer', 'secret'] });
  if (cfg.auth.oauth2ClientCredentials)
    refs.push({ name: cfg.auth.oauth2ClientCredentials.clientSecret.secret, path: ['connector', 'auth', 'oauth2ClientCredentials', 'clientSecret', 'secret'] });
  if (cfg.auth.hmac) refs.push({ name: cfg.auth.hmac.secret, path: ['connector', 'auth', 'hmac', 'secret'] });
  return refs;
}
