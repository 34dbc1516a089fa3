/**
 * The admin API's error boundary: every failure as `{ "error": { "status", "message",
 * "scimType"?, "problems"? }, "requestId" }` with the status (and Retry-After) of its answer
 * (common/http-error.ts, the one mapping of failures to answers, which the SCIM API and the
 * console render their own way).
 */
import type { ErrorRequestHandler } from 'express';
import { httpAnswerOf, logHttpError } from '../common/http-error';
import type { Logger } from '../common/logger';

export function adminErrorBoundary(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = req.requestId ?? '';
    const answer = httpAnswerOf(err, requestId);
    logHttpError(logger, 'admin request', err, answer, { requestId, method: req.method, route: req.route?.path });
    if (res.headersSent) return;
    if (answer.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(answer.retryAfterSeconds));
    const error = {
      status: answer.status,
      message: answer.detail,
      ...(answer.scimType ? { scimType: answer.scimType } : {}),
      ...(answer.problems ? { problems: answer.problems } : {}),
    };
    res.status(answer.status).json({ error, requestId });
  };
}
