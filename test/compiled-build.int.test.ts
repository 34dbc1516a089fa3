/**
 * Compiled production (issue 22): `npm run build` compiles the app into a fresh directory laid
 * out as the Docker image is (dist/ beside a node_modules of production dependencies only, so
 * neither tsx nor TypeScript can be loaded), and the compiled processes run from it against the
 * test services: the SCIM server migrates an empty schema from the copied SQL files, answers
 * /healthz, a console asset and a SCIM request with a token the compiled tokens CLI minted; the
 * worker bundles its workflows in a compiled child and answers /healthz; SIGTERM stops both.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../dev/temporal-dev-server';
import { openTestDatabase, requireEnv } from './harness';

const ROOT = path.join(__dirname, '..');
const run = promisify(execFile);

let work: string;
let out: string;
let buildSeconds: number;
let db: Awaited<ReturnType<typeof openTestDatabase>>;
const id = crypto.randomBytes(6).toString('hex');
/** An empty schema of this file, which the compiled SCIM server migrates. */
const schema = `c_${id}`;
const children: ChildProcess[] = [];

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const child = path.join(rel, e.name);
    return e.isDirectory() ? filesUnder(dir, child) : [child];
  });
}

/** `<work>/node_modules`: a link to each package of the repository's node_modules that `npm ci --omit=dev` installs. */
function productionNodeModules(): void {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const top = Object.entries(lock.packages).filter(([p, meta]) => /^node_modules\/(@[^/]+\/)?[^/@][^/]*$/.test(p) && !meta.dev);
  for (const [p] of top) {
    if (!fs.existsSync(path.join(ROOT, p))) continue; // optional, for another platform
    fs.mkdirSync(path.dirname(path.join(work, p)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, p), path.join(work, p));
  }
  expect(fs.existsSync(path.join(work, 'node_modules', 'tsx'))).toBe(false);
  expect(fs.existsSync(path.join(work, 'node_modules', 'typescript'))).toBe(false);
  expect(fs.existsSync(path.join(work, 'node_modules', 'express'))).toBe(true);
}

function env(extra: Record<string, string>): Record<string, string> {
  const url = new URL(requireEnv('DATABASE_URL'));
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: path.join(work, 'data'),
    DATABASE_URL: url.toString(),
    TEMPORAL_ADDRESS: requireEnv('SCIMFLOW_TEST_TEMPORAL_ADDRESS'),
    TEMPORAL_TASK_QUEUE: `tq-${schema}`,
    SMTP_URL: requireEnv('SCIMFLOW_TEST_SMTP_URL'),
    ...extra,
  };
}

function start(entry: string, childEnv: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [path.join(out, entry)], { cwd: work, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return { child, output: () => text };
}

async function until(what: string, ok: () => Promise<boolean> | boolean, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}:\n${output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const answers = (url: string, init?: RequestInit) =>
  fetch(url, init).then(
    (r) => r.status,
    () => 0,
  );

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-build-'));
  out = path.join(work, 'dist');
  productionNodeModules();
  const started = Date.now();
  await run(process.execPath, ['--import', 'tsx', 'cli/build.ts', out], { cwd: ROOT });
  buildSeconds = (Date.now() - started) / 1000;
  db = await openTestDatabase();
  await db.exec(`CREATE SCHEMA "${schema}"`); // empty: the compiled server migrates it
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await db?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('when the app is built, then dist/ holds JavaScript and every other file of the compiled folders, and no tests', () => {
  process.stderr.write(`[compiled-build] npm run build took ${buildSeconds.toFixed(1)} s\n`);
  const built = filesUnder(out);
  expect(built.filter((f) => f.endsWith('.ts') || /\.test\./.test(f))).toEqual([]);
  expect(fs.existsSync(path.join(out, 'test'))).toBe(false);
  expect(fs.existsSync(path.join(out, 'bench'))).toBe(false);
  for (const entry of ['scim-server/main.js', 'worker/main.js', 'worker/workflow-bundle.js', 'cli/tokens.js', 'cli/tenant-config.js']) {
    expect(built).toContain(entry);
  }
  // SQL migrations, console assets, …: whatever is not TypeScript beside the code is beside it in dist/.
  const folders = fs.readdirSync(out).filter((f) => f !== 'docs' && fs.statSync(path.join(out, f)).isDirectory());
  expect(folders).toEqual(expect.arrayContaining(['common', 'scim-server', 'worker', 'workflows']));
  const assets = folders.flatMap((folder) =>
    filesUnder(path.join(ROOT, folder))
      .filter((f) => !f.endsWith('.ts'))
      .map((f) => path.join(folder, f)),
  );
  expect(assets.some((f) => f.endsWith('.sql'))).toBe(true);
  expect(assets.filter((f) => !built.includes(f))).toEqual([]);
});

test('when the compiled SCIM server, tokens CLI and worker run with production dependencies only, then they serve and stop on SIGTERM', async () => {
  const port = await freePort();
  const serverEnv = env({ PORT: String(port), OPS_PORT: String(await freePort()), PUBLIC_URL: `http://127.0.0.1:${port}` });
  const server = start('scim-server/main.js', serverEnv);
  await until('the SCIM server answers /healthz', async () => (await answers(`http://127.0.0.1:${port}/healthz`)) === 200, server.child, server.output);
  expect(await answers(`http://127.0.0.1:${port}/console/assets/console.css`)).toBe(200);

  const tenant = `t-${id}`;
  const minted = await run(process.execPath, [path.join(out, 'cli', 'tokens.js'), 'create', '--tenant', tenant, '--name', 'compiled', '--create-tenant'], {
    cwd: work,
    env: { ...serverEnv, LOG_LEVEL: 'silent' },
  });
  const token = /^SCIM_TOKEN=(\S+)$/m.exec(minted.stdout)?.[1];
  expect(token).toMatch(/^sfs_/);
  expect(await answers(`http://127.0.0.1:${port}/scim/v2/Users?count=1`, { headers: { Authorization: `Bearer ${token}` } })).toBe(200);

  // No WORKFLOW_BUNDLE_PATH: the worker bundles its workflows in a child, compiled JavaScript too.
  const metricsPort = await freePort();
  const worker = start('worker/main.js', env({ METRICS_PORT: String(metricsPort), PUBLIC_URL: `http://127.0.0.1:${port}` }));
  await until('the worker runs', () => worker.output().includes('"msg":"worker running"'), worker.child, worker.output, 90_000);
  expect(await answers(`http://127.0.0.1:${metricsPort}/healthz`)).toBe(200);

  expect(await stop(worker.child)).toBe(0);
  expect(await stop(server.child)).toBe(0);
  expect(server.output()).toMatch(/"msg":"stopped"/);
});
