/**
 * The `http` connector: a vendor's existing REST user API, declared in the tenant's
 * configuration (domain/connector-config.ts; docs/connectors.md), no code.
 *
 * Each call renders its operation's path and body templates from the account, sends them with
 * the configured auth (static bearer, OAuth 2.0 client credentials with the token kept until a
 * minute before it expires, or an HMAC-SHA256 signature) and an `Idempotency-Key` on every
 * write, within the configured timeout, and classifies the answer:
 *
 * - 2xx: done (the account id and the effective state read by JSON pointer from the answer;
 *   an answer without them is `permanent`, saying what was missing);
 * - 400, 403, 422, other 4xx, and 404 on a write: `permanent`, with the application's message
 *   (JSON `detail`, `message`, `error`, `error_description`, else the text; shortened);
 * - 401: the OAuth token is fetched again once; still refused: `permanent`;
 * - 409: `conflict`;
 * - 408, 425, 429, 5xx, no answer, a timeout: `transient`, with `Retry-After` (seconds or an
 *   HTTP date) as retryAfterMs.
 *
 * The idempotency key of a request is the step's (`<workflowId>:<step>:<version>`) with the
 * operation and a digest of the body: a retry of the same request sends the same key, and a
 * different request of the same step (another part, a changed body) a different one.
 */
import crypto from 'node:crypto';
import type { HttpConnectorConfig, HttpOperation } from '../domain/connector-config';
import { APPLY_PARTS } from '../domain/connector-config';
import { LIST_ITEM_FIELDS, renderBody, renderPath, resolvePointer } from '../domain/connector-template';
import { parseDuration } from '../domain/duration';
import { ConnectorError, type AccountPart, type AccountState, type ApplicationConnector, type ConnectorCall, type EnsuredAccount } from './port';
import type { ConnectorContext } from './registry';
import { emptyAccount } from './account-state';

/** Longest application message kept (it becomes the user's lastError). */
const MESSAGE_MAX = 300;
/** An OAuth token is fetched again this long before it expires. */
const TOKEN_MARGIN_MS = 60_000;

/** The application's message from an error answer: JSON detail/message/error/error_description, else the text; one line, shortened. */
export function applicationMessage(text: string): string {
  const doc = parseJson(text) as Record<string, unknown> | undefined;
  const pick = (v: unknown): string | undefined =>
    typeof v === 'string' && v.trim()
      ? v
      : v && typeof v === 'object'
        ? pick((v as Record<string, unknown>).message ?? (v as Record<string, unknown>).detail)
        : undefined;
  const found = doc && typeof doc === 'object' ? (pick(doc.detail) ?? pick(doc.message) ?? pick(doc.error_description) ?? pick(doc.error)) : undefined;
  const message = (found ?? text)
    .replace(/<[^>]*>/g, ' ')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX - 1)}…` : message || '(no message)';
}

/** The JSON of an answer's text; undefined when empty or not JSON. */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Retry-After: seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** How an answer's status is classified (see the module comment); `write`: the request changes something. */
export function classifyStatus(status: number, write: boolean): 'ok' | 'notFound' | 'unauthorized' | 'permanent' | 'conflict' | 'transient' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 404) return write ? 'permanent' : 'notFound';
  if (status === 401) return 'unauthorized';
  if (status === 409) return 'conflict';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'transient';
  return 'permanent';
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface Answer {
  status: number;
  doc: unknown;
  text: string;
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
}

export interface HttpConnector extends ApplicationConnector {
  /** The attributes readAccount reports (those `readAccount.read` maps); the rest read as empty. */
  readonly readAttributes: readonly string[];
}

export function httpConnector(cfg: HttpConnectorConfig, ctx: ConnectorContext, options: { now?: () => number } = {}): HttpConnector {
  const now = options.now ?? Date.now;
  const baseUrl = cfg.baseUrl.replace(/\/+$/, '');
  const timeoutMs = parseDuration(cfg.timeout);
  let token: Promise<{ value: string; expiresAt: number }> | undefined;

  const shortKey = (text: string) => crypto.createHash('sha256').update(text).digest('base64url').slice(0, 12);

  /** Sends a request, with no classification beyond "an answer or transient". */
  async function send(operation: string, method: string, url: string, init: { headers: Record<string, string>; body?: string }): Promise<Answer> {
    const res = await ctx
      .fetch(url, { method, headers: init.headers, body: init.body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })
      .catch((err: Error & { cause?: { code?: string; message?: string } }) => {
        const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
        const why = timedOut ? `no answer within ${cfg.timeout}` : `${new URL(url).host} unreachable (${err.cause?.code ?? err.cause?.message ?? err.message})`;
        throw new ConnectorError('transient', why, { operation });
      });
    const text = await res.text().catch((err: Error) => {
      throw new ConnectorError('transient', `the answer was cut off (${err.message})`, { operation, status: res.status });
    });
    const doc = parseJson(text);
    if (classifyStatus(res.status, false) === 'transient') {
      throw new ConnectorError('transient', `HTTP ${res.status}: ${applicationMessage(text)}`, {
        operation,
        status: res.status,
        retryAfterMs: retryAfterMs(res.headers.get('retry-after'), now()),
      });
    }
    return { status: res.status, doc, text };
  }

  async function accessToken(refresh = false): Promise<string> {
    const oauth = cfg.auth.oauth2ClientCredentials!;
    if (refresh) token = undefined;
    const current = token;
    if (current) {
      const t = await current.catch(() => undefined);
      if (t && t.expiresAt - TOKEN_MARGIN_MS > now()) return t.value;
      if (token === current) token = undefined;
    }
    token ??= (async () => {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: oauth.clientId,
        client_secret: await ctx.secret(oauth.clientSecret.secret),
      });
      if (oauth.scope) body.set('scope', oauth.scope);
      const answer = await send('token', 'POST', oauth.tokenUrl, {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: body.toString(),
      });
      if (answer.status < 200 || answer.status >= 300)
        throw new ConnectorError('permanent', `the token endpoint refused the client credentials (HTTP ${answer.status}): ${applicationMessage(answer.text)}`, {
          operation: 'token',
          status: answer.status,
        });
      const doc = (answer.doc ?? {}) as { access_token?: unknown; expires_in?: unknown };
      if (typeof doc.access_token !== 'string' || !doc.access_token)
        throw new ConnectorError('permanent', 'the token endpoint answered without an access_token', { operation: 'token', status: answer.status });
      const expiresIn = typeof doc.expires_in === 'number' ? doc.expires_in : Number(doc.expires_in ?? 3600) || 3600;
      return { value: doc.access_token, expiresAt: now() + expiresIn * 1000 };
    })();
    const pending = token;
    pending.catch(() => {
      if (token === pending) token = undefined;
    });
    return (await pending).value;
  }

  async function authHeaders(method: string, url: string, body: string | undefined, refresh: boolean): Promise<Record<string, string>> {
    if (cfg.auth.bearer) return { Authorization: `Bearer ${await ctx.secret(cfg.auth.bearer.secret)}` };
    if (cfg.auth.oauth2ClientCredentials) return { Authorization: `Bearer ${await accessToken(refresh)}` };
    const hmac = cfg.auth.hmac!;
    const u = new URL(url);
    const timestamp = Math.floor(now() / 1000);
    const signature = crypto
      .createHmac('sha256', await ctx.secret(hmac.secret))
      .update(`${method}\n${u.pathname}${u.search}\n${timestamp}\n${body ?? ''}`)
      .digest('hex');
    return { [hmac.header]: `t=${timestamp},v1=${signature}` };
  }

  /**
   * One operation's request. `notFound`: what a 404 (or 410) means here (a value to return)
   * instead of a refusal. Throws ConnectorError for everything that is not 2xx.
   */
  async function request(
    operation: string,
    op: Pick<HttpOperation, 'method' | 'path' | 'body'>,
    context: Record<string, unknown>,
    call: ConnectorCall,
    notFound?: 'accept',
  ): Promise<Answer & { notFound?: true }> {
    const url = `${baseUrl}${renderPath(op.path, context)}`;
    const body = op.body !== undefined ? JSON.stringify(renderBody(op.body, context)) : undefined;
    const write = WRITE_METHODS.has(op.method);
    const headers = (auth: Record<string, string>): Record<string, string> => ({
      Accept: 'application/json',
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(write ? { 'Idempotency-Key': `${call.idempotencyKey}:${operation}${body !== undefined ? `:${shortKey(body)}` : ''}` } : {}),
      ...auth,
    });
    let answer = await send(operation, op.method, url, { headers: headers(await authHeaders(op.method, url, body, false)), body });
    if (answer.status === 401 && cfg.auth.oauth2ClientCredentials) {
      answer = await send(operation, op.method, url, { headers: headers(await authHeaders(op.method, url, body, true)), body });
    }
    const kind = classifyStatus(answer.status, write && notFound === undefined);
    if (kind === 'ok') return answer;
    if ((kind === 'notFound' || answer.status === 404 || answer.status === 410) && notFound === 'accept') return { ...answer, notFound: true };
    const message = applicationMessage(answer.text);
    if (kind === 'conflict') throw new ConnectorError('conflict', message, { operation, status: answer.status });
    if (kind === 'unauthorized')
      throw new ConnectorError('permanent', `the application refused scimflow's credentials (HTTP 401): ${message}; check connector.auth and its secret`, {
        operation,
        status: 401,
      });
    throw new ConnectorError('permanent', message, { operation, status: answer.status });
  }

  /** The id at `pointer` in an answer; `emptyList` when a search found nothing; otherwise a permanent failure naming what was missing. */
  function idIn(operation: string, answer: Answer, pointer: string): string | 'emptyList' {
    if (answer.doc === undefined)
      throw new ConnectorError('permanent', `the application's answer to ${operation} is not JSON (expected the account id at ${pointer || '/'})`, {
        operation,
        status: answer.status,
      });
    const found = resolvePointer(answer.doc, pointer);
    if (!found.found) {
      if (found.missing === 'emptyList') return 'emptyList';
      throw new ConnectorError('permanent', `the application's answer to ${operation} has no ${found.at} (expected the account id at ${pointer})`, {
        operation,
        status: answer.status,
      });
    }
    if ((typeof found.value !== 'string' || found.value === '') && typeof found.value !== 'number')
      throw new ConnectorError(
        'permanent',
        `the application's answer to ${operation} has no account id at ${pointer} (found ${JSON.stringify(found.value) ?? 'nothing'})`,
        {
          operation,
          status: answer.status,
        },
      );
    return String(found.value);
  }

  const contextOf = (call: ConnectorCall, extra: Record<string, unknown>) => ({ userId: call.userId, idempotencyKey: call.idempotencyKey, ...extra });
  /** A lookup whose placeholders all render empty would search for nothing (or everything): skipped. */
  const searchesForNothing = (op: HttpOperation, context: Record<string, unknown>) => {
    const names = [...`${op.path} ${JSON.stringify(op.body ?? '')}`.matchAll(/\{\{\s*([^{}]*?)\s*\}\}/g)].map((m) => m[1]);
    return names.length > 0 && names.every((n) => renderPath(`{{${n}}}`, context) === '');
  };

  const readAttributes = Object.keys(cfg.readAccount?.read ?? {});

  return {
    kind: 'http',
    readsBack: cfg.readAccount !== undefined,
    readAttributes,

    async ensureAccount(call: ConnectorCall, account: AccountState, knownAppId: string | null): Promise<EnsuredAccount> {
      if (knownAppId) return { appId: knownAppId, created: false };
      const context = contextOf(call, { ...account });
      for (const find of Array.isArray(cfg.findAccount) ? cfg.findAccount : [cfg.findAccount]) {
        if (searchesForNothing(find, context)) continue;
        const answer = await request('findAccount', find, context, call, 'accept');
        if (answer.notFound) continue;
        const id = idIn('findAccount', answer, find.id as string);
        if (id !== 'emptyList') return { appId: id, created: false };
      }
      const answer = await request('createAccount', cfg.createAccount, { ...context, loginEnabled: false }, call);
      const id = idIn('createAccount', answer, cfg.createAccount.id as string);
      if (id === 'emptyList')
        throw new ConnectorError('permanent', `the application's answer to createAccount has no account id at ${cfg.createAccount.id}`, {
          operation: 'createAccount',
          status: answer.status,
        });
      return { appId: id, created: true };
    },

    async apply(call: ConnectorCall, appId: string, account: AccountState, parts: readonly AccountPart[]): Promise<void> {
      for (const part of APPLY_PARTS) {
        const op = cfg.apply[part];
        if (!parts.includes(part) || !op) continue;
        await request(`apply.${part}`, op, contextOf(call, { ...account, appId }), call);
      }
    },

    async setLogin(call: ConnectorCall, appId: string, enabled: boolean): Promise<void> {
      await request('setLogin', cfg.setLogin, contextOf(call, { appId, loginEnabled: enabled }), call);
    },

    async terminate(call: ConnectorCall, appId: string): Promise<void> {
      await request('terminate', cfg.terminate, contextOf(call, { appId }), call, 'accept');
    },

    async readAccount(call: ConnectorCall, appId: string): Promise<AccountState | null> {
      const op = cfg.readAccount;
      if (!op) throw new ConnectorError('permanent', 'connector.readAccount is not configured: the application is not read back', { operation: 'readAccount' });
      const answer = await request('readAccount', op, contextOf(call, { appId }), call, 'accept');
      if (answer.notFound) return null;
      if (answer.doc === undefined) throw new ConnectorError('permanent', "the application's answer to readAccount is not JSON", { operation: 'readAccount' });
      const state = emptyAccount() as unknown as Record<string, unknown>;
      for (const [attribute, mapping] of Object.entries(op.read)) {
        const at = typeof mapping === 'string' ? mapping : mapping.at;
        const found = resolvePointer(answer.doc, at);
        if (!found.found)
          throw new ConnectorError('permanent', `the application's answer to readAccount has no ${found.at} (expected ${attribute} at ${at})`, {
            operation: 'readAccount',
            status: answer.status,
          });
        let value = found.value;
        if (typeof mapping === 'object') {
          const list = Array.isArray(value) ? value : [];
          const item = mapping.item;
          value = list.map((entry) => {
            if (typeof item === 'string') {
              const v = resolvePointer(entry, item);
              return v.found ? v.value : null;
            }
            const fields = LIST_ITEM_FIELDS[attribute] ?? [];
            return Object.fromEntries(
              fields.map((f) => {
                const v = item[f] !== undefined ? resolvePointer(entry, item[f]) : resolvePointer(entry, `/${f}`);
                return [f, v.found ? v.value : null];
              }),
            );
          });
        }
        setAt(state, attribute, value ?? null);
      }
      return state as unknown as AccountState;
    },

    async check() {
      const started = now();
      try {
        const url = `${baseUrl}/`;
        const answer = await send('check', 'GET', url, { headers: { Accept: 'application/json', ...(await authHeaders('GET', url, undefined, false)) } });
        const ms = now() - started;
        if (answer.status === 401 || answer.status === 403)
          return { ok: false, detail: `reached ${baseUrl}, but it refused scimflow's credentials (HTTP ${answer.status}): ${applicationMessage(answer.text)}` };
        return { ok: true, detail: `reached ${baseUrl} with the configured credentials (HTTP ${answer.status}, ${ms} ms)` };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    },
  };
}
