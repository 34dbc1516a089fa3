/**
 * One mapping from a failure to the HTTP answer it gets, rendered three ways by the boundaries of
 * the applications: the SCIM API as an RFC 7644 §3.12 error body (scim-server/error-boundary.ts),
 * the admin API as its JSON error (admin/errors.ts), the console as an error page
 * (console/routes/errors.ts).
 *
 * Input problems are 4xx (a value PostgreSQL rejects and a body the parser refuses included); a
 * database that cannot be reached is 503 with Retry-After (never a 404, never a 500), and so is a
 * statement cancelled by the statement timeout (the server is too busy to answer in time:
 * retrying later can succeed; a list that is too costly by itself is a 400 tooMany instead, see
 * scim-server/list-params.ts); only our own bugs are 500, whose answer names the request id and
 * nothing of the error.
 */
import { ScimError, type ScimType } from '../scim/error';
import { SCIMMY } from '../scim/schemas';
import { DatabaseUnavailableError, InvalidDataError, StatementTimeoutError, UniqueViolationError } from './db';
import type { Logger } from './logger';

/** An error that carries its own answer: a status and a message for the caller, and for a document that does not validate, every problem (400). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems?: string[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** What a failure is answered with, whatever the answer's format. */
export interface HttpAnswer {
  status: number;
  /** The SCIM error type (RFC 7644 §3.12), when one applies. */
  scimType?: ScimType;
  /** What the caller is told: what to fix, or when to retry. */
  detail: string;
  /** Every problem of a document that does not validate. */
  problems?: string[];
  /** Sent as Retry-After. */
  retryAfterSeconds?: number;
  /** Our own bug: the boundary logs it with the error; the answer says no more than the request id. */
  unexpected: boolean;
}

/** Seconds a client waits before retrying when the database cannot answer. */
const DATABASE_RETRY_SECONDS = 5;

export function httpAnswerOf(err: unknown, requestId: string): HttpAnswer {
  if (err instanceof ScimError) {
    return { status: err.status, scimType: err.scimType, detail: err.detail, retryAfterSeconds: err.retryAfterSeconds, unexpected: false };
  }
  if (err instanceof HttpError) return { status: err.status, detail: err.message, ...(err.problems ? { problems: err.problems } : {}), unexpected: false };
  if (err instanceof DatabaseUnavailableError) {
    return { status: 503, detail: 'The directory database is unavailable; retry shortly.', retryAfterSeconds: DATABASE_RETRY_SECONDS, unexpected: false };
  }
  if (err instanceof StatementTimeoutError) {
    return {
      status: 503,
      detail: 'The directory database did not answer in time; retry shortly.',
      retryAfterSeconds: DATABASE_RETRY_SECONDS,
      unexpected: false,
    };
  }
  if (err instanceof InvalidDataError) {
    return { status: 400, scimType: 'invalidValue', detail: 'A value in the request is out of the range the server can store or compare.', unexpected: false };
  }
  if (err instanceof UniqueViolationError) {
    // The services turn the violations they expect into their own answer (a taken userName); this is any other.
    return { status: 409, scimType: 'uniqueness', detail: 'A value in the request must be unique and is already taken.', unexpected: false };
  }
  if (err instanceof SCIMMY.Types.Error) {
    const e = err as unknown as { status: number; scimType?: string; message: string };
    return { status: e.status, scimType: e.scimType as ScimType | undefined, detail: e.message, unexpected: false };
  }
  // body-parser's errors (express.json, express.urlencoded, express.text).
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  switch (e?.type) {
    case 'entity.too.large':
      return {
        status: 413,
        detail: `The request body is larger than the ${e.limit} bytes this server accepts; split it (e.g. smaller Bulk requests).`,
        unexpected: false,
      };
    case 'entity.parse.failed':
      return { status: 400, scimType: 'invalidSyntax', detail: `The request body is not valid JSON: ${e.message}`, unexpected: false };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, detail: 'The request body must be UTF-8 encoded JSON.', unexpected: false };
    case 'request.aborted':
    case 'request.size.invalid':
      return { status: 400, scimType: 'invalidSyntax', detail: 'The request body was incomplete.', unexpected: false };
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return { status: e.status, detail: e.message ?? 'Bad request.', unexpected: false };
  return { status: 500, detail: `Internal error; quote request id ${requestId} to the operator.`, unexpected: true };
}

/**
 * The log line of a failure: our own bug as an error, with the error; an answer of 503 and the
 * like (the database could not answer) as a warning with the reason; a client's mistake not at
 * all (the request's own log line has its status).
 */
export function logHttpError(logger: Logger, what: string, err: unknown, answer: HttpAnswer, fields: Record<string, unknown>): void {
  if (answer.unexpected) logger.error({ err, ...fields }, `unexpected error in ${what}`);
  else if (answer.status >= 500) logger.warn({ ...fields, status: answer.status, reason: (err as Error)?.message }, `${what} could not be served`);
}
