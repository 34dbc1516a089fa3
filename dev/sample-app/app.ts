/**
 * The sample application (docs/connectors.md, "The sample application"): a small user API of
 * the kind the two applications of the domain brief have, for scimflow's `http` connector to
 * provision into, in `npm start` (SAMPLE_APP=1) and the tests. Its own tables in a schema of its
 * own (common/repositories/sample-app.ts); bearer auth with one token.
 *
 *   POST   /users                    create (Idempotency-Key honoured: the same key gets the same answer, no second account)
 *   GET    /users[?email=&externalId=]  { users: [...] } (active accounts; `status=all` for every one)
 *   GET    /users/:id                the account as in effect now: a new security role shows after
 *                                    SAMPLE_APP_ROLE_DELAY, a tag change after SAMPLE_APP_TAG_DELAY
 *                                    (`pending` says what is coming and when)
 *   PATCH  /users/:id                profile fields given;  PUT /users/:id/profile  the whole profile
 *   PUT    /users/:id/memberships    { memberships: [{ orgKey, kind, role }] }
 *   PUT    /users/:id/licences       { licences: [{ orgKey, licenceLevel, mobileLicence }] }
 *   PUT    /users/:id/provider-accounts { providerAccounts: [{ providerType, orgKey }] }
 *   PUT    /users/:id/access         { securityRole, employeeType, caseManager, allowGridExport,
 *                                      receivesDocumentation, tags, biGroups, teams, facilities, notifications }
 *   POST   /users/:id/login          { enabled }
 *   DELETE /users/:id                terminate: login blocked, entitlements ended, record kept
 *
 * Misbehaviour on purpose, for the tests and demos (same token):
 *   POST   /_test/faults   { fault: "500" | "429" | "409" | "400" | "timeout" | "unknown-shape", times?: 1,
 *                            method?, path? (a regular expression), retryAfter? (seconds, 429),
 *                            message? (400, 409), delayMs? (timeout: how long the answer is held back) }
 *          500/429/409/400 answer at once and change nothing; "timeout" does the work, commits, and
 *          holds the answer back (the caller gives up); "unknown-shape" does the work and answers
 *          { ok: true } instead of the account.
 *   DELETE /_test/faults  clears them;  GET /_test/calls  the requests seen (method, path, status,
 *          idempotency key, fault), newest last.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { UniqueViolationError } from '../../common/db';
import type { SampleAccess, SampleProfile, SampleStore, SampleUser } from '../../common/repositories/sample-app';

export const FAULTS = ['500', '429', '409', '400', 'timeout', 'unknown-shape'] as const;
export type FaultKind = (typeof FAULTS)[number];

export interface Fault {
  fault: FaultKind;
  times: number;
  method?: string;
  path?: string;
  retryAfter?: number;
  message?: string;
  delayMs?: number;
}

export interface CallRecord {
  at: string;
  method: string;
  path: string;
  /** 499: the caller closed the connection before the answer. */
  status: number;
  idempotencyKey: string | null;
  fault: FaultKind | null;
  replayed: boolean;
}

export interface SampleApp {
  app: express.Express;
  faults: { add(f: Partial<Fault> & { fault: FaultKind }): void; clear(): void; pending(): Fault[] };
  calls: CallRecord[];
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const CALLS_KEPT = 2_000;

class BadRequest extends Error {}

const str = (v: unknown, field: string, required = false): string | null => {
  if (v === undefined || v === null || v === '') {
    if (required) throw new BadRequest(`${field} is required`);
    return null;
  }
  if (typeof v !== 'string') throw new BadRequest(`${field} must be a string`);
  return v;
};
const strList = (v: unknown, field: string): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new BadRequest(`${field} must be a list of strings`);
  return v as string[];
};
const bool = (v: unknown, field: string): boolean | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new BadRequest(`${field} must be true or false`);
  return v;
};
const list = <T>(v: unknown, field: string, item: (x: Record<string, unknown>, i: number) => T): T[] => {
  if (!Array.isArray(v)) throw new BadRequest(`${field} must be a list`);
  return v.map((x, i) => {
    if (!x || typeof x !== 'object') throw new BadRequest(`${field}[${i}] must be an object`);
    return item(x as Record<string, unknown>, i);
  });
};

function profileOf(body: Record<string, unknown>, partial: boolean): Partial<SampleProfile> {
  const p: Partial<SampleProfile> = {};
  const field = (k: keyof SampleProfile, required = false) => {
    if (partial && !(k in body)) return;
    if (k === 'alternatePhones') p.alternatePhones = strList(body[k], k);
    else (p as Record<string, unknown>)[k] = str(body[k], k, required);
  };
  field('externalId');
  field('email', !partial);
  field('firstName');
  field('lastName');
  field('title');
  field('displayName');
  field('primaryPhone');
  field('alternatePhones');
  if (p.email !== undefined && (p.email === null || !/^[^@\s]+@[^@\s]+$/.test(p.email))) throw new BadRequest('email must be an address');
  return p;
}

const membershipsOf = (v: unknown) =>
  list(v, 'memberships', (x, i) => ({
    orgKey: str(x.orgKey, `memberships[${i}].orgKey`, true)!,
    kind: str(x.kind, `memberships[${i}].kind`) ?? 'member',
    role: str(x.role, `memberships[${i}].role`),
  }));
const licencesOf = (v: unknown) =>
  list(v, 'licences', (x, i) => ({
    orgKey: str(x.orgKey, `licences[${i}].orgKey`, true)!,
    licenceLevel: str(x.licenceLevel, `licences[${i}].licenceLevel`, true)!,
    mobileLicence: str(x.mobileLicence, `licences[${i}].mobileLicence`),
  }));
const providerAccountsOf = (v: unknown) =>
  list(v, 'providerAccounts', (x, i) => ({
    providerType: str(x.providerType, `providerAccounts[${i}].providerType`, true)!,
    orgKey: str(x.orgKey, `providerAccounts[${i}].orgKey`, true)!,
  }));

function accessOf(body: Record<string, unknown>): Partial<SampleAccess> {
  const a: Partial<SampleAccess> = {};
  if ('securityRole' in body) a.securityRole = str(body.securityRole, 'securityRole');
  if ('employeeType' in body) a.employeeType = str(body.employeeType, 'employeeType');
  if ('caseManager' in body) a.caseManager = bool(body.caseManager, 'caseManager');
  if ('allowGridExport' in body) a.allowGridExport = bool(body.allowGridExport, 'allowGridExport');
  if ('receivesDocumentation' in body) a.receivesDocumentation = bool(body.receivesDocumentation, 'receivesDocumentation');
  for (const k of ['tags', 'biGroups', 'teams', 'facilities'] as const) if (k in body) a[k] = strList(body[k], k);
  if ('notifications' in body) {
    const n = (body.notifications ?? {}) as Record<string, unknown>;
    a.notifications = {
      email: strList(n.email, 'notifications.email'),
      system: strList(n.system, 'notifications.system'),
      toastr: strList(n.toastr, 'notifications.toastr'),
    };
  }
  return a;
}

export function createSampleApp(options: { store: SampleStore; token: string; log?: (message: string) => void }): SampleApp {
  const { store, token } = options;
  const queue: Fault[] = [];
  const calls: CallRecord[] = [];
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.use((req, res, next) => {
    if (req.get('authorization') !== `Bearer ${token}`) return void res.status(401).json({ error: 'unauthorized', detail: 'a bearer token is required' });
    next();
  });
  app.use(express.json({ limit: '1mb' }));

  // Every request is recorded once answered, or once its caller gave up (status 499) (the tests count creates, read idempotency keys).
  app.use((req, res, next) => {
    res.once('close', () => {
      calls.push({
        at: new Date().toISOString(),
        method: req.method,
        path: req.originalUrl,
        status: res.writableFinished ? res.statusCode : 499,
        idempotencyKey: req.get('idempotency-key') ?? null,
        fault: (res.locals.fault as Fault | undefined)?.fault ?? null,
        replayed: res.locals.replayed === true,
      });
      if (calls.length > CALLS_KEPT) calls.splice(0, calls.length - CALLS_KEPT);
    });
    next();
  });

  app.post('/_test/faults', (req, res) => {
    const f = req.body as Partial<Fault>;
    if (!f || !FAULTS.includes(f.fault as FaultKind)) return void res.status(400).json({ detail: `fault must be one of ${FAULTS.join(', ')}` });
    queue.push({ times: 1, ...f, fault: f.fault as FaultKind });
    res.status(201).json({ pending: queue });
  });
  app.delete('/_test/faults', (_req, res) => {
    queue.splice(0);
    res.status(204).end();
  });
  app.get('/_test/calls', (_req, res) => void res.json({ calls }));

  // Injected faults: the first queued one that matches the request.
  app.use((req, res, next) => {
    const i = queue.findIndex((f) => (!f.method || f.method.toUpperCase() === req.method) && (!f.path || new RegExp(f.path).test(req.path)));
    if (i < 0) return next();
    const f = queue[i];
    f.times -= 1;
    if (f.times <= 0) queue.splice(i, 1);
    res.locals.fault = f;
    options.log?.(`sample app: injecting ${f.fault} into ${req.method} ${req.path}`);
    if (f.fault === '500') return void res.status(500).json({ detail: f.message ?? 'sample app: internal error (injected)' });
    if (f.fault === '429')
      return void res
        .status(429)
        .set('Retry-After', String(f.retryAfter ?? 1))
        .json({ detail: f.message ?? 'sample app: too many requests (injected)' });
    if (f.fault === '409') return void res.status(409).json({ detail: f.message ?? 'sample app: conflict (injected)' });
    if (f.fault === '400') return void res.status(400).json({ detail: f.message ?? 'sample app: bad request (injected)' });
    next(); // timeout and unknown-shape act on the answer
  });

  // A write with an Idempotency-Key seen before gets the answer it got then.
  app.use(async (req, res, next) => {
    const key = req.get('idempotency-key');
    if (!key || !WRITES.has(req.method)) return next();
    try {
      const earlier = await store.idempotentAnswer(key);
      if (!earlier) return next();
      if (earlier.method !== req.method || earlier.path !== req.path)
        return void res.status(422).json({ detail: `Idempotency-Key ${key} was used for ${earlier.method} ${earlier.path}` });
      res.locals.replayed = true;
      res.status(earlier.status).json(earlier.body);
    } catch (err) {
      next(err);
    }
  });

  /** The answer of a handler: kept for its Idempotency-Key, then sent (or held back, or mangled, by an injected fault). */
  async function reply(req: Request, res: Response, status: number, body: unknown): Promise<void> {
    const key = req.get('idempotency-key');
    if (key && WRITES.has(req.method) && status < 500) await store.saveIdempotentAnswer(key, req.method, req.path, status, body);
    const fault = res.locals.fault as Fault | undefined;
    if (fault?.fault === 'timeout') {
      await new Promise((r) => setTimeout(r, fault.delayMs ?? 30_000));
      if (res.writableEnded || res.destroyed) return;
    }
    if (fault?.fault === 'unknown-shape') return void res.status(status).json({ ok: true });
    if (status === 204) return void res.status(204).end();
    res.status(status).json(body);
  }

  const handle = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch((err) => {
      if (err instanceof BadRequest) return void res.status(400).json({ detail: err.message });
      next(err);
    });
  };

  /** The account of :id, or an answer saying why not (404, 409 terminated). */
  async function live(req: Request, res: Response): Promise<string | undefined> {
    const id = String(req.params.id);
    const status = await store.statusOf(id);
    if (!status) return void res.status(404).json({ detail: `no account ${id}` });
    if (status === 'terminated') return void res.status(409).json({ detail: `account ${id} is terminated` });
    return id;
  }

  app.get('/', (_req, res) => void res.json({ application: 'scimflow sample application', users: '/users' }));

  app.get(
    '/users',
    handle(async (req, res) => {
      const email = typeof req.query.email === 'string' ? req.query.email : undefined;
      const externalId = typeof req.query.externalId === 'string' ? req.query.externalId : undefined;
      res.json({ users: await store.find({ email, externalId, includeTerminated: req.query.status === 'all' }) });
    }),
  );

  app.post(
    '/users',
    handle(async (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const profile = profileOf(body, false) as SampleProfile;
      const id = await store.create({ ...profile, loginEnabled: bool(body.loginEnabled, 'loginEnabled') ?? false }).catch((err: unknown) => {
        if (err instanceof UniqueViolationError) return undefined;
        throw err;
      });
      if (id === undefined) {
        const [existing] = await store.find({ email: profile.email });
        return reply(req, res, 409, { detail: `an account with email ${profile.email} already exists${existing ? ` (${existing.id})` : ''}` });
      }
      if (body.memberships !== undefined) await store.setMemberships(id, membershipsOf(body.memberships));
      if (body.licences !== undefined) await store.setLicences(id, licencesOf(body.licences));
      if (body.providerAccounts !== undefined) await store.setProviderAccounts(id, providerAccountsOf(body.providerAccounts));
      if (body.access && typeof body.access === 'object') await store.setAccess(id, accessOf(body.access as Record<string, unknown>));
      await reply(req, res, 201, await store.get(id));
    }),
  );

  app.get(
    '/users/:id',
    handle(async (req, res) => {
      const user: SampleUser | undefined = await store.get(String(req.params.id));
      if (!user) return void res.status(404).json({ detail: `no account ${req.params.id}` });
      res.json(user);
    }),
  );

  const profileRoute = (partial: boolean) =>
    handle(async (req, res) => {
      const id = await live(req, res);
      if (!id) return;
      const profile = profileOf((req.body ?? {}) as Record<string, unknown>, partial);
      try {
        await store.updateProfile(id, profile);
      } catch (err) {
        if (err instanceof UniqueViolationError) return reply(req, res, 409, { detail: `an account with email ${profile.email} already exists` });
        throw err;
      }
      await reply(req, res, 200, await store.get(id));
    });
  app.patch('/users/:id', profileRoute(true));
  app.put('/users/:id/profile', profileRoute(false));

  const partRoute = (field: string, apply: (id: string, body: Record<string, unknown>) => Promise<void>) =>
    handle(async (req, res) => {
      const id = await live(req, res);
      if (!id) return;
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (field && !(field in body)) throw new BadRequest(`${field} is required`);
      await apply(id, body);
      await reply(req, res, 200, await store.get(id));
    });
  app.put(
    '/users/:id/memberships',
    partRoute('memberships', (id, b) => store.setMemberships(id, membershipsOf(b.memberships))),
  );
  app.put(
    '/users/:id/licences',
    partRoute('licences', (id, b) => store.setLicences(id, licencesOf(b.licences))),
  );
  app.put(
    '/users/:id/provider-accounts',
    partRoute('providerAccounts', (id, b) => store.setProviderAccounts(id, providerAccountsOf(b.providerAccounts))),
  );
  app.put(
    '/users/:id/access',
    partRoute('', (id, b) => store.setAccess(id, accessOf(b))),
  );
  app.post(
    '/users/:id/login',
    partRoute('enabled', async (id, b) => {
      const enabled = bool(b.enabled, 'enabled');
      if (enabled === undefined) throw new BadRequest('enabled is required');
      await store.setLogin(id, enabled);
    }),
  );

  app.delete(
    '/users/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const status = await store.statusOf(id);
      if (!status) return void res.status(404).json({ detail: `no account ${id}` });
      if (status === 'active') await store.terminate(id);
      await reply(req, res, 204, null);
    }),
  );

  app.use((_req: Request, res: Response) => void res.status(404).json({ detail: 'not found' }));
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    options.log?.(`sample app: ${err.message}`);
    if (!res.headersSent) res.status(500).json({ detail: 'sample app: internal error' });
  });

  return {
    app,
    calls,
    faults: {
      add: (f) => void queue.push({ times: 1, ...f }),
      clear: () => void queue.splice(0),
      pending: () => [...queue],
    },
  };
}
