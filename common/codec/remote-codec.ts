/**
 * The remote codec endpoint for the Temporal UI and CLI: POST /codec/decode and /codec/encode
 * with `{ "payloads": [ { "metadata": { "<key>": "<base64>" }, "data": "<base64>" } ] }`
 * (Temporal's remote-codec protocol: protobuf JSON of Payload), answering the same shape.
 *
 * Browsers call it from the UI's origin, so it answers CORS preflights for the origins in
 * CODEC_CORS_ORIGINS (headers Content-Type, X-Namespace, Authorization). CORS protects no one
 * from a non-browser client, so access is checked as well, by `auth`:
 *   token    - an admin token (`npm run tokens -- create --tenant <id> --admin`) as
 *              `Authorization: Bearer <token>`; e.g. `temporal workflow show
 *              --codec-endpoint http://host:8080/codec --codec-auth "Bearer <token>"`.
 *              Default of `npm run scim-server`.
 *   loopback - requests from 127.0.0.0/8 or ::1 need no token (the all-in-one UI on the same
 *              machine), others need an admin token as above. Default of `npm start`.
 *   none     - no check: only where the SCIM server's port is reachable by trusted clients
 *              alone (the payloads hold ids, never personal data, but decoding is still access).
 * Without payload keys (split deployment, no PAYLOAD_KEYS) the endpoints answer payloads
 * unchanged and check no token: they reveal nothing Temporal does not already show.
 * The X-Namespace header is accepted and ignored: one codec serves every namespace.
 */
import express, { Router, type Request, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Queryable } from '../db';
import type { Logger } from '../logger';
import { verifyToken } from '../repositories/tokens';

export type CodecAuth = 'token' | 'loopback' | 'none';

export interface RemoteCodecOptions {
  /** Undefined: payloads are not encrypted here, and both endpoints return them unchanged. */
  codec?: PayloadCodec;
  db: Queryable;
  auth: CodecAuth;
  /** Exact origins (scheme://host:port) allowed to call from a browser. */
  corsOrigins: string[];
  logger?: Logger;
  bodyLimitBytes?: number;
}

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

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/, '');
  return a === '::1' || /^127\./.test(a);
}

export function remoteCodecRouter(options: RemoteCodecOptions): Router {
  const router = Router();
  const origins = new Set(options.corsOrigins.map((o) => o.replace(/\/+$/, '')));

  const cors = (req: Request, res: Response): boolean => {
    const origin = req.get('Origin');
    if (!origin) return true; // not a browser's cross-origin call (CLI, curl)
    res.vary('Origin');
    if (!origins.has(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    return true;
  };

  router.options(['/codec/decode', '/codec/encode'], (req, res) => {
    if (!cors(req, res)) return void res.status(403).end();
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  });

  const authorised = async (req: Request): Promise<boolean> => {
    if (options.auth === 'none') return true;
    if (options.auth === 'loopback' && isLoopback(req.socket.remoteAddress)) return true;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('Authorization') ?? '');
    if (!match) return false;
    const token = await verifyToken(options.db, match[1]);
    return token?.kind === 'admin';
  };

  const handle = (direction: 'encode' | 'decode') => async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!cors(req, res)) return void res.status(403).json({ message: 'origin not allowed (CODEC_CORS_ORIGINS)' });
    try {
      // Without a codec the endpoint returns payloads unchanged: nothing to protect.
      if (options.codec && !(await authorised(req))) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="scimflow-codec"');
        return void res.status(401).json({ message: 'an admin token is required: Authorization: Bearer <admin token>' });
      }
    } catch (err) {
      options.logger?.warn({ err: (err as Error).message }, 'codec endpoint could not check the token');
      return void res.status(503).json({ message: 'token check unavailable; retry shortly' });
    }
    const body = req.body as { payloads?: unknown } | undefined;
    if (!body || !Array.isArray(body.payloads)) return void res.status(400).json({ message: 'send { "payloads": [ ... ] }' });
    let payloads: Payload[];
    try {
      payloads = (body.payloads as JsonPayload[]).map(fromJson);
    } catch (err) {
      return void res.status(400).json({ message: (err as Error).message });
    }
    try {
      const out = options.codec ? await options.codec[direction](payloads) : payloads;
      res.json({ payloads: out.map(toJson) });
    } catch (err) {
      res.status(400).json({ message: (err as Error).message });
    }
  };

  const json = express.json({ limit: options.bodyLimitBytes ?? 4 * 1024 * 1024, type: () => true });
  router.post('/codec/decode', json, handle('decode'));
  router.post('/codec/encode', json, handle('encode'));
  return router;
}
