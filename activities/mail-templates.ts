/** Invitation and reminder mails, HTML and text. Values are HTML-escaped; the template is the tenant's. */
export interface InvitationMailData {
  applicationName: string;
  firstName: string | null;
  link: string;
  expiresAt: Date;
  reminder: number | null;
  /** The tenant's own paragraph (invitation.message); {{applicationName}} and {{firstName}} are replaced. */
  message?: string | null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderSubject(template: string, data: InvitationMailData): string {
  const subject = template.replace(/\{\{\s*applicationName\s*\}\}/g, data.applicationName);
  return data.reminder ? `Reminder: ${subject}` : subject;
}

export function renderInvitation(data: InvitationMailData): { text: string; html: string } {
  const greeting = data.firstName ? `Hello ${data.firstName},` : 'Hello,';
  const expires = data.expiresAt.toUTCString();
  const intro = data.reminder
    ? `This is a reminder: your account for ${data.applicationName} is ready and waiting for you.`
    : `An account for ${data.applicationName} has been set up for you.`;
  const message = data.message
    ? data.message.replace(/\{\{\s*applicationName\s*\}\}/g, data.applicationName).replace(/\{\{\s*firstName\s*\}\}/g, data.firstName ?? '')
    : null;
  const text = `${greeting}\n\n${intro}\n\n${message ? `${message}\n\n` : ''}Accept the invitation to start:\n${data.link}\n\nThe link works once and expires ${expires}.\n`;
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p>${escapeHtml(greeting)}</p>
<p>${escapeHtml(intro)}</p>
${message ? `<p>${escapeHtml(message)}</p>\n` : ''}<p><a href="${escapeHtml(data.link)}" style="display:inline-block;padding:10px 16px;background:#1d4ed8;color:#fff;text-decoration:none;border-radius:4px">Accept the invitation</a></p>
<p style="color:#555">The link works once and expires ${escapeHtml(expires)}.</p>
</body></html>`;
  return { text, html };
}
