import { userNameKey } from './user-name';

describe('userNameKey (RFC 8265 UsernameCaseMapped mapping, trimmed)', () => {
  test.each([
    ['composed and decomposed café', 'caf\u00e9@example.org', 'cafe\u0301@example.org'],
    ['fullwidth and ASCII', '\uff46\uff55\uff4c\uff4c', 'full'],
    ['case', 'Ann.Lee@Example.org', 'ann.lee@example.org'],
    ['surrounding spaces (and an ideographic space)', '  ann@example.org\u3000', 'ann@example.org'],
    ['halfwidth and fullwidth katakana with a voiced mark', '\uff76\uff9e', '\u30ac'],
    ['fullwidth @ and digits', 'user\uff11\uff20example.org', 'user1@example.org'],
  ])('when two userNames differ only by %s, then their keys are equal', (_what, a, b) => {
    expect(userNameKey(a)).toBe(userNameKey(b));
  });

  test.each([
    ['different letters', 'ann@example.org', 'anne@example.org'],
    ['an inner space', 'ann lee', 'annlee'],
    ['a compatibility character that is not a width variant (ligature fi)', '\ufb01le', 'file'],
  ])('when two userNames differ by %s, then their keys differ', (_what, a, b) => {
    expect(userNameKey(a)).not.toBe(userNameKey(b));
  });
});
