import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listMigrations } from './migrate';

test("when the project's migrations are listed, then each number is used once and they come in order", () => {
  const versions = listMigrations().map((m) => m.version);
  expect(new Set(versions).size).toBe(versions.length);
  expect([...versions].sort((a, b) => a - b)).toEqual(versions);
});

test('when two migration files share a number, then listing them fails and names both', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  fs.writeFileSync(path.join(dir, '001_a.sql'), 'SELECT 1;');
  fs.writeFileSync(path.join(dir, '002_b.sql'), 'SELECT 1;');
  fs.writeFileSync(path.join(dir, '002_c.sql'), 'SELECT 1;');
  expect(() => listMigrations(dir)).toThrow('migrations 002_b.sql and 002_c.sql share the number 2; renumber one of them');
});
