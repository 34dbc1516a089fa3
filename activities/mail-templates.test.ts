import { renderInvitation } from './mail-templates';

const data = {
  applicationName: 'Harbor CRM',
  firstName: 'Pat',
  link: 'http://localhost/invitations/abc',
  expiresAt: new Date('2030-01-01T00:00:00Z'),
  reminder: null,
};

describe('invitation mail', () => {
  test('when the tenant configures a message, then it appears in both parts with its placeholders filled and HTML escaped', () => {
    const mail = renderInvitation({ ...data, message: 'Welcome to {{applicationName}}, {{firstName}} <3' });
    expect(mail.text).toContain('Welcome to Harbor CRM, Pat <3');
    expect(mail.html).toContain('Welcome to Harbor CRM, Pat &#60;3');
  });

  test('when there is no message, then the mail is the standard one', () => {
    expect(renderInvitation(data).text).toBe(renderInvitation({ ...data, message: null }).text);
    expect(renderInvitation(data).text).not.toContain('{{');
  });
});
