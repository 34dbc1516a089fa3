/**
 * The SCIM API's error boundary: every failure becomes an RFC 7644 §3.12 error body with the
 * status, the SCIM error type and the detail of its answer (common/http-error.ts, the one
 * mapping of failures to answers, which the admin API and the console render their own way).
 */
import type { ErrorRequestHandler, Response } from 'express';
import { httpAnswerOf, logHttpError, type HttpAnswer } from '../common/http-error';
import type { Logger } from '../common/logger';
import { ScimError, scimErrorBody } from '../scim/error';
import { SCIM_CONTENT_TYPE } from './context';

export function sendScimError(res: Response, err: ScimError): void {
  // For the request log (request-log.ts): what the client was told.
  res.locals.scimError = { scimType: err.scimType, detail: err.detail };
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  res
    .status(err.status)
    .type(SCIM_CONTENT_TYPE)
    .send(JSON.stringify(scimErrorBody(err)));
}

/** The SCIM form of a failure's answer (a ScimError thrown is its own). */
function scimErrorOf(err: unknown, answer: HttpAnswer): ScimError {
  return err instanceof ScimError ? err : new ScimError(answer.status, answer.scimType, answer.detail, { retryAfterSeconds: answer.retryAfterSeconds });
}

/** A failure as the ScimError its SCIM answer is made of (Bulk answers each operation's failure with its body). */
export function toScimError(err: unknown, requestId: string): { error: ScimError; unexpected: boolean } {
  const answer = httpAnswerOf(err, requestId);
  return { error: scimErrorOf(err, answer), unexpected: answer.unexpected };
}

export function errorBoundary(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.getHeader('X-Request-Id') ?? '');
    const answer = httpAnswerOf(err, requestId);
    logHttpError(logger, 'SCIM request', err, answer, { requestId, method: req.method, route: req.route?.path });
    if (res.headersSent) return;
    sendScimError(res, scimErrorOf(err, answer));
  };
}
