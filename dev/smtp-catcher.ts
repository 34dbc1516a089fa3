/**
 * A local SMTP server that keeps every message it receives: as an `.eml` file under a folder
 * (all-in-one mode: DATA_DIR/outbox) and in memory (tests read `messages`). Loopback only.
 * Like a real server, it refuses recipients in the reserved `.invalid` top-level domain
 * (RFC 2606) for good: 550, no such domain. That is how a refused invitation can be tried.
 * With `replyDelayMs` (fault tests) it answers the recipient, and so the step into DATA, and the
 * final dot that late: a slow mail server, so that a sender can be killed inside the exchange.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface CaughtMessage {
  from: string;
  to: string[];
  raw: string;
  file?: string;
  receivedAt: Date;
}

export interface SmtpCatcher {
  port: number;
  url: string;
  messages: CaughtMessage[];
  /** Messages whose SMTP exchange has begun (RCPT TO) and not yet been answered at the final dot. */
  inExchange(): number;
  /** Makes the server refuse mail (tests of an outage) until set back. */
  setRefusing(refusing: boolean): void;
  close(): Promise<void>;
}

export async function startSmtpCatcher(options: { port?: number; outboxDir?: string; replyDelayMs?: number } = {}): Promise<SmtpCatcher> {
  const messages: CaughtMessage[] = [];
  let refusing = false;
  const delay = options.replyDelayMs ?? 0;
  /** Sessions inside an exchange: from the recipient to the answer of the final dot (or the connection's end). */
  const exchanging = new Set<string>();
  const later = (fn: () => void) => (delay > 0 ? void setTimeout(fn, delay) : fn());
  if (options.outboxDir) fs.mkdirSync(options.outboxDir, { recursive: true });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onMailFrom(_address, _session, callback) {
      if (refusing) {
        const err = new Error('mail service unavailable') as Error & { responseCode: number };
        err.responseCode = 421;
        return callback(err);
      }
      callback();
    },
    onRcptTo(address, session, callback) {
      if (/\.invalid$/i.test(address.address)) {
        const err = new Error(`5.1.2 ${address.address}: bad destination system address (no such domain)`) as Error & { responseCode: number };
        err.responseCode = 550;
        return callback(err);
      }
      exchanging.add(session.id);
      later(() => callback());
    },
    onClose(session) {
      exchanging.delete(session.id);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const message: CaughtMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          receivedAt: new Date(),
        };
        if (options.outboxDir) {
          const file = path.join(options.outboxDir, `${message.receivedAt.toISOString().replace(/[:.]/g, '-')}-${messages.length + 1}.eml`);
          fs.writeFileSync(file, raw);
          message.file = file;
        }
        messages.push(message);
        later(() => {
          exchanging.delete(session.id);
          callback();
        });
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client that dies mid-exchange (a worker killed, as the fault tests do) resets its
  // connection: smtp-server reports it as an 'error' event, which without a listener would end
  // the process that hosts the catcher. The session is over; nothing else to do.
  server.on('error', () => undefined);
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    inExchange: () => exchanging.size,
    setRefusing(value) {
      refusing = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
