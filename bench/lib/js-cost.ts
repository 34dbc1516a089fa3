/**
 * CPU cost of the SCIM service layer alone (validation with scimmy, PATCH application,
 * rendering), per call, over a database that answers instantly. Set against the server's
 * measured CPU per request (autocannon runs), it splits a request's cost into service code
 * and the rest (HTTP, Express, auth, JSON, the pg driver).
 */
import type { Db, QueryResult } from '../../common/db';
import { parseListRequest } from '../../scim-server/list-params';
import * as service from '../../scim-server/users/service';
import type { ScimContext } from '../../scim-server/context';
import { entraUserBody } from './seed';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function storedDoc(n: number): Record<string, unknown> {
  const { schemas: _s, ...doc } = entraUserBody(`bench.user${n}@example.org`, n, 'Registered Nurse');
  return doc;
}

function instantDb(rowsPerSelect: number): Db {
  const row = (doc: unknown) => ({
    id: '3f1c2f4e-7d7a-4c61-9a53-0c7d1d9a2b11',
    tenant_id: 'bench',
    doc,
    version: 3,
    created_at: new Date(),
    updated_at: new Date(),
    list_position: '1',
    p_state: 'active',
    p_waiting_for: null,
    p_waiting_until: null,
    p_last_error: null,
    p_workflow_id: 'user-bench-3f1c2f4e',
  });
  const query = async <R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    if (/count\(\*\)/.test(sql)) return { rows: [{ n: 100_000 }] as R[], rowCount: 1 };
    if (/^\s*(WITH r AS \()?(INSERT INTO scim_users|UPDATE scim_users)/.test(sql)) return { rows: [row(JSON.parse(String(params?.[7])))] as R[], rowCount: 1 };
    if (/^\s*INSERT INTO outbox/.test(sql)) return { rows: [], rowCount: 1 };
    return { rows: Array.from({ length: rowsPerSelect }, (_, i) => row(storedDoc(i + 1))) as R[], rowCount: rowsPerSelect };
  };
  return {
    kind: 'postgres',
    query,
    exec: async () => undefined,
    withTransaction: (fn) => fn({ query, exec: async () => undefined }),
    ping: async () => undefined,
    close: async () => undefined,
  };
}

async function measure(iterations: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, iterations); i++) await fn(i); // warm up the JIT
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) await fn(i);
  const used = process.cpuUsage(start);
  return Math.round(((used.user + used.system) / iterations) * 10) / 10;
}

/** Microseconds of CPU per call of each service-layer path. */
export async function serviceLayerCost(iterations = 1_000): Promise<Record<string, number>> {
  const ctx = (rows: number): ScimContext => ({
    db: instantDb(rows),
    tenantId: 'bench',
    requestId: 'r',
    source: 'scim',
    baseUrl: 'http://127.0.0.1/scim/v2',
    onCommitted: () => undefined,
  });
  const one = ctx(1);
  const hundred = ctx(100);
  const id = '3f1c2f4e-7d7a-4c61-9a53-0c7d1d9a2b11';
  return {
    'POST /Users (validate with scimmy, insert, render)': await measure(iterations, (i) =>
      service.createUser(one, entraUserBody(`bench.js${i}@example.org`, i, 'Registered Nurse')),
    ),
    'PUT /Users/{id} (validate, compare, update, render)': await measure(iterations, (i) =>
      service.replaceUser(one, id, entraUserBody('bench.user1@example.org', 1, `Title ${i}`)),
    ),
    'PATCH /Users/{id} replace title (scimmy PatchOp)': await measure(iterations, (i) =>
      service.patchUser(one, id, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'title', value: `Title ${i}` }] }),
    ),
    'GET /Users?filter=userName eq (parse, SQL, render 1)': await measure(iterations, (i) =>
      service.listUsers(one, parseListRequest({ filter: `userName eq "bench.user${i}@example.org"` }, 'User', one.tenantId)).then((r) => JSON.stringify(r)),
    ),
    'GET /Users/{id} (render 1)': await measure(iterations, () => service.getUserResource(one, id).then((r) => JSON.stringify(r.resource))),
    'GET /Users?count=100 (render 100)': await measure(Math.ceil(iterations / 10), (i) =>
      service.listUsers(hundred, parseListRequest({ startIndex: String(1 + i), count: '100' }, 'User', hundred.tenantId)).then((r) => JSON.stringify(r)),
    ),
  };
}
