import { emailAddressProblem } from './email-address';

describe('emailAddressProblem', () => {
  test.each(['jane@example.org', 'Jane.Doe+night-shift@Example.ORG', "o'brien@hospital.example.org", 'jürgen@bücher.de', 'a@b.co'])(
    'when the value is one address (%s), then it is accepted',
    (value) => expect(emailAddressProblem(value)).toBeUndefined(),
  );

  test.each([
    ['not-an-email', /has no "@"/],
    ['a@x.org, b@y.org', /more than one address/],
    ['a@x.org; b@y.org', /more than one address/],
    ['Trusted <b@evil.example>', /display-name form/],
    ['<b@evil.example>', /display-name form/],
    ['undisclosed: b@y.org;', /group syntax/],
    ['a@x.org\r\nBcc: b@y.org', /control or invisible character/],
    ['a@x.org\nb@y.org', /control or invisible character/],
    ['a\u200b@x.org', /control or invisible character/],
    ['a(comment)@x.org', /comment/],
    ['"a b"@x.org', /quoted local part/],
    ['a b@x.org', /contains spaces/],
    [' a@x.org', /spaces around it/],
    ['a@@x.org', /more than one "@"/],
    ['a@[10.0.0.1]', /address literal/],
    ['a@localhost', /not an email address: domain lacks the minimum/],
    ['a..b@x.org', /not an email address/],
    ['@x.org', /not an email address/],
    ['', /is empty/],
  ])('when the value is %j, then it is refused: %s', (value, problem) => expect(emailAddressProblem(value)).toMatch(problem));

  test('when the value is not a string, then it is refused', () => expect(emailAddressProblem(42)).toBe('is not a string'));
});
