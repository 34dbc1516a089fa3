/** Outgoing mail through nodemailer; the one place that knows the SMTP URL. */
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  from: string;
  /** Where replies go (the tenant's contact). */
  replyTo?: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable Message-ID derived from the idempotency key, so duplicates are recognisable downstream. */
  messageId: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  close(): void;
}

export function createMailer(smtpUrl: string): Mailer {
  // Pooled: a burst of invitations reuses a few SMTP sessions instead of a connection and
  // handshake per mail; a broken session is replaced on the next send.
  const transport = nodemailer.createTransport(smtpUrl, {
    pool: true,
    maxConnections: 4,
    maxMessages: 500,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  } as never);
  return {
    async send(mail) {
      // The last guard against header injection: senders are checked when configured (common/mail/sender.ts).
      for (const [name, value] of [
        ['from', mail.from],
        ['replyTo', mail.replyTo],
      ] as const) {
        if (value !== undefined && /[\r\n\0]/.test(value)) throw new Error(`refusing to send: "${name}" holds a line break`);
      }
      const info = await transport.sendMail(mail);
      return { messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}
