/**
 * The one error boundary of the HTTP server: every failure becomes an RFC 7644 §3.12 error
 * body with the right status. Input problems are 4xx (a value PostgreSQL rejects included); a
 * database that cannot be reached is 503 with Retry-After (never a 404, never a 500), and so is
 * a statement cancelled by the statement timeout (the server is too busy to answer in time:
 * retrying later can succeed; a list that is too costly by itself is a 400 tooMany instead, see
 * list-params.ts); only our own bugs are 500.
 */
import type { ErrorRequestHandler, Response } from 'express';
import { DatabaseUnavailableError, InvalidDataError, StatementTimeoutError } from '../common/db';
import type { Logger } from '../common/logger';
import { SCIM_CONTENT_TYPE } from './context';
import { SCIMMY } from './schemas';
import { ScimError, scimErrorBody } from './scim-error';

export function sendScimError(res: Response, err: ScimError): void {
  // For the request log (request-log.ts): what the client was told.
  res.locals.scimError = { scimType: err.scimType, detail: err.detail };
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  res
    .status(err.status)
    .type(SCIM_CONTENT_TYPE)
    .send(JSON.stringify(scimErrorBody(err)));
}

export function toScimError(err: unknown, requestId: string): { error: ScimError; unexpected: boolean } {
  if (err instanceof ScimError) return { error: err, unexpected: false };
  if (err instanceof DatabaseUnavailableError) {
    return { error: new ScimError(503, undefined, 'The directory database is unavailable; retry shortly.', { retryAfterSeconds: 5 }), unexpected: false };
  }
  if (err instanceof StatementTimeoutError) {
    return {
      error: new ScimError(503, undefined, 'The directory database did not answer in time; retry shortly.', { retryAfterSeconds: 5 }),
      unexpected: false,
    };
  }
  if (err instanceof InvalidDataError) {
    return { error: ScimError.badRequest('invalidValue', 'A value in the request is out of the range the server can store or compare.'), unexpected: false };
  }
  if (err instanceof SCIMMY.Types.Error) {
    const e = err as unknown as { status: number; scimType?: string; message: string };
    return { error: new ScimError(e.status, e.scimType as never, e.message), unexpected: false };
  }
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  switch (e?.type) {
    case 'entity.too.large':
      return {
        error: new ScimError(
          413,
          undefined,
          `The request body is larger than the ${e.limit} bytes this server accepts; split it (e.g. smaller Bulk requests).`,
        ),
        unexpected: false,
      };
    case 'entity.parse.failed':
      return { error: ScimError.badRequest('invalidSyntax', `The request body is not valid JSON: ${e.message}`), unexpected: false };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { error: new ScimError(415, undefined, 'The request body must be UTF-8 encoded JSON.'), unexpected: false };
    case 'request.aborted':
    case 'request.size.invalid':
      return { error: ScimError.badRequest('invalidSyntax', 'The request body was incomplete.'), unexpected: false };
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return { error: new ScimError(e.status, undefined, e.message ?? 'Bad request.'), unexpected: false };
  }
  return { error: new ScimError(500, undefined, `Internal error; quote request id ${requestId} to the operator.`), unexpected: true };
}

export function errorBoundary(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.getHeader('X-Request-Id') ?? '');
    const { error, unexpected } = toScimError(err, requestId);
    if (unexpected) logger.error({ err, requestId, method: req.method, route: req.route?.path }, 'unexpected error in SCIM request');
    else if (error.status >= 500) logger.warn({ requestId, status: error.status, reason: (err as Error).message }, 'SCIM request could not be served');
    if (res.headersSent) return;
    sendScimError(res, error);
  };
}
