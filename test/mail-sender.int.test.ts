/**
 * Finding 3 (the sender): a tenant's `invitation.from` only in a domain the operator allows,
 * one mailbox without control characters; the tenant's contact as Reply-To. Real server,
 * worker and SMTP server (a private one, to read the envelope).
 */
import { createTenant, saveConfigVersion } from '../common/repositories/tenants';
import { createToken } from '../common/repositories/tokens';
import { startSmtpCatcher, type SmtpCatcher } from '../dev/smtp-catcher';
import { MAIL_FROM, newUser, startHarness, testTenantConfig, type Harness } from './harness';

let h: Harness;
let smtp: SmtpCatcher;
let adminToken: string;
beforeAll(async () => {
  smtp = await startSmtpCatcher();
  h = await startHarness({ smtpUrl: smtp.url, allowedFromDomains: ['hospital.example'] });
  adminToken = (await createToken(h.db, h.tenantId, 'admin', 'admin', 'Super User')).token;
});
afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${h.publicUrl}/admin/v1/tenants/${h.tenantId}${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const withInvitation = (invitation: Record<string, unknown>) => {
  const base = testTenantConfig();
  return { ...base, invitation: { ...base.invitation, ...invitation } };
};
const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1]?.trim();

/** Onboards a user of `tenant` (token `token`) and returns the invitation mail as the SMTP server got it. */
async function invite(token: string, tenant: string) {
  const user = newUser();
  const res = await fetch(`${h.baseUrl}/Users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
    body: JSON.stringify(user),
  });
  expect(res.status).toBe(201);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const mail = smtp.messages.find((m) => m.to.includes(user.userName));
    if (mail) return mail;
    if (Date.now() > deadline) throw new Error(`no invitation for ${user.userName} (tenant ${tenant})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('finding 3: invitation senders', () => {
  test('when a Super User sets invitation.from to a domain the operator does not allow, then 400 naming invitation.from, and nothing is saved', async () => {
    const before = await admin('GET', '/config/versions');
    const res = await admin('POST', '/config/versions', withInvitation({ from: 'IT Security <security@bank.example>' }));
    expect(res.status).toBe(400);
    expect(res.body.error.problems).toEqual([expect.stringMatching(/^invitation\.from: sends from bank\.example, which the operator does not allow/)]);
    expect((await admin('GET', '/config/versions')).body.versions).toHaveLength(before.body.versions.length);
    const validated = await admin('POST', '/config/validate', withInvitation({ from: 'security@bank.example' }));
    expect(validated.body).toMatchObject({ valid: false });
  });

  test.each([
    ['a line break', 'it@hospital.example\r\nBcc: x@evil.example'],
    ['a list', 'it@hospital.example, x@evil.example'],
    ['a group', 'team: it@hospital.example;'],
  ])('when invitation.from or replyTo holds %s, then 400 naming the field', async (_what, value) => {
    for (const field of ['from', 'replyTo']) {
      const res = await admin('POST', '/config/versions', withInvitation({ [field]: value }));
      expect(res.status).toBe(400);
      expect(res.body.error.problems.join('\n')).toContain(`invitation.${field}:`);
    }
  });

  test('when the sender is in an allowed domain and a contact is set, then mail leaves from it with the contact as Reply-To', async () => {
    const saved = await admin(
      'POST',
      '/config/versions',
      withInvitation({ from: 'Hospital IT <it@hospital.example>', replyTo: 'servicedesk@hospital.example' }),
    );
    expect(saved.status).toBe(201);
    const mail = await invite(h.token, h.tenantId);
    expect(header(mail.raw, 'From')).toBe('Hospital IT <it@hospital.example>');
    expect(header(mail.raw, 'Reply-To')).toBe('servicedesk@hospital.example');
    expect(mail.from).toBe('it@hospital.example');
  });

  test('when a forged sender was stored before the restriction (or by hand), then mail leaves from the platform sender, the address as Reply-To', async () => {
    const tenant = `legacy-${Date.now().toString(36)}`;
    await createTenant(h.db, tenant, tenant);
    // Stored around the admin API's checks, as configurations saved before them were.
    await saveConfigVersion(h.db, tenant, withInvitation({ from: 'IT Security <security@bank.example>' }), 'before the restriction');
    const token = (await createToken(h.db, tenant, 'idp')).token;
    const mail = await invite(token, tenant);
    expect(header(mail.raw, 'From')).toBe(MAIL_FROM);
    expect(header(mail.raw, 'Reply-To')).toBe('security@bank.example');
    expect(mail.from).toBe(MAIL_FROM); // the envelope sender, never empty
  });
});
