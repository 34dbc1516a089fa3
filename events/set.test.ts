import { createLocalJWKSet, decodeProtectedHeader, importPKCS8, jwtVerify } from 'jose';
import { prefersRespondAsync } from './async';
import { securityEventsCapability } from './discovery';
import { parsePollRequest, PollRequestError, MAX_EVENTS } from './poll';
import { pushOutcomeOf } from './push';
import {
  asyncResponseEvent,
  audienceOf,
  changedAttributes,
  changeTxn,
  eventJti,
  groupChangeEvents,
  issuerOf,
  lifecycleEvent,
  setClaims,
  userChangeEvents,
} from './set';
import { decryptPrivateKey, newSigningKey, SET_TYPE, signSet } from './signing';
import { emittedEventUris, LIFECYCLE_OUTCOMES, lifecycleEventUri, SCIM_EVENTS } from './uris';

const T = 't-events';
const ID = '2819c223-7f76-453a-919d-413861904646';
const before = {
  userName: 'bjensen@example.org',
  externalId: 'emp-17',
  active: true,
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'ICU', costCenter: '4130' },
};

describe('SET building (events/set.ts)', () => {
  it('when a user is created, then one create:notice names its attributes, never their values', () => {
    const [e, ...rest] = userChangeEvents({ tenantId: T, id: ID, version: 1, method: 'POST', after: before });
    expect(rest).toEqual([]);
    expect(e.eventUri).toBe(SCIM_EVENTS.create);
    expect(e.claims).toEqual({
      sub_id: { format: 'scim', uri: `/Users/${ID}`, externalId: 'emp-17' },
      txn: changeTxn(T, 'User', ID, 1),
      events: {
        [SCIM_EVENTS.create]: {
          attributes: [
            'id',
            'active',
            'externalId',
            'name',
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter',
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
            'userName',
          ],
          version: 'W/"1"',
        },
      },
    });
    const text = JSON.stringify(e.claims);
    for (const value of ['bjensen', 'Barbara', 'Jensen', 'ICU', '4130']) expect(text).not.toContain(value);
  });

  it('when a PATCH deactivates a user, then patch:notice then deactivate, with one txn and distinct jtis', () => {
    const after = { ...before, active: false, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'ER', costCenter: '4130' } };
    const events = userChangeEvents({ tenantId: T, id: ID, version: 4, method: 'PATCH', before, after });
    expect(events.map((e) => e.eventUri)).toEqual([SCIM_EVENTS.patch, SCIM_EVENTS.deactivate]);
    expect(events[0].claims.events).toEqual({
      [SCIM_EVENTS.patch]: { attributes: ['active', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department'], version: 'W/"4"' },
    });
    expect(events[1].claims.events).toEqual({ [SCIM_EVENTS.deactivate]: {} });
    expect(new Set(events.map((e) => e.txn)).size).toBe(1);
    expect(new Set(events.map((e) => e.jti)).size).toBe(2);
  });

  it('when a PUT reactivates, then put:notice then activate; a PUT that keeps active adds nothing', () => {
    const inactive = { ...before, active: false };
    expect(userChangeEvents({ tenantId: T, id: ID, version: 5, method: 'PUT', before: inactive, after: before }).map((e) => e.eventUri)).toEqual([
      SCIM_EVENTS.put,
      SCIM_EVENTS.activate,
    ]);
    // `active` absent is active (RFC 7643 leaves it to the provider; scimflow stores it so).
    const { active: _a, ...withoutActive } = before;
    expect(userChangeEvents({ tenantId: T, id: ID, version: 6, method: 'PUT', before, after: withoutActive }).map((e) => e.eventUri)).toEqual([
      SCIM_EVENTS.put,
    ]);
  });

  it('when a user is deleted, then prov:delete with no payload and no qualifier', () => {
    const [e] = userChangeEvents({ tenantId: T, id: ID, version: 7, method: 'DELETE', before });
    expect(e.eventUri).toBe('urn:ietf:params:scim:event:prov:delete');
    expect(e.claims.events).toEqual({ 'urn:ietf:params:scim:event:prov:delete': {} });
  });

  it('when the same change is built twice, then the same jti; another version, event or tenant, another', () => {
    const a = userChangeEvents({ tenantId: T, id: ID, version: 2, method: 'PATCH', before, after: { ...before, title: 'RN' } })[0];
    const b = userChangeEvents({ tenantId: T, id: ID, version: 2, method: 'PATCH', before, after: { ...before, title: 'RN' } })[0];
    expect(a.jti).toBe(b.jti);
    expect(a.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventJti(T, `User/${ID}@3`, SCIM_EVENTS.patch)).not.toBe(a.jti);
    expect(eventJti(T, `User/${ID}@2`, SCIM_EVENTS.put)).not.toBe(a.jti);
    expect(eventJti('other', `User/${ID}@2`, SCIM_EVENTS.patch)).not.toBe(a.jti);
  });

  it('when attributes are compared, then key order does not count and extensions are named per attribute', () => {
    expect(changedAttributes({ name: { a: 1, b: 2 } }, { name: { b: 2, a: 1 } })).toEqual([]);
    expect(changedAttributes({ emails: [{ value: 'x' }] }, {})).toEqual(['emails']);
    expect(changedAttributes({}, { 'urn:x:ext': { tags: ['a'] } })).toEqual(['urn:x:ext:tags']);
  });

  it('when a group changes, then its events name the group and what changed', () => {
    const [created] = groupChangeEvents({ tenantId: T, id: ID, version: 1, method: 'POST', externalId: 'crm', attributes: ['displayName', 'members'] });
    expect(created.claims).toMatchObject({
      sub_id: { format: 'scim', uri: `/Groups/${ID}`, externalId: 'crm' },
      events: { [SCIM_EVENTS.create]: { attributes: ['id', 'displayName', 'members'], version: 'W/"1"' } },
    });
    const [patched] = groupChangeEvents({ tenantId: T, id: ID, version: 2, method: 'PATCH', externalId: null, attributes: ['members'] });
    expect(patched.claims).toEqual({
      sub_id: { format: 'scim', uri: `/Groups/${ID}` },
      txn: changeTxn(T, 'Group', ID, 2),
      events: { [SCIM_EVENTS.patch]: { attributes: ['members'], version: 'W/"2"' } },
    });
  });

  it('when an asynchronous request completes, then misc:asyncresp carries its txn and a Bulk response operation', () => {
    const ok = asyncResponseEvent({
      tenantId: T,
      txn: 'abc',
      resourceType: 'User',
      resourceId: ID,
      method: 'POST',
      location: `https://x/Users/${ID}`,
      version: 1,
    });
    expect(ok.claims).toEqual({
      sub_id: { format: 'scim', uri: `/Users/${ID}` },
      txn: 'abc',
      events: { [SCIM_EVENTS.asyncResponse]: { method: 'POST', version: 'W/"1"', location: `https://x/Users/${ID}`, status: '201' } },
    });
    const failed = asyncResponseEvent({
      tenantId: T,
      txn: 'abc',
      resourceType: 'User',
      resourceId: ID,
      method: 'PATCH',
      location: 'l',
      version: 3,
      failure: { status: '500', detail: 'the application refused the account' },
    });
    expect((failed.claims.events as Record<string, unknown>)[SCIM_EVENTS.asyncResponse]).toEqual({
      method: 'PATCH',
      version: 'W/"3"',
      location: 'l',
      status: '500',
      response: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '500', detail: 'the application refused the account' },
    });
    const deleted = asyncResponseEvent({ tenantId: T, txn: 'd', resourceType: 'User', resourceId: ID, method: 'DELETE', location: 'l', version: 9 });
    expect((deleted.claims.events as Record<string, unknown>)[SCIM_EVENTS.asyncResponse]).toEqual({ method: 'DELETE', status: '204' });
    expect(ok.jti).toBe(asyncResponseEvent({ tenantId: T, txn: 'abc', resourceType: 'User', resourceId: ID, method: 'POST', location: 'other' }).jti);
  });

  it("when scimflow's own outcome is reported, then its URI is scimflow's, and the occurrence's key decides the jti", () => {
    const invited = lifecycleEvent({ tenantId: T, userId: ID, outcome: 'invited', key: 'inv-1' });
    expect(invited.eventUri).toBe('urn:scimflow:event:invited');
    expect(invited.claims.events).toEqual({ 'urn:scimflow:event:invited': {} });
    expect(lifecycleEvent({ tenantId: T, userId: ID, outcome: 'invited', key: 'inv-1' }).jti).toBe(invited.jti);
    expect(lifecycleEvent({ tenantId: T, userId: ID, outcome: 'invited', key: 'inv-2' }).jti).not.toBe(invited.jti);
    expect(lifecycleEvent({ tenantId: T, userId: ID, outcome: 'failed', key: 'apply@3', reason: 'refused' }).claims.events).toEqual({
      'urn:scimflow:event:failed': { reason: 'refused' },
    });
  });

  it('when a stored event is signed, then the claims are iss, iat from its time, jti, aud, then its own', () => {
    const claims = setClaims({ jti: 'j', claims: { sub_id: {}, events: {} }, createdAt: new Date('2026-05-01T10:00:00.900Z') }, 'https://scim.example', 'demo');
    expect(claims).toEqual({
      iss: 'https://scim.example/events/demo',
      iat: 1777629600,
      jti: 'j',
      aud: 'https://scim.example/events/demo/feed',
      sub_id: {},
      events: {},
    });
    expect(issuerOf('https://scim.example', 'demo')).toBe('https://scim.example/events/demo');
    expect(audienceOf('https://scim.example', 'demo')).toBe('https://scim.example/events/demo/feed');
  });
});

describe('signing (events/signing.ts)', () => {
  it('when a SET is signed with a new key, then it verifies against the JWKS with typ secevent+jwt, and the private key is stored encrypted', async () => {
    const encryption = { id: 'k1', key: Buffer.alloc(32, 7) };
    const stored = await newSigningKey(T, encryption);
    expect(stored.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: stored.kid, alg: 'ES256', use: 'sig' });
    expect(stored.publicJwk).not.toHaveProperty('d');
    expect(stored.privateKey.toString('utf8')).not.toContain('PRIVATE KEY');
    const pem = decryptPrivateKey(encryption, T, stored.kid, stored.privateKey);
    expect(() => decryptPrivateKey(encryption, 'another-tenant', stored.kid, stored.privateKey)).toThrow();
    const event = userChangeEvents({ tenantId: T, id: ID, version: 1, method: 'POST', after: before })[0];
    const jws = await signSet(setClaims({ jti: event.jti, claims: event.claims, createdAt: new Date() }, 'https://scim.example', T), {
      kid: stored.kid,
      privateKey: await importPKCS8(pem, 'ES256'),
    });
    expect(decodeProtectedHeader(jws)).toEqual({ alg: 'ES256', typ: SET_TYPE, kid: stored.kid });
    const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet({ keys: [stored.publicJwk] }), {
      issuer: issuerOf('https://scim.example', T),
      audience: audienceOf('https://scim.example', T),
      typ: SET_TYPE,
    });
    expect(protectedHeader.typ).toBe('secevent+jwt');
    expect(payload).toMatchObject({ jti: event.jti, sub_id: { uri: `/Users/${ID}` }, events: { [SCIM_EVENTS.create]: expect.any(Object) } });
  });
});

describe('/ServiceProviderConfig securityEvents (events/discovery.ts)', () => {
  it('when advertised, then only the URIs emitted, and asyncRequest "request"', () => {
    expect(securityEventsCapability(false)).toEqual({
      asyncRequest: 'request',
      eventUris: [
        'urn:ietf:params:scim:event:prov:create:notice',
        'urn:ietf:params:scim:event:prov:patch:notice',
        'urn:ietf:params:scim:event:prov:put:notice',
        'urn:ietf:params:scim:event:prov:delete',
        'urn:ietf:params:scim:event:prov:activate',
        'urn:ietf:params:scim:event:prov:deactivate',
        'urn:ietf:params:scim:event:misc:asyncresp',
      ],
    });
    // The `:full` forms and the feed events are never emitted, so never advertised.
    expect(emittedEventUris(true).filter((u) => u.endsWith(':full') || u.includes(':feed:'))).toEqual([]);
    expect(securityEventsCapability(true).eventUris).toEqual(expect.arrayContaining(LIFECYCLE_OUTCOMES.map(lifecycleEventUri)));
  });
});

describe('Prefer: respond-async (events/async.ts)', () => {
  it.each([
    ['respond-async', true],
    ['respond-async, wait=10', true],
    ['wait=10, RESPOND-ASYNC', true],
    ['return=minimal; foo="respond-async"', false],
    ['return=representation', false],
    [undefined, false],
  ])('when Prefer is %p, then %p', (header, wanted) => {
    expect(prefersRespondAsync(header)).toBe(wanted);
  });
});

describe('poll requests (events/poll.ts)', () => {
  it('when the body is empty, then a long poll of the default size', () => {
    expect(parsePollRequest(undefined)).toEqual({ ack: [], setErrs: [], maxEvents: 100, returnImmediately: false });
  });

  it('when acks and errors are given, then ids this server could not have issued are dropped, maxEvents capped', () => {
    const jti = '0b7a2f44-1d2e-8c3b-9a4f-5e6d7c8b9a01';
    expect(
      parsePollRequest({
        ack: [jti, 'nope'],
        setErrs: { [jti]: { err: 'invalid_key', description: 'unknown kid' } },
        maxEvents: 5000,
        returnImmediately: true,
      }),
    ).toEqual({ ack: [jti], setErrs: [{ jti, error: 'invalid_key: unknown kid' }], maxEvents: MAX_EVENTS, returnImmediately: true });
  });

  it.each([[[]], ['x'], [{ ack: 'x' }], [{ setErrs: { a: 'x' } }], [{ maxEvents: -1 }], [{ maxEvents: 1.5 }], [{ returnImmediately: 'yes' }]])(
    'when the request is %j, then it is refused',
    (body) => {
      expect(() => parsePollRequest(body)).toThrow(PollRequestError);
    },
  );
});

describe('push answers (events/push.ts, RFC 8935 §2)', () => {
  it('when the receiver answers, then 2xx delivers, 400 with err refuses for good, anything else is retried', () => {
    expect(pushOutcomeOf(202, '')).toEqual({ kind: 'delivered' });
    expect(pushOutcomeOf(400, '{"err":"invalid_issuer","description":"unknown issuer"}')).toEqual({
      kind: 'rejected',
      error: 'invalid_issuer: unknown issuer',
    });
    expect(pushOutcomeOf(400, 'bad')).toMatchObject({ kind: 'retry' });
    expect(pushOutcomeOf(500, 'down')).toEqual({ kind: 'retry', error: 'HTTP 500: down' });
    expect(pushOutcomeOf(401, '')).toEqual({ kind: 'retry', error: 'HTTP 401' });
  });
});
