/**
 * The remote codec endpoint for the Temporal UI and CLI: POST /codec/decode and /codec/encode
 * with `{ "payloads": [ { "metadata": { "<key>": "<base64>" }, "data": "<base64>" } ] }`
 * (Temporal's remote-codec protocol: protobuf JSON of Payload), answering the same shape.
 *
 * Operators' credentials only, never a tenant's SCIM or admin token (auth `token`, the
 * default everywhere, `npm start` included):
 *   - the operator token (CODEC_TOKEN) opens every payload;
 *   - a codec token of a tenant (`npm run tokens -- create --tenant <id> --codec`) opens that
 *     tenant's payloads only (aes-gcm-codec.ts: per-tenant data keys, the scope in the
 *     metadata); the others are answered still sealed, and encoding another tenant's payload is 403.
 * Sent as `Authorization: Bearer <token>` (temporal CLI: `--codec-endpoint <base>/codec
 * --codec-auth "Bearer <token>"`), or, for the Temporal UI, which can send no header of its
 * own, in the endpoint URL: `<base>/codec/<token>` (the UI appends /decode). Failed attempts are
 * throttled per client address like every other credential (failure-throttle.ts).
 * Auth `none` (CODEC_AUTH=none) checks nothing: only where the port is reachable by trusted
 * clients alone.
 *
 * Browsers call it from the UI's origin, so it answers CORS preflights for the origins in
 * CODEC_CORS_ORIGINS (headers Content-Type, X-Namespace, Authorization). Without payload keys
 * (no PAYLOAD_KEYS) the endpoints answer payloads unchanged and check no token: they reveal
 * nothing Temporal does not already show. The X-Namespace header is accepted and ignored.
 */
import crypto from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { Payload } from '@temporalio/common';
import type { FailureThrottle } from '../failure-throttle';
import type { Queryable } from '../db';
import type { Logger } from '../logger';
import { hashToken, verifyToken } from '../repositories/tokens';
import { type AesGcmPayloadCodec, isEncrypted, PLATFORM_SCOPE, scopeOf } from './aes-gcm-codec';

export type CodecAuth = 'token' | 'none';

export interface RemoteCodecOptions {
  /** Undefined: payloads are not encrypted here, and both endpoints return them unchanged. */
  codec?: AesGcmPayloadCodec;
  db: Queryable;
  auth: CodecAuth;
  /** CODEC_TOKEN: the operator's credential, for every tenant's payloads. */
  operatorToken?: string;
  /** Exact origins (scheme://host:port) allowed to call from a browser. */
  corsOrigins: string[];
  logger?: Logger;
  bodyLimitBytes?: number;
  /** Failed attempts per client address (shared with the other credentials of the process). */
  failures?: FailureThrottle;
}

/** Who may open what: every scope (operator, or auth none), or one tenant's. */
type Grant = { all: true } | { all: false; scope: string };

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const ALLOWED_HEADERS = 'Content-Type, X-Namespace, Authorization';

function fromJson(p: JsonPayload): Payload {
  if (typeof p !== 'object' || p === null) throw new Error('each payload must be an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new Error(`metadata "${k}" must be a base64 string`);
    metadata[k] = Buffer.from(v, 'base64');
  }
  if (p.data !== undefined && typeof p.data !== 'string') throw new Error('data must be a base64 string');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

export function remoteCodecRouter(options: RemoteCodecOptions): Router {
  const router = Router();
  const origins = new Set(options.corsOrigins.map((o) => o.replace(/\/+$/, '')));
  const operatorHash = options.operatorToken ? crypto.createHash('sha256').update(options.operatorToken).digest() : undefined;
  const isOperator = (presented: string) => !!operatorHash && crypto.timingSafeEqual(crypto.createHash('sha256').update(presented).digest(), operatorHash);

  const cors = (req: Request, res: Response): boolean => {
    const origin = req.get('Origin');
    if (!origin) return true; // not a browser's cross-origin call (CLI, curl)
    res.vary('Origin');
    if (!origins.has(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    return true;
  };

  const paths = ['/codec/decode', '/codec/encode', '/codec/:token/decode', '/codec/:token/encode'];
  router.options(paths, (req, res) => {
    if (!cors(req, res)) return void res.status(403).end();
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  });

  /** The grant of the request's credential; undefined when it has none that opens payloads. */
  const grantOf = async (req: Request): Promise<Grant | undefined> => {
    if (options.auth === 'none') return { all: true };
    const presented = typeof req.params.token === 'string' ? req.params.token : /^Bearer\s+(\S+)\s*$/i.exec(req.get('Authorization') ?? '')?.[1];
    if (!presented) return undefined;
    if (isOperator(presented)) return { all: true };
    const token = await verifyToken(options.db, presented);
    if (token?.kind !== 'codec') return undefined;
    return { all: false, scope: `tenant:${token.tenantId}` };
  };

  const handle = (direction: 'encode' | 'decode') => async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!cors(req, res)) return void res.status(403).json({ message: 'origin not allowed (CODEC_CORS_ORIGINS)' });
    const body = req.body as { payloads?: unknown } | undefined;
    if (!body || !Array.isArray(body.payloads)) return void res.status(400).json({ message: 'send { "payloads": [ ... ] }' });
    let payloads: Payload[];
    try {
      payloads = (body.payloads as JsonPayload[]).map(fromJson);
    } catch (err) {
      return void res.status(400).json({ message: (err as Error).message });
    }
    // Without a codec the endpoint returns payloads unchanged: nothing to protect.
    if (!options.codec) return void res.json({ payloads: payloads.map(toJson) });
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const presented = typeof req.params.token === 'string' ? req.params.token : /^Bearer\s+(\S+)\s*$/i.exec(req.get('Authorization') ?? '')?.[1];
    // A throttled address is answered 429 before any look-up, unless it sends a valid credential:
    // the operator token (not in the table: compared here) or a live token.
    const valid = !!presented && (isOperator(presented) || !!options.failures?.knownGood(hashToken(presented)));
    const wait = options.auth === 'token' && !valid ? (options.failures?.retryAfter(address) ?? 0) : 0;
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      return void res.status(429).json({ message: `too many failed attempts from this address; retry after ${wait} s` });
    }
    let grant: Grant | undefined;
    try {
      grant = await grantOf(req);
    } catch (err) {
      options.logger?.warn({ err: (err as Error).message }, 'codec endpoint could not check the token');
      return void res.status(503).json({ message: 'token check unavailable; retry shortly' });
    }
    if (!grant) {
      options.failures?.fail(address);
      res.setHeader('WWW-Authenticate', 'Bearer realm="scimflow-codec"');
      return void res.status(401).json({ message: 'a codec credential is required: the operator token (CODEC_TOKEN) or a codec token of the tenant' });
    }
    try {
      if (direction === 'decode') {
        const out = grant.all
          ? await options.codec.decode(payloads)
          : await options.codec.decodeWhere(payloads, (scope) => scope === (grant as { scope: string }).scope);
        return void res.json({ payloads: out.map(toJson) });
      }
      if (!grant.all && payloads.some((p) => !isEncrypted(p) && scopeOf(p) !== grant.scope)) {
        const other = payloads.map(scopeOf).find((s) => s !== (grant as { scope: string }).scope) ?? PLATFORM_SCOPE;
        return void res.status(403).json({ message: `this codec token encodes its own tenant's payloads only (a payload is ${other})` });
      }
      res.json({ payloads: (await options.codec.encode(payloads)).map(toJson) });
    } catch (err) {
      res.status(400).json({ message: (err as Error).message });
    }
  };

  const json = express.json({ limit: options.bodyLimitBytes ?? 4 * 1024 * 1024, type: () => true });
  router.post(['/codec/decode', '/codec/:token/decode'], json, handle('decode'));
  router.post(['/codec/encode', '/codec/:token/encode'], json, handle('encode'));
  return router;
}
