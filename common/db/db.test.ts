/** Which driver errors are outages: only a database that cannot be reached is answered 503 (finding 5). */
import { DatabaseUnavailableError, InvalidDataError, StatementTimeoutError, translateDbError, UniqueViolationError } from './db';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('translateDbError', () => {
  test.each(['08000', '08003', '08006', '08001', '57P01', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET'])(
    'when the connection fails (%s), then it is DatabaseUnavailableError (503)',
    (code) => {
      expect(translateDbError(pgError(code))).toBeInstanceOf(DatabaseUnavailableError);
    },
  );

  test('when a statement is given parameters it does not use (08P01, the sortBy count query), then it is not an outage', () => {
    const err = pgError('08P01', 'bind message supplies 3 parameters, but prepared statement "" requires 1');
    expect(translateDbError(err)).toBe(err);
  });

  test('when PostgreSQL rejects a value (class 22: a date out of range, an invalid uuid), then it is InvalidDataError (400)', () => {
    expect(translateDbError(pgError('22008'))).toBeInstanceOf(InvalidDataError);
    expect(translateDbError(pgError('22P02'))).toBeInstanceOf(InvalidDataError);
  });

  test('when a statement outlasts statement_timeout (57014), then it is StatementTimeoutError; a unique violation stays one', () => {
    expect(translateDbError(pgError('57014'))).toBeInstanceOf(StatementTimeoutError);
    expect(translateDbError(pgError('23505'))).toBeInstanceOf(UniqueViolationError);
    const other = pgError('42703');
    expect(translateDbError(other)).toBe(other);
  });
});
