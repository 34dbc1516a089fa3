import { parseMailbox } from './mailbox';

describe('parseMailbox', () => {
  test.each([
    ['it@hospital.example', { address: 'it@hospital.example', domain: 'hospital.example' }],
    ['IT Service Desk <it@Hospital.example>', { address: 'it@Hospital.example', domain: 'hospital.example', displayName: 'IT Service Desk' }],
    ['  no-reply@scimflow.localhost ', { address: 'no-reply@scimflow.localhost', domain: 'scimflow.localhost' }],
  ])('when %j is given, then it is one mailbox', (text, mailbox) => {
    expect(parseMailbox(text)).toEqual({ ok: true, mailbox });
  });

  test.each([
    ['a line break', 'it@hospital.example\r\nBcc: x@evil.example', /control character/],
    ['a line break in the display name', 'IT\n <it@hospital.example>', /control character/],
    ['a list', 'a@hospital.example, b@evil.example', /exactly one address/],
    ['group syntax', 'team: a@hospital.example;', /exactly one address|local part/],
    ['a quoted display name', '"Security, IT" <sec@hospital.example>', /display name/],
    ['an address in the display name', 'it@hospital.example <x@evil.example>', /display name/],
    ['a comment', 'it(x)@hospital.example', /local part/],
    ['an address literal', 'it@[10.0.0.1]', /domain/],
    ['no domain dot', 'it@localhost', /domain/],
    ['nothing', '', /must be an e-mail address/],
  ])('when it holds %s, then it is refused with the reason', (_what, text, reason) => {
    const result = parseMailbox(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toMatch(reason);
  });
});
