/**
 * A fresh `npm start` for a bench: its own DATA_DIR and free ports, propagation and settling
 * windows at 0 s, started from `root` (another checkout for a before/after). Waits until it
 * prints its URLs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../dev/temporal-dev-server';

export interface FreshStack {
  /** The pid of `npm start` (the supervisor of the processes it runs). */
  pid: number;
  dataDir: string;
  baseUrl: string;
  token: string;
  databaseUrl: string;
  /** Stops it and removes its DATA_DIR. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const printed = (text: string, key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];

export async function startFreshStack(root: string, prefix: string, env: Record<string, string | undefined>): Promise<FreshStack> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(work, 0o755); // as root, the embedded PostgreSQL runs as `postgres` and must reach DATA_DIR
  const dataDir = path.join(work, 'data');
  const childEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    TAG_PROPAGATION_DELAY: '0s',
    ROLE_PROPAGATION_DELAY: '0s',
    SETTLE_DELAY: '0s',
    LOG_LEVEL: 'warn',
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const out = path.join(work, 'out');
  const err = path.join(work, 'err');
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/start-all.ts'], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', fs.openSync(out, 'w'), fs.openSync(err, 'w')],
  });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(work, { recursive: true, force: true });
  };
  try {
    let text = '';
    for (let i = 0; i < 240 && !/^TEMPORAL_UI_URL=/m.test(text); i++) {
      if (child.exitCode !== null) throw new Error(`npm start exited: ${fs.readFileSync(err, 'utf8').slice(-2000)}`);
      await sleep(500);
      text = fs.readFileSync(out, 'utf8');
    }
    const baseUrl = printed(text, 'SCIM_BASE_URL');
    const token = printed(text, 'SCIM_TOKEN');
    const databaseUrl = printed(text, 'DATABASE_URL');
    if (!baseUrl || !token || !databaseUrl)
      throw new Error(`npm start printed no SCIM_BASE_URL/SCIM_TOKEN/DATABASE_URL: ${fs.readFileSync(err, 'utf8').slice(-2000)}`);
    return { pid: child.pid as number, dataDir, baseUrl, token, databaseUrl, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
