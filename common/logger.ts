/** Structured JSON logs. Secrets and personal data never reach a log line: callers log ids only. */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { ...base },
    redact: { paths: ['authorization', 'req.headers.authorization', 'token', '*.token', 'password'], censor: '[redacted]' },
  });
}
