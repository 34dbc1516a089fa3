/**
 * One SCIM request to the target, and what its failure means (connectors/port.ts ConnectorError):
 *
 * | answer                                   | kind        |
 * |------------------------------------------|-------------|
 * | 400 (scimType and detail in the message) | permanent   |
 * | 401, 403                                 | permanent: the credentials were refused |
 * | 404 on a write                           | permanent: the account is gone |
 * | 409                                      | conflict    |
 * | 412 (after the caller's one re-read)     | transient   |
 * | 429, 5xx (501 aside), network, timeout   | transient, `Retry-After` (seconds or HTTP-date) as retryAfterMs |
 * | 501, other 4xx                           | permanent   |
 * | 2xx without a SCIM resource (no `id`)    | permanent   |
 *
 * Callers decide what a 404, 409, 412 or 501 means for their operation before classifying.
 */
import { ConnectorError } from '../port';

export const SCIM_CONTENT_TYPE = 'application/scim+json';

type Json = Record<string, unknown>;

export interface ScimResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined when empty or not JSON. */
  body: unknown;
  /** Whether the answer had a body at all (a 204 has none; an HTML page has one that is not JSON). */
  hasBody: boolean;
  /** What the request was, for messages and ConnectorError.details.operation: `PUT /Users/{id}`. */
  operation: string;
}

export interface ScimRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the base URL, starting with `/`, already encoded. */
  path: string;
  /** The operation as shown in errors (path with the id replaced, so no personal data). */
  operation: string;
  body?: unknown;
  ifMatch?: string;
  idempotencyKey?: string;
}

export interface ScimTransport {
  baseUrl: string;
  bearerToken: string | (() => Promise<string>);
  timeoutMs: number;
  fetch: typeof fetch;
}

/** `Retry-After` in ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Sends one request; a network failure or timeout is a transient ConnectorError, any HTTP answer is returned. */
export async function scimRequest(t: ScimTransport, req: ScimRequest): Promise<ScimResponse> {
  const token = typeof t.bearerToken === 'string' ? t.bearerToken : await t.bearerToken();
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: `${SCIM_CONTENT_TYPE}, application/json` };
  if (req.body !== undefined) headers['content-type'] = SCIM_CONTENT_TYPE;
  if (req.ifMatch) headers['if-match'] = req.ifMatch;
  if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;
  let res: Response;
  try {
    res = await t.fetch(`${t.baseUrl}${req.path}`, {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(t.timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    const timedOut = e?.name === 'TimeoutError' || e?.name === 'AbortError';
    const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
    throw new ConnectorError(
      'transient',
      timedOut
        ? `the application did not answer ${req.operation} within ${t.timeoutMs} ms`
        : `the application could not be reached (${req.operation}): ${cause?.code ?? cause?.message ?? e?.message ?? String(err)}`,
      { operation: req.operation },
    );
  }
  let text = '';
  try {
    text = await res.text();
  } catch (err) {
    throw new ConnectorError('transient', `the application's answer to ${req.operation} broke off: ${(err as Error).message}`, {
      status: res.status,
      operation: req.operation,
    });
  }
  let body: unknown;
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { status: res.status, headers: res.headers, body, hasBody: text.trim() !== '', operation: req.operation };
}

/** The SCIM error's `scimType` and `detail` (RFC 7644 §3.12), as one phrase. */
function errorDetail(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const b = body as Json;
  const detail = typeof b.detail === 'string' ? b.detail.trim() : '';
  const scimType = typeof b.scimType === 'string' ? b.scimType : '';
  return [scimType && `scimType ${scimType}`, detail].filter(Boolean).join(': ');
}

/** The ConnectorError for a non-2xx answer. `write`: a 404 means the account is gone (else the caller handles it). */
export function classify(res: ScimResponse, opts: { write?: boolean } = {}): ConnectorError {
  const { status, operation } = res;
  const detail = errorDetail(res.body);
  const said = detail ? `: ${detail}` : '';
  const details = { status, operation, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
  if (details.retryAfterMs === undefined) delete details.retryAfterMs;
  if (status === 401 || status === 403) {
    return new ConnectorError(
      'permanent',
      `the application refused the credentials (${status} on ${operation})${said}; check the connector's bearer token and its permissions`,
      details,
    );
  }
  if (status === 400) return new ConnectorError('permanent', `the application rejected ${operation} (400${detail ? `, ${detail}` : ''})`, details);
  if (status === 404 && opts.write)
    return new ConnectorError('permanent', `the account no longer exists in the application (404 on ${operation})${said}`, details);
  if (status === 409) return new ConnectorError('conflict', `the application holds a clashing account (409 on ${operation})${said}`, details);
  if (status === 412)
    return new ConnectorError('transient', `the account kept changing in the application while it was updated (412 on ${operation})`, details);
  if (status === 429) return new ConnectorError('transient', `the application is rate limiting (429 on ${operation})${said}`, details);
  if (status === 501) return new ConnectorError('permanent', `the application does not implement ${operation} (501)${said}`, details);
  if (status >= 500) return new ConnectorError('transient', `the application failed (${status} on ${operation})${said}`, details);
  return new ConnectorError('permanent', `the application refused ${operation} (${status})${said}`, details);
}

export const isSuccess = (status: number) => status >= 200 && status < 300;

/** The SCIM resource of a 2xx answer; a body that is not one (no `id`) is a permanent error. */
export function resourceOf(res: ScimResponse): Json & { id: string } {
  const b = res.body;
  if (typeof b === 'object' && b !== null && !Array.isArray(b)) {
    const id = (b as Json).id;
    if (typeof id === 'string' && id !== '') return b as Json & { id: string };
    if (typeof id === 'number') return { ...(b as Json), id: String(id) };
  }
  throw notAResource(res);
}

function notAResource(res: ScimResponse): ConnectorError {
  const shape =
    res.body === undefined
      ? 'no JSON body'
      : Array.isArray(res.body)
        ? 'a JSON array'
        : typeof res.body !== 'object'
          ? `a JSON ${typeof res.body}`
          : 'an object without "id"';
  return new ConnectorError(
    'permanent',
    `the application answered ${res.operation} with ${res.status} but not a SCIM resource (${shape}); is the base URL the SCIM endpoint (…/scim/v2)?`,
    { status: res.status, operation: res.operation },
  );
}
