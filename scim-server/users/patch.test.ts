/** The one-pass PATCH engine (patch.ts) on plain documents: RFC 7644 §3.5.2 semantics, read-only attributes, limits. */
import type { PatchOperation } from '../normalise';
import { ScimError } from '../../scim/error';
import { applyPatch, type PatchOptions } from './patch';

type Json = Record<string, unknown>;
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const EXT = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';

const keep: PatchOptions = { id: 'u1', onNoMatch: (_doc, op) => op };
const base = (): Json => ({
  userName: 'ann@example.org',
  name: { givenName: 'Ann', familyName: 'Lee', formatted: 'Ann Lee' },
  emails: [
    { value: 'ann@example.org', type: 'work', primary: true },
    { value: 'ann@home.example', type: 'home' },
  ],
  title: 'RN',
});
const patch = (doc: Json, ...ops: PatchOperation[]) => applyPatch(doc, ops, keep);
const errorOf = (fn: () => unknown): ScimError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ScimError) return err;
    throw err;
  }
  throw new Error('expected a ScimError');
};

describe('applyPatch', () => {
  test('when values are added to a multi-valued attribute, then they are appended; replace sets the whole list', () => {
    const added = patch(base(), { op: 'add', path: 'emails', value: [{ value: 'x@example.org', type: 'other' }] });
    expect((added.emails as Json[]).map((e) => e.value)).toEqual(['ann@example.org', 'ann@home.example', 'x@example.org']);
    const replaced = patch(base(), { op: 'replace', path: 'emails', value: { value: 'only@example.org' } });
    expect(replaced.emails).toEqual([{ value: 'only@example.org' }]);
  });

  test('when a value filter names values, then replace changes their sub-attribute and remove drops them', () => {
    const doc = patch(base(), { op: 'replace', path: 'emails[type eq "work"].value', value: 'new@example.org' });
    expect((doc.emails as Json[])[0]).toEqual({ value: 'new@example.org', type: 'work', primary: true });
    const removed = patch(base(), { op: 'remove', path: 'emails[type eq "home"]' });
    expect((removed.emails as Json[]).map((e) => e.type)).toEqual(['work']);
    const last = patch({ userName: 'x', emails: [{ value: 'a@x.org', type: 'work' }] }, { op: 'remove', path: 'emails[type eq "work"]' });
    expect(last).not.toHaveProperty('emails');
  });

  test('when a value filter matches nothing, then onNoMatch decides: its operation is applied, or the answer is 400 noTarget', () => {
    const create: PatchOptions = {
      onNoMatch: () => ({ op: 'add', path: 'phoneNumbers', value: [{ type: 'mobile', value: '+15550100' }] }),
    };
    const created = applyPatch(base(), [{ op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '+15550100' }], create);
    expect(created.phoneNumbers).toEqual([{ type: 'mobile', value: '+15550100' }]);
    const err = errorOf(() => patch(base(), { op: 'replace', path: 'emails[value eq "nobody@x.org"].type', value: 'work' }));
    expect(err.scimType).toBe('noTarget');
    expect(err.detail).toMatch(/^Operation 1: /);
  });

  test('when a complex attribute is replaced or added, then the given sub-attributes change and the others stay (RFC 7644 §3.5.2.3)', () => {
    const doc = patch(base(), { op: 'replace', path: 'name', value: { givenName: 'Anna' } });
    expect(doc.name).toEqual({ givenName: 'Anna', familyName: 'Lee', formatted: 'Ann Lee' });
    expect(patch(base(), { op: 'remove', path: 'name.formatted' }).name).toEqual({ givenName: 'Ann', familyName: 'Lee' });
  });

  test('when a complex attribute is replaced with null sub-attributes, then they are cleared, and one left without any is removed (RFC 7643 §2.5)', () => {
    expect(patch(base(), { op: 'replace', path: 'name', value: { givenName: null, formatted: 'Lee' } }).name).toEqual({ familyName: 'Lee', formatted: 'Lee' });
    const emptied = patch(base(), { op: 'replace', value: { name: { givenName: null, familyName: null, formatted: null } } });
    expect(emptied).not.toHaveProperty('name');
    expect(patch(base(), { op: 'replace', value: { [ENTERPRISE]: { manager: { value: null } } } })[ENTERPRISE]).toEqual({});
  });

  test('when Entra sends a no-path replace with paths as keys, then each lands where its path says', () => {
    const doc = patch(base(), {
      op: 'replace',
      value: { active: false, 'name.givenName': 'Newgiven', [`${ENTERPRISE}:employeeNumber`]: '4711', [EXT]: { teams: ['A', 'B'] } },
    });
    expect(doc.active).toBe(false);
    expect((doc.name as Json).givenName).toBe('Newgiven');
    expect(doc[ENTERPRISE]).toEqual({ employeeNumber: '4711' });
    expect(doc[EXT]).toEqual({ teams: ['A', 'B'] });
    expect(patch(doc, { op: 'remove', path: `${ENTERPRISE}:employeeNumber` })[ENTERPRISE]).toEqual({});
  });

  test('when a value is marked primary, then the others lose primary', () => {
    const doc = patch(base(), { op: 'replace', path: 'emails[type eq "home"].primary', value: true });
    expect((doc.emails as Json[]).map((e) => e.primary)).toEqual([false, true]);
    const added = patch(base(), { op: 'add', path: 'emails', value: [{ value: 'p@example.org', primary: true }] });
    expect((added.emails as Json[]).filter((e) => e.primary === true)).toHaveLength(1);
  });

  test('when a read-only attribute is targeted, then 400 mutability, unless the value is what it holds', () => {
    expect(errorOf(() => patch(base(), { op: 'replace', path: 'id', value: 'other' })).scimType).toBe('mutability');
    expect(errorOf(() => patch(base(), { op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' })).scimType).toBe('mutability');
    expect(errorOf(() => patch(base(), { op: 'add', path: 'groups', value: [{ value: 'g' }] })).scimType).toBe('mutability');
    expect(errorOf(() => patch(base(), { op: 'replace', path: `${EXT}:provisioning`, value: { state: 'active' } })).scimType).toBe('mutability');
    expect(patch(base(), { op: 'replace', value: { id: 'u1', title: 'Lead' } }).title).toBe('Lead');
  });

  test('when a password is patched (Okta password sync), then it is dropped', () => {
    expect(patch(base(), { op: 'replace', path: 'password', value: 'secret' })).toEqual(base());
  });

  test('when an attribute or schema does not exist, then 400 invalidPath naming the operation', () => {
    const err = errorOf(() => patch(base(), { op: 'replace', path: 'title', value: 'x' }, { op: 'replace', path: 'nosuch', value: 'x' }));
    expect(err.scimType).toBe('invalidPath');
    expect(err.detail).toMatch(/^Operation 2: "nosuch" is not an attribute/);
    expect(errorOf(() => patch(base(), { op: 'add', path: 'urn:example:nope:2.0:User:x', value: 1 })).scimType).toBe('invalidPath');
  });

  test('when an operation grows a multi-valued attribute past its limit, then 400 invalidValue naming the attribute and the limit', () => {
    const ops: PatchOperation[] = Array.from({ length: 101 }, (_, i) => ({ op: 'add', path: 'emails', value: [{ value: `e${i}@example.org` }] }));
    const err = errorOf(() => patch({ userName: 'x' }, ...ops));
    expect(err.scimType).toBe('invalidValue');
    expect(err.detail).toMatch(/"emails" holds 101 values; at most 100/);
  });

  test('when 1,000 operations alternately add and remove a value of a near-full attribute, then it never passes the limit and ends as it started', () => {
    const doc: Json = { userName: 'x', emails: Array.from({ length: 99 }, (_, i) => ({ value: `e${i}@example.org`, type: `t${i}` })) };
    const ops: PatchOperation[] = Array.from({ length: 1000 }, (_, i) =>
      i % 2 === 0 ? { op: 'add', path: 'emails', value: [{ value: 'extra@example.org', type: 'extra' }] } : { op: 'remove', path: 'emails[type eq "extra"]' },
    );
    const result = patch(doc, ...ops);
    expect(result.emails).toHaveLength(99);
  });
});
