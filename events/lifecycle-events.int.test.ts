/**
 * The event feed with the worker running: the activities append scimflow's own outcomes
 * (invited, accepted) and complete asynchronous requests in their transactions, so a poll client
 * sees a user's whole lifecycle, each SET verified against the JWKS, none lost or repeated when
 * the worker stops mid-onboarding and comes back.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { newUser, PATCH_OP, startHarness, testTenantConfig, type Harness } from '../test/harness';
import { audienceOf, issuerOf } from './set';
import { SET_TYPE } from './signing';
import { SCIM_EVENTS } from './uris';

type Json = Record<string, any>;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ tenantConfig: testTenantConfig({ events: {} }) });
});
afterAll(async () => h?.close());

/** Every SET of `userId` pending in the feed, oldest first, each verified as a receiver would. */
async function eventsOfUser(userId: string): Promise<{ jti: string; uri: string; claims: Json }[]> {
  const res = await fetch(`${h.baseUrl}/Events`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${h.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ returnImmediately: true, maxEvents: 1000 }),
  });
  expect(res.status).toBe(200);
  const jwks = createRemoteJWKSet(new URL(`${h.publicUrl}/events/${h.tenantId}/jwks.json`));
  const all = await Promise.all(
    Object.entries(((await res.json()) as Json).sets as Record<string, string>).map(async ([jti, jws]) => {
      const { payload } = await jwtVerify(jws, jwks, {
        issuer: issuerOf(h.publicUrl, h.tenantId),
        audience: audienceOf(h.publicUrl, h.tenantId),
        typ: SET_TYPE,
      });
      return { jti, uri: Object.keys((payload as Json).events)[0], claims: payload as Json };
    }),
  );
  return all.filter((e) => e.claims.sub_id?.uri === `/Users/${userId}` || e.claims.events[SCIM_EVENTS.asyncResponse]?.location?.endsWith(`/Users/${userId}`));
}

test('when a user asks for respond-async and is onboarded, then misc:asyncresp follows urn:scimflow:event:invited with the Set-Txn; acceptance and deactivation follow in order', async () => {
  const user = newUser();
  const created = await h.scim('POST', '/Users', user, { Prefer: 'respond-async' });
  expect(created.status).toBe(202);
  const txn = created.headers.get('set-txn');
  const id = /\/Users\/([0-9a-f-]{36})$/.exec(created.headers.get('location') as string)?.[1] as string;
  await h.waitForState(id, 'invited');

  const atInvited = await eventsOfUser(id);
  expect(atInvited.map((e) => e.uri)).toEqual([SCIM_EVENTS.create, 'urn:scimflow:event:invited', SCIM_EVENTS.asyncResponse]);
  expect(atInvited[2].claims.txn).toBe(txn);
  expect(atInvited[2].claims.events[SCIM_EVENTS.asyncResponse]).toMatchObject({ method: 'POST', status: '201' });

  expect((await h.acceptInvitation(h.acceptLink(user.userName))).status).toBe(200);
  await h.waitForState(id, 'active');
  expect((await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(200);
  await h.waitForState(id, 'suspended');
  const all = await eventsOfUser(id);
  expect(all.map((e) => e.uri)).toEqual([
    SCIM_EVENTS.create,
    'urn:scimflow:event:invited',
    SCIM_EVENTS.asyncResponse,
    'urn:scimflow:event:accepted',
    SCIM_EVENTS.patch,
    SCIM_EVENTS.deactivate,
  ]);
  expect(new Set(all.map((e) => e.jti)).size).toBe(all.length);
});

test('when the worker stops mid-onboarding and comes back, then the user gets every event once (the same jti on a repeated step)', async () => {
  await h.stopWorker();
  const user = newUser();
  const created = await h.scim('POST', '/Users', user);
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  // Acknowledged while no worker runs: the SCIM event is already in the feed.
  expect((await eventsOfUser(id)).map((e) => e.uri)).toEqual([SCIM_EVENTS.create]);
  await h.startWorker();
  await h.waitForState(id, 'invited');
  const events = await eventsOfUser(id);
  expect(events.map((e) => e.uri)).toEqual([SCIM_EVENTS.create, 'urn:scimflow:event:invited']);
  expect(new Set(events.map((e) => e.jti)).size).toBe(2);
});
