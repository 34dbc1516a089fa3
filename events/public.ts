/**
 * What a receiver needs without a credential: each tenant's signing keys (RFC 7517 JWKS) at
 * `GET /events/<tenant>/jwks.json`, and at `GET /events/<tenant>` (the SETs' issuer) a small
 * document naming the issuer, the audience, the JWKS and the poll endpoint. Public keys only;
 * an unknown tenant is 404. Read from the database on every request (an indexed read of a few
 * rows): a key made in another SCIM server after a rotation is published as soon as it signs.
 * Receivers may keep the JWKS a minute (Cache-Control) and should fetch it again when a SET names
 * a kid they do not know (jose's createRemoteJWKSet does); a superseded key stays published.
 */
import { Router } from 'express';
import type { Db } from '../common/db';
import { getTenant } from '../common/repositories/tenants';
import { audienceOf, issuerOf } from './set';
import type { EventSigner } from './signing';

export const EVENTS_PUBLIC_PATH = '/events';
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function eventsPublicRouter(deps: { db: Db; signer: EventSigner; publicUrl: string; pollUrl: string }): Router {
  const router = Router();
  const known = async (tenantId: string) => TENANT_ID.test(tenantId) && (await getTenant(deps.db, tenantId)) !== undefined;

  router.get(`${EVENTS_PUBLIC_PATH}/:tenant/jwks.json`, async (req, res) => {
    const tenantId = req.params.tenant;
    if (!(await known(tenantId))) return void res.status(404).json({ error: 'unknown tenant' });
    res.setHeader('Cache-Control', 'public, max-age=60').json(await deps.signer.jwks(tenantId));
  });

  router.get(`${EVENTS_PUBLIC_PATH}/:tenant`, async (req, res) => {
    const tenantId = req.params.tenant;
    if (!(await known(tenantId))) return void res.status(404).json({ error: 'unknown tenant' });
    const issuer = issuerOf(deps.publicUrl, tenantId);
    res.setHeader('Cache-Control', 'public, max-age=300').json({
      issuer,
      audience: audienceOf(deps.publicUrl, tenantId),
      jwks_uri: `${issuer}/jwks.json`,
      // RFC 8936: authorised with the tenant's SCIM bearer token.
      poll_endpoint: deps.pollUrl,
      specification: 'RFC 9967 (SCIM Profile for Security Event Tokens); delivery RFC 8936 (poll) and RFC 8935 (push)',
    });
  });
  return router;
}
