/** Small helpers every SCIM route uses to answer with `application/scim+json`. */
import type { Request, Response } from 'express';
import { SCIM_CONTENT_TYPE } from './context';

export function sendScim(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(body));
}

export function csvParam(req: Request, name: string): string[] | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : [raw])
    .flatMap((v) => String(v).split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length ? list : undefined;
}
