/**
 * The console's error boundary: every failure as an error page with the status (and Retry-After)
 * of its answer (common/http-error.ts, the one mapping of failures to answers, which the SCIM API
 * and the admin API render as JSON).
 */
import type { ErrorRequestHandler } from 'express';
import { httpAnswerOf, logHttpError } from '../../common/http-error';
import type { Logger } from '../../common/logger';
import { errorPage } from '../pages/basic';
import { send } from './shared';

export function consoleErrorBoundary(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = req.requestId ?? '';
    const answer = httpAnswerOf(err, requestId);
    logHttpError(logger, 'console request', err, answer, { requestId, method: req.method, route: req.route?.path });
    if (res.headersSent) return;
    if (answer.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(answer.retryAfterSeconds));
    send(res, answer.status, errorPage(req.consoleSession?.viewer, answer.status, answer.detail));
  };
}
