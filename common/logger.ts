/**
 * Structured JSON logs (pino). Secrets and personal data never reach a log line: callers log
 * ids only, and the usual secret-bearing keys are redacted anyway.
 *
 * A log context follows the work across async calls: the worker's activity interceptor runs
 * each activity inside `withLogContext({ workflowId, runId, activity, requestId, tenantId })`,
 * so every line any logger from `createLogger` writes meanwhile carries those fields, without
 * the activities passing a child logger around.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

export type Logger = pino.Logger;

/** Fields added to every log line written inside `withLogContext`. Ids only. */
export interface LogContext {
  requestId?: string;
  tenantId?: string;
  workflowId?: string;
  runId?: string;
  activity?: string;
  attempt?: number;
}

const contextStorage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `context` added to (and overriding) the current log context. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  const merged: LogContext = { ...contextStorage.getStore() };
  for (const [k, v] of Object.entries(context)) if (v !== undefined && v !== null && v !== '') (merged as Record<string, unknown>)[k] = v;
  return contextStorage.run(merged, fn);
}

/**
 * @param destination where the JSON lines go (default stdout); tests pass a stream to read them.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => ({ ...contextStorage.getStore() }),
    redact: {
      paths: ['authorization', 'req.headers.authorization', 'headers.authorization', 'token', '*.token', 'password', '*.password', 'smtpUrl', 'databaseUrl'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
