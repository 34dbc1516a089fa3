/** The IdP-quirk layer (normalise.ts) on PATCH operations: what reaches the PATCH engine. */
import { declareSchemas } from '../scim/schemas';
import { normaliseUserPatchValue } from './normalise';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const EXT = 'urn:ietf:params:scim:schemas:extension:scimflow:2.0:User';

describe('normaliseUserPatchValue', () => {
  // The server declares the extensions at start; the coercion reads their definitions.
  beforeAll(() => declareSchemas());

  test('when Entra replaces a simple single-valued attribute with "", then the value is null (the attribute is cleared)', () => {
    for (const path of ['title', 'name.givenName', `${ENTERPRISE}:department`, `${EXT}:employeeType`, `${EXT}:caseManager`, `${EXT}:startDate`])
      expect(normaliseUserPatchValue({ op: 'replace', path, value: '' })).toEqual({ op: 'replace', path, value: null });
  });

  test('when "" is sent for userName, a value inside a multi-valued attribute or a multi-valued attribute, then it is left for validation to judge', () => {
    expect(normaliseUserPatchValue({ op: 'replace', path: 'userName', value: '' }).value).toBe('');
    expect(normaliseUserPatchValue({ op: 'replace', path: 'emails[type eq "work"].value', value: '' }).value).toBe('');
    expect(normaliseUserPatchValue({ op: 'replace', path: 'emails.value', value: '' }).value).toBe('');
    expect(normaliseUserPatchValue({ op: 'replace', path: `${EXT}:teams`, value: '' }).value).toEqual([]);
  });

  test('when the manager is emptied by path, then the operation is its removal; a plain id becomes { value }', () => {
    for (const value of ['', '  ', null]) {
      expect(normaliseUserPatchValue({ op: 'replace', path: `${ENTERPRISE}:manager`, value })).toEqual({ op: 'remove', path: `${ENTERPRISE}:manager` });
    }
    expect(normaliseUserPatchValue({ op: 'add', path: `${ENTERPRISE}:manager`, value: 'm1' }).value).toEqual({ value: 'm1' });
  });

  test('when the no-path form carries URN-qualified keys, whole extensions and complex objects, then each value is coerced as its path says and nulls stay', () => {
    const op = normaliseUserPatchValue({
      op: 'replace',
      value: {
        [`${ENTERPRISE}:manager`]: 'm1',
        [ENTERPRISE]: { manager: null, department: '' },
        [EXT]: { teams: 'A;B', caseManager: 'True', employeeType: '' },
        'name.familyName': '',
        name: { givenName: '', formatted: 'X' },
        active: 'False',
        nickName: null,
        id: 'u1',
      },
    });
    expect(op.value).toEqual({
      [`${ENTERPRISE}:manager`]: { value: 'm1' },
      [ENTERPRISE]: { manager: null, department: null },
      [EXT]: { teams: ['A', 'B'], caseManager: true, employeeType: null },
      'name.familyName': null,
      name: { givenName: null, formatted: 'X' },
      active: false,
      nickName: null,
      id: 'u1',
    });
  });

  test('when a no-path value is not an object, then 400 invalidSyntax', () => {
    for (const value of ['x', [], null]) {
      expect(() => normaliseUserPatchValue({ op: 'replace', value })).toThrow(expect.objectContaining({ status: 400, scimType: 'invalidSyntax' }));
    }
  });
});
