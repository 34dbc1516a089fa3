import { holdersIn, loginConflictsIn, splitAtHolders } from './login-conflicts';

const A = '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const B = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
// As activities/provisioning.ts takenReason writes them, joined with "; " among other missing data.
const REASON = `first name is required; email jane@example.org is already the login of user ${A}; mobile phone +15550100 is already the login of user ${B}`;

describe('login conflicts in a reason', () => {
  test('when a reason names two holders, then both are found with what they hold', () => {
    expect(loginConflictsIn(REASON)).toEqual([
      { kind: 'email', value: 'jane@example.org', holderId: A },
      { kind: 'mobile phone', value: '+15550100', holderId: B },
    ]);
    expect(holdersIn([REASON, null, `email x@y.org is already the login of user ${A}`])).toEqual([A, B]);
  });

  test('when a reason is split at its holders, then the text around them is kept word for word', () => {
    const parts = splitAtHolders(REASON);
    expect(parts.map((p) => ('text' in p ? p.text : `<${p.holderId}>`)).join('')).toBe(REASON.replace(A, `<${A}>`).replace(B, `<${B}>`));
    expect(parts.filter((p) => 'holderId' in p)).toEqual([{ holderId: A }, { holderId: B }]);
  });

  test('when a reason names nobody, then it is one text part', () => {
    expect(splitAtHolders('first name is required')).toEqual([{ text: 'first name is required' }]);
    expect(loginConflictsIn(undefined)).toEqual([]);
  });
});
