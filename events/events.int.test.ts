/**
 * The event feed against the real SCIM server and PostgreSQL (docs/events.md): RFC 8936 poll with
 * acknowledgements and long polls, every SET verified against the tenant's JWKS with jose, RFC
 * 9967 asynchronous requests, RFC 8935 push to a receiver of the test's own, and the
 * /ServiceProviderConfig advertisement. No worker: every event here comes from the SCIM write
 * path; the activities' outcomes are appended through events/lifecycle.ts as an activity would.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { retireSigningKey, supersedeSigningKeys } from '../common/repositories/event-signing-keys';
import { asyncRequestOf, eventsOf } from '../common/repositories/security-events';
import { secretStore } from '../connectors/secrets';
import { eventually, newUser, PATCH_OP, SCIM_GROUP, startHarness, testTenantConfig, type Harness } from '../test/harness';
import { completeAsyncRequests, reportOutcome } from './lifecycle';
import { audienceOf, issuerOf } from './set';
import { SET_MEDIA_TYPE, SET_TYPE } from './signing';
import { SCIM_EVENTS } from './uris';

type Json = Record<string, any>;

/** What the test's RFC 8935 receiver was sent, and what it answers next (then 202). */
interface Receiver {
  url: string;
  received: { body: string; contentType?: string; authorization?: string }[];
  answers: { status: number; body?: string }[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const answers: Receiver['answers'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ body, contentType: req.headers['content-type'], authorization: req.headers.authorization });
      const answer = answers.shift() ?? { status: 202 };
      res.writeHead(answer.status, answer.body ? { 'Content-Type': 'application/json' } : {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received,
    answers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let h: Harness;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  h = await startHarness({
    withWorker: false,
    tenantConfig: testTenantConfig({ events: {} }),
    events: { pushPollMs: 100, pushBackoffMs: 300, pushTenantsRefreshMs: 200, signingKeyCacheMs: 0 },
  });
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

async function poll(body: Json, token = h.token): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${h.baseUrl}/Events`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

/** Verifies a SET as a receiver does: the signature against the tenant's published JWKS, typ, iss and aud. */
async function verify(jws: string, tenantId = h.tenantId): Promise<Json> {
  const jwks = createRemoteJWKSet(new URL(`${h.publicUrl}/events/${tenantId}/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(jws, jwks, {
    issuer: issuerOf(h.publicUrl, tenantId),
    audience: audienceOf(h.publicUrl, tenantId),
    typ: SET_TYPE,
  });
  expect(protectedHeader.alg).toBe('ES256');
  return payload as Json;
}

/** Every SET the feed holds now, oldest first, verified; nothing acknowledged. */
async function pending(): Promise<{ jti: string; claims: Json }[]> {
  const { status, body } = await poll({ returnImmediately: true, maxEvents: 1000 });
  expect(status).toBe(200);
  return Promise.all(Object.entries(body.sets as Record<string, string>).map(async ([jti, jws]) => ({ jti, claims: await verify(jws) })));
}

const uriOf = (claims: Json) => Object.keys(claims.events)[0];

/** Acknowledges everything pending, so each test starts from an empty feed. */
async function drainFeed(): Promise<void> {
  const all = await pending();
  if (all.length > 0) expect((await poll({ ack: all.map((s) => s.jti), returnImmediately: true, maxEvents: 0 })).status).toBe(200);
}

test('when a user is created, patched, deactivated, activated and deleted, then a poll client receives every event in order, each verified against the JWKS; acknowledged SETs are not returned again, the others are', async () => {
  await drainFeed();
  const created = await h.scim('POST', '/Users', newUser({ externalId: 'emp-4711' }));
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const patch = (operations: Json[]) => h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: operations });
  expect((await patch([{ op: 'replace', path: 'title', value: 'Charge Nurse' }])).status).toBe(200);
  expect((await patch([{ op: 'replace', path: 'active', value: false }])).status).toBe(200);
  expect((await patch([{ op: 'replace', path: 'active', value: true }])).status).toBe(200);
  expect((await h.scim('DELETE', `/Users/${id}`)).status).toBe(204);

  const sets = await pending();
  const mine = sets.filter((s) => s.claims.sub_id.uri === `/Users/${id}`);
  expect(mine.map((s) => uriOf(s.claims))).toEqual([
    SCIM_EVENTS.create,
    SCIM_EVENTS.patch,
    SCIM_EVENTS.patch,
    SCIM_EVENTS.deactivate,
    SCIM_EVENTS.patch,
    SCIM_EVENTS.activate,
    SCIM_EVENTS.delete,
  ]);
  expect(new Set(mine.map((s) => s.jti)).size).toBe(mine.length);
  for (const s of mine) {
    expect(s.claims.jti).toBe(s.jti);
    expect(s.claims.sub_id).toEqual({ format: 'scim', uri: `/Users/${id}`, externalId: 'emp-4711' });
    expect(typeof s.claims.iat).toBe('number');
    expect(s.claims).not.toHaveProperty('sub');
  }
  // Notice form: attribute names, never values.
  expect(mine[1].claims.events[SCIM_EVENTS.patch]).toEqual({ attributes: ['title'], version: 'W/"2"' });
  expect(JSON.stringify(mine.map((s) => s.claims))).not.toContain('Charge Nurse');
  expect(JSON.stringify(mine.map((s) => s.claims))).not.toContain(created.body.userName);
  // The deactivation and its PATCH come from one write: one txn.
  expect(mine[3].claims.txn).toBe(mine[2].claims.txn);

  // Acknowledge the first three: they are not returned again; the rest are (at-least-once).
  const acked = mine.slice(0, 3).map((s) => s.jti);
  const next = await poll({ ack: acked, returnImmediately: true, maxEvents: 1000 });
  expect(Object.keys(next.body.sets)).toEqual(mine.slice(3).map((s) => s.jti));
  expect(Object.keys((await poll({ returnImmediately: true })).body.sets)).toEqual(mine.slice(3).map((s) => s.jti));
  // maxEvents pages; moreAvailable says there is more.
  const page = await poll({ returnImmediately: true, maxEvents: 2 });
  expect(Object.keys(page.body.sets)).toEqual(mine.slice(3, 5).map((s) => s.jti));
  expect(page.body.moreAvailable).toBe(true);
  // A SET redelivered keeps its jti and claims.
  expect(decodeJwt(page.body.sets[mine[3].jti] as string)).toEqual(mine[3].claims);

  const rest = mine.slice(3).map((s) => s.jti);
  const last = await poll({ ack: rest, returnImmediately: true });
  expect(last.body).toEqual({ sets: {}, moreAvailable: false });
  expect((await eventsOf(h.db, h.tenantId, id)).every((e) => e.acknowledgedBy === 'poll')).toBe(true);
});

test('when a group is created and its members change, then create:notice and patch:notice name the group and what changed', async () => {
  await drainFeed();
  const user = await h.scim('POST', '/Users', newUser());
  const group = await h.scim('POST', '/Groups', {
    schemas: [SCIM_GROUP],
    displayName: `Nurses ${crypto.randomBytes(3).toString('hex')}`,
    externalId: 'nurses',
  });
  expect(group.status).toBe(201);
  const patched = await h.scim('PATCH', `/Groups/${group.body.id}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: 'add', path: 'members', value: [{ value: user.body.id }] }],
  });
  expect(patched.status).toBe(204);
  const mine = (await pending()).filter((s) => s.claims.sub_id.uri === `/Groups/${group.body.id}`);
  expect(mine.map((s) => s.claims.events)).toEqual([
    { [SCIM_EVENTS.create]: { attributes: ['id', 'displayName', 'externalId'], version: 'W/"1"' } },
    { [SCIM_EVENTS.patch]: { attributes: ['members'], version: 'W/"2"' } },
  ]);
  expect(mine[0].claims.sub_id.externalId).toBe('nurses');
});

test('when a receiver long-polls an empty feed, then the answer comes when the next event is appended (LISTEN), not at the end of the wait', async () => {
  await drainFeed();
  const started = Date.now();
  const waiting = poll({ returnImmediately: false, maxEvents: 10 });
  await new Promise((r) => setTimeout(r, 300));
  const created = await h.scim('POST', '/Users', newUser());
  const answer = await waiting;
  expect(answer.status).toBe(200);
  const sets = Object.values(answer.body.sets as Record<string, string>);
  expect(sets.length).toBeGreaterThan(0);
  expect((await verify(sets[0])).sub_id.uri).toBe(`/Users/${created.body.id}`);
  expect(Date.now() - started).toBeLessThan(10_000);
});

test('when a write asks for respond-async, then 202 with Set-Txn and no body, the change is applied, and its misc:asyncresp event carries the txn', async () => {
  await drainFeed();
  const prefer = { Prefer: 'respond-async' };
  const created = await h.scim('POST', '/Users', newUser(), prefer);
  expect(created.status).toBe(202);
  expect(created.body).toBeUndefined();
  const txn = created.headers.get('set-txn') as string;
  expect(txn).toMatch(/^[0-9a-f]{32}$/);
  expect(created.headers.get('preference-applied')).toBe('respond-async');
  const location = created.headers.get('location') as string;
  const id = /\/Users\/([0-9a-f-]{36})$/.exec(location)?.[1] as string;
  // Applied as usual: the user is there, its change is in the outbox and the feed.
  expect((await fetch(location, { headers: { Authorization: `Bearer ${h.token}` } })).status).toBe(200);
  expect((await eventsOf(h.db, h.tenantId, id)).map((e) => e.eventUri)).toEqual([SCIM_EVENTS.create]);
  // The outcome waits for the workflow: recorded for the activity, not completed yet.
  expect(await asyncRequestOf(h.db, h.tenantId, txn)).toMatchObject({ method: 'POST', resourceVersion: 1, resourceId: id, completedAt: null });

  // What the activity does when the user is invited (events/lifecycle.ts), in its transaction; a retry appends nothing new.
  for (let i = 0; i < 2; i += 1) {
    await h.db.withTransaction((tx) =>
      reportOutcome(tx, { tenantId: h.tenantId, userId: id, outcome: 'invited', key: 'invitation-1', appliedVersion: 1, externalId: null }),
    );
  }
  const mine = (await pending()).filter((s) => s.claims.sub_id.uri === `/Users/${id}`);
  expect(mine.map((s) => uriOf(s.claims))).toEqual([SCIM_EVENTS.create, 'urn:scimflow:event:invited', SCIM_EVENTS.asyncResponse]);
  expect(mine[2].claims.txn).toBe(txn);
  expect(mine[2].claims.events[SCIM_EVENTS.asyncResponse]).toEqual({ method: 'POST', version: 'W/"1"', location, status: '201' });
  expect((await asyncRequestOf(h.db, h.tenantId, txn))?.completedAt).toBeInstanceOf(Date);

  // A write that changes nothing has nothing left to carry: its asyncresp comes at once.
  const same = await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] }, prefer);
  expect(same.status).toBe(202);
  const sameTxn = same.headers.get('set-txn');
  const done = (await pending()).find((s) => s.claims.txn === sameTxn);
  expect(done?.claims.events).toEqual({ [SCIM_EVENTS.asyncResponse]: { method: 'PATCH', version: 'W/"1"', location, status: '200' } });

  // A failed onboarding fails the pending requests with a SCIM error.
  const patched = await h.scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'RN' }] }, prefer);
  expect(patched.status).toBe(202);
  await h.db.withTransaction((tx) =>
    completeAsyncRequests(tx, { tenantId: h.tenantId, userId: id, failure: { detail: 'the application refused the account', status: '502' } }),
  );
  const failed = (await pending()).find((s) => s.claims.txn === patched.headers.get('set-txn'));
  expect(failed?.claims.events[SCIM_EVENTS.asyncResponse]).toMatchObject({ method: 'PATCH', status: '502', response: { status: '502' } });

  // A group has no workflow: complete when committed.
  const group = await h.scim('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: `Async ${crypto.randomBytes(3).toString('hex')}` }, prefer);
  expect(group.status).toBe(202);
  const groupDone = (await pending()).find((s) => s.claims.txn === group.headers.get('set-txn'));
  expect(groupDone?.claims.events[SCIM_EVENTS.asyncResponse]).toMatchObject({ method: 'POST', status: '201' });

  // A request refused before it is applied is answered at once, as usual; a search is never asynchronous.
  expect((await h.scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] }, prefer)).status).toBe(400);
  const search = await h.scim('POST', '/Users/.search', { filter: `id eq "${id}"` }, prefer);
  expect(search.status).toBe(200);
  expect(search.headers.get('set-txn')).toBeNull();
  // DELETE: accepted, applied, its asyncresp left to the workflow's termination.
  const deleted = await h.scim('DELETE', `/Users/${id}`, undefined, prefer);
  expect(deleted.status).toBe(202);
  expect((await h.scim('GET', `/Users/${id}`)).status).toBe(404);
  expect(await asyncRequestOf(h.db, h.tenantId, deleted.headers.get('set-txn') as string)).toMatchObject({ method: 'DELETE', completedAt: null });
});

test('when /ServiceProviderConfig is read, then securityEvents lists the URIs emitted for a tenant that advertises its feed, and is absent for one that does not', async () => {
  const spc = await h.scim('GET', '/ServiceProviderConfig');
  expect(spc.body.securityEvents).toEqual({
    asyncRequest: 'request',
    eventUris: [
      SCIM_EVENTS.create,
      SCIM_EVENTS.patch,
      SCIM_EVENTS.put,
      SCIM_EVENTS.delete,
      SCIM_EVENTS.activate,
      SCIM_EVENTS.deactivate,
      SCIM_EVENTS.asyncResponse,
      ...['invited', 'accepted', 'expired', 'failed', 'held'].map((o) => `urn:scimflow:event:${o}`),
    ],
  });
  expect(Object.keys(spc.body).slice(-2)).toEqual(['securityEvents', 'meta']);
  const quiet = await h.newTenant(`t-quiet-${crypto.randomBytes(3).toString('hex')}`);
  const res = await fetch(`${h.baseUrl}/ServiceProviderConfig`, { headers: { Authorization: `Bearer ${quiet}` } });
  expect(((await res.json()) as Json).securityEvents).toBeUndefined();
  // Its feed is kept all the same, and only its own token reads it.
  expect((await poll({ returnImmediately: true }, quiet)).body.sets).toEqual({});
  expect((await fetch(`${h.baseUrl}/Events`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(401);
});

test('when the feed is pushed (RFC 8935) and the receiver answers 500 then 202, then the SET is delivered once, with the same jti; a 400 refuses one SET for good and the next goes', async () => {
  const tenantId = `t-push-${crypto.randomBytes(3).toString('hex')}`;
  const token = await h.newTenant(tenantId, testTenantConfig({ events: { push: { url: receiver.url, authorizationSecret: 'PUSH_TOKEN' } } }));
  await secretStore(h.db).set(tenantId, 'PUSH_TOKEN', 'receiver-secret');
  receiver.answers.push({ status: 500, body: '{"oops":true}' });
  const scim = (method: string, path: string, body?: unknown) =>
    fetch(`${h.baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const created = (await (await scim('POST', '/Users', newUser())).json()) as Json;

  await eventually(
    async () => receiver.received.length,
    (n) => n >= 2,
    'two push attempts',
  );
  const [first, second] = receiver.received;
  expect(decodeJwt(first.body).jti).toBe(decodeJwt(second.body).jti);
  expect(first.contentType).toBe(SET_MEDIA_TYPE);
  expect(first.authorization).toBe('Bearer receiver-secret');
  const claims = await verify(second.body, tenantId);
  expect(claims.sub_id.uri).toBe(`/Users/${created.id}`);
  await eventually(
    async () => (await eventsOf(h.db, tenantId, created.id)).map((e) => e.acknowledgedBy),
    (by) => by.length === 1 && by[0] === 'push',
    'the SET acknowledged by the push',
  );
  // Delivered once: no third attempt, and the poll endpoint has nothing left either.
  await new Promise((r) => setTimeout(r, 600));
  expect(receiver.received).toHaveLength(2);
  expect((await poll({ returnImmediately: true }, token)).body.sets).toEqual({});

  // 400 with RFC 8935's error: that SET is refused for good, the next one goes.
  receiver.answers.push({ status: 400, body: '{"err":"invalid_request","description":"not for us"}' });
  const refused = (await (await scim('POST', '/Users', newUser())).json()) as Json;
  const delivered = (await (await scim('POST', '/Users', newUser())).json()) as Json;
  await eventually(
    async () => [...(await eventsOf(h.db, tenantId, refused.id)), ...(await eventsOf(h.db, tenantId, delivered.id))],
    (events) => events.length === 2 && events.every((e) => e.acknowledgedAt !== null),
    'both SETs settled',
  );
  expect((await eventsOf(h.db, tenantId, refused.id))[0]).toMatchObject({ acknowledgedBy: 'push', error: 'invalid_request: not for us' });
  expect((await eventsOf(h.db, tenantId, delivered.id))[0]).toMatchObject({ acknowledgedBy: 'push', error: null });
  expect(receiver.received).toHaveLength(4);
});

test('when the JWKS is read without a credential, then the public keys only; an unknown tenant is 404', async () => {
  const res = await fetch(`${h.publicUrl}/events/${h.tenantId}/jwks.json`);
  expect(res.status).toBe(200);
  const jwks = (await res.json()) as { keys: Json[] };
  expect(jwks.keys.length).toBeGreaterThan(0);
  for (const k of jwks.keys) {
    expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(k).not.toHaveProperty('d');
  }
  expect((await fetch(`${h.publicUrl}/events/no-such-tenant/jwks.json`)).status).toBe(404);
  const issuer = (await (await fetch(`${h.publicUrl}/events/${h.tenantId}`)).json()) as Json;
  expect(issuer).toMatchObject({
    issuer: issuerOf(h.publicUrl, h.tenantId),
    jwks_uri: `${issuerOf(h.publicUrl, h.tenantId)}/jwks.json`,
    poll_endpoint: `${h.baseUrl}/Events`,
  });
});

test('when the signing key is rotated, then new SETs are signed with a new key, SETs signed before still verify, and a retired key leaves the JWKS', async () => {
  await drainFeed();
  await h.scim('POST', '/Users', newUser());
  const before = Object.values((await poll({ returnImmediately: true })).body.sets as Record<string, string>)[0];
  const oldKid = decodeProtectedHeader(before).kid as string;
  expect(await supersedeSigningKeys(h.db, h.tenantId)).toEqual([oldKid]);
  const after = Object.values((await poll({ returnImmediately: true })).body.sets as Record<string, string>)[0];
  const newKid = decodeProtectedHeader(after).kid as string;
  expect(newKid).not.toBe(oldKid);
  // Same SET (same jti), new signature; both verify against the published JWKS.
  expect(decodeJwt(after).jti).toBe(decodeJwt(before).jti);
  await verify(before);
  await verify(after);
  const kids = async () => ((await (await fetch(`${h.publicUrl}/events/${h.tenantId}/jwks.json`)).json()) as { keys: Json[] }).keys.map((k) => k.kid);
  expect(await kids()).toEqual([newKid, oldKid]);
  expect(await retireSigningKey(h.db, h.tenantId, oldKid)).toBe(true);
  expect(await kids()).toEqual([newKid]);
  await expect(verify(before)).rejects.toThrow();
});

// With the worker: events/lifecycle-events.int.test.ts.
