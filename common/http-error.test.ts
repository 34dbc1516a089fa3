import { ScimError } from '../scim/error';
import { SCIMMY } from '../scim/schemas';
import { DatabaseUnavailableError, InvalidDataError, StatementTimeoutError, UniqueViolationError } from './db';
import { HttpError, httpAnswerOf } from './http-error';

describe('httpAnswerOf: one answer for every failure, whichever boundary renders it', () => {
  test('when a ScimError is thrown, then its own status, type, detail and Retry-After', () => {
    expect(httpAnswerOf(new ScimError(429, undefined, 'slow down', { retryAfterSeconds: 3 }), 'r1')).toEqual({
      status: 429,
      scimType: undefined,
      detail: 'slow down',
      retryAfterSeconds: 3,
      unexpected: false,
    });
    expect(httpAnswerOf(ScimError.badRequest('invalidFilter', 'bad filter'), 'r1')).toMatchObject({ status: 400, scimType: 'invalidFilter' });
  });

  test("when an error carries its own answer (the admin API's), then its status, message and problems", () => {
    expect(httpAnswerOf(new HttpError(400, 'the configuration is invalid', ['rules.0: unknown key']), 'r1')).toEqual({
      status: 400,
      detail: 'the configuration is invalid',
      problems: ['rules.0: unknown key'],
      unexpected: false,
    });
  });

  test('when the database cannot answer, then 503 with Retry-After; a value it rejects is 400; a unique value taken is 409', () => {
    expect(httpAnswerOf(new DatabaseUnavailableError(new Error('ECONNREFUSED')), 'r1')).toMatchObject({ status: 503, retryAfterSeconds: 5, unexpected: false });
    expect(httpAnswerOf(new StatementTimeoutError(new Error('57014')), 'r1')).toMatchObject({ status: 503, retryAfterSeconds: 5, unexpected: false });
    expect(httpAnswerOf(new InvalidDataError(new Error('22008')), 'r1')).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(httpAnswerOf(new UniqueViolationError('some_key', new Error('23505')), 'r1')).toMatchObject({ status: 409, scimType: 'uniqueness' });
  });

  test('when scimmy refuses a document, then its status and type', () => {
    expect(httpAnswerOf(new SCIMMY.Types.Error(400, 'invalidValue', 'no'), 'r1')).toMatchObject({ status: 400, scimType: 'invalidValue', detail: 'no' });
  });

  test('when the body parser refuses the body, then 413, 400 invalidSyntax or 415', () => {
    expect(httpAnswerOf({ type: 'entity.too.large', limit: 1000 }, 'r1')).toMatchObject({ status: 413 });
    expect(httpAnswerOf({ type: 'entity.parse.failed', message: 'Unexpected token' }, 'r1')).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    expect(httpAnswerOf({ type: 'charset.unsupported' }, 'r1')).toMatchObject({ status: 415 });
    expect(httpAnswerOf({ type: 'request.aborted' }, 'r1')).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
  });

  test('when the failure is our own bug, then 500 that names the request id and nothing of the error', () => {
    const answer = httpAnswerOf(new TypeError('secret internals'), 'req-42');
    expect(answer).toEqual({ status: 500, detail: 'Internal error; quote request id req-42 to the operator.', unexpected: true });
  });
});
