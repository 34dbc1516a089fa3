/**
 * The Temporal server itself (not the dev server) on PostgreSQL, the shape docker-compose.yml
 * runs, for `npm run test:cluster`. Its binaries are built once from the Go module
 * go.temporal.io/server into the tools cache (~/.cache/scimflow/tools/temporal-server-<v>):
 * `temporal-server`, `temporal-sql-tool` and the PostgreSQL schema directory. The build needs
 * Go and takes minutes the first time (about 8 on 2 cores, 1.5 GB of modules).
 *
 * A cluster is then set up as the compose stack does it: a `temporal` role with CREATEDB, the
 * SQL tool's create / setup-schema / update-schema on `temporal` and `temporal_visibility` (SQL
 * visibility), the server started with the same dynamic config, then the namespace and the
 * search attributes registered with the `temporal` CLI.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { childEnvironment, toolsSettings } from '../common/config';
import { ensureLoginRole } from '../common/repositories/server-admin';
import { SEARCH_ATTRIBUTES } from '../common/temporal/constants';

/** The version docker-compose.yml pins (TEMPORAL_VERSION); 1.31.3 and later need a Go newer than 1.26.8 and a module the proxy does not serve. */
export const TEMPORAL_SERVER_VERSION = '1.31.2';

export interface TemporalServerTools {
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12 of the module: temporal/versioned and visibility/versioned. */
  schemaDir: string;
}

function toolsDir(): string {
  const dir = toolsSettings().dir;
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function toolsPaths(): TemporalServerTools & { dir: string } {
  const dir = path.join(toolsDir(), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  return { dir, server: path.join(dir, 'temporal-server'), sqlTool: path.join(dir, 'temporal-sql-tool'), schemaDir: path.join(dir, 'schema') };
}

/** The cached binaries, built with `go install` when missing. */
export function findOrBuildTemporalServer(log: (msg: string) => void = () => undefined): TemporalServerTools {
  const tools = toolsPaths();
  if (fs.existsSync(tools.server) && fs.existsSync(tools.sqlTool) && fs.existsSync(path.join(tools.schemaDir, 'temporal', 'versioned'))) return tools;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0)
    throw new Error(
      'Go is needed once to build the Temporal server (go.temporal.io/server): install Go 1.26 or later (https://go.dev/dl), then run this again.',
    );
  const module = `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`;
  log(`building the Temporal server ${TEMPORAL_SERVER_VERSION} with ${go.stdout.trim()} (first time only: several minutes, ~1.5 GB of modules)`);
  const gobin = fs.mkdtempSync(path.join(toolsDir(), '.go-build-'));
  try {
    execFileSync(
      'go',
      ['install', `go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}`, `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`],
      {
        env: childEnvironment({ GOBIN: gobin, GOFLAGS: '-buildvcs=false' }),
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const modDir = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
    fs.mkdirSync(tools.dir, { recursive: true });
    fs.cpSync(path.join(modDir, module, 'schema', 'postgresql', 'v12'), tools.schemaDir, { recursive: true });
    fs.chmodSync(tools.schemaDir, 0o755);
    fs.renameSync(path.join(gobin, 'server'), tools.server);
    fs.renameSync(path.join(gobin, 'sql'), tools.sqlTool);
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
  return tools;
}

export interface TemporalCluster {
  address: string;
  stop(): Promise<void>;
}

const TEMPORAL_ROLE = 'temporal';
const TEMPORAL_ROLE_PASSWORD = 'temporal';

function configYaml(options: {
  pgPort: number;
  ports: { frontend: number; history: number; matching: number; worker: number; base: number };
  dynamicConfig: string;
}): string {
  const store = (database: string, maxConns: number) => `      sql:
        pluginName: "postgres12"
        databaseName: "${database}"
        connectAddr: "127.0.0.1:${options.pgPort}"
        connectProtocol: "tcp"
        user: "${TEMPORAL_ROLE}"
        password: "${TEMPORAL_ROLE_PASSWORD}"
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const service = (name: string, grpc: number, membership: number) => `  ${name}:
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true`;
  const p = options.ports;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
${store('temporal', 20)}
    postgres-visibility:
${store('temporal_visibility', 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
${service('frontend', p.frontend, p.base)}
      httpPort: ${p.base + 1}
${service('history', p.history, p.base + 2)}
${service('matching', p.matching, p.base + 3)}
${service('worker', p.worker, p.base + 4)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${p.frontend}"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: "${options.dynamicConfig}"
  pollInterval: "10s"
`;
}

/**
 * Sets up Temporal's two databases on the PostgreSQL server at `adminUrl` (a superuser), starts
 * the server on `portBase` (and the next ports for its other services) and registers the
 * namespace and scimflow's search attributes.
 */
export async function startTemporalCluster(options: {
  adminUrl: string;
  /**
   * The first of nine consecutive free ports: the frontend's gRPC port, then the other services'
   * gRPC and the membership listeners. Below 32768: Temporal stores them in smallint columns.
   */
  portBase: number;
  workDir: string;
  namespace: string;
  cliPath: string;
  log?: (msg: string) => void;
}): Promise<TemporalCluster> {
  const log = options.log ?? (() => undefined);
  const tools = findOrBuildTemporalServer(log);
  const pg = new URL(options.adminUrl);
  await ensureLoginRole(options.adminUrl, TEMPORAL_ROLE, TEMPORAL_ROLE_PASSWORD, { createDb: true });
  const sql = (database: string, args: string[]) => {
    const run = spawnSync(
      tools.sqlTool,
      ['--plugin', 'postgres12', '--ep', pg.hostname, '-p', pg.port || '5432', '-u', TEMPORAL_ROLE, '--db', database, ...args],
      {
        encoding: 'utf8',
        env: childEnvironment({ SQL_PASSWORD: TEMPORAL_ROLE_PASSWORD }),
      },
    );
    if (run.status !== 0) throw new Error(`temporal-sql-tool ${args[0]} on ${database} failed: ${(run.stderr || run.stdout).trim().slice(-800)}`);
  };
  for (const [database, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ]) {
    log(`Temporal schema: ${database}`);
    sql(database, ['create']);
    sql(database, ['setup-schema', '-v', '0.0']);
    sql(database, ['update-schema', '-d', path.join(tools.schemaDir, dir, 'versioned')]);
  }

  fs.mkdirSync(options.workDir, { recursive: true });
  const dynamicConfig = path.join(options.workDir, 'dynamicconfig.yaml');
  // As docker-compose.yml's temporal-dynamic-config.
  fs.writeFileSync(
    dynamicConfig,
    'limit.maxIDLength:\n  - value: 255\n    constraints: {}\nsystem.forceSearchAttributesCacheRefreshOnRead:\n  - value: true\n    constraints: {}\n',
  );
  const configFile = path.join(options.workDir, 'temporal.yaml');
  const b = options.portBase;
  if (b + 8 > 32767) throw new Error(`portBase ${b} is too high: Temporal stores its ports as smallint (at most 32767)`);
  fs.writeFileSync(
    configFile,
    configYaml({
      pgPort: Number(pg.port || 5432),
      dynamicConfig,
      ports: { frontend: b, history: b + 1, matching: b + 2, worker: b + 3, base: b + 4 },
    }),
  );
  const logFile = path.join(options.workDir, 'temporal-server.log');
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(tools.server, ['--config-file', configFile, '--allow-no-auth', 'start'], { stdio: ['ignore', logFd, logFd], detached: true });
  fs.closeSync(logFd);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const address = `127.0.0.1:${b}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== null) throw new Error(`temporal-server exited with code ${exited}; see ${logFile}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal-server did not answer within 120 s; see ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  // As docker-compose.yml's temporal-admin-tools step.
  const cli = (args: string[]) => spawnSync(options.cliPath, [...args, '--address', address], { encoding: 'utf8' });
  if (cli(['operator', 'namespace', 'describe', '--namespace', options.namespace]).status !== 0) {
    const created = cli(['operator', 'namespace', 'create', '--namespace', options.namespace, '--retention', '1d']);
    if (created.status !== 0) throw new Error(`namespace create failed: ${created.stderr}`);
  }
  const attrs = SEARCH_ATTRIBUTES.flatMap((a) => ['--name', a.name, '--type', 'Keyword']);
  for (let attempt = 0; ; attempt++) {
    cli(['operator', 'search-attribute', 'create', '--namespace', options.namespace, ...attrs]);
    const listing = cli(['operator', 'search-attribute', 'list', '--namespace', options.namespace]).stdout;
    if (SEARCH_ATTRIBUTES.every((a) => listing.includes(a.name))) break;
    if (attempt > 30) throw new Error(`search attributes not registered: ${listing}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  log(`Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL at ${address} (log ${logFile})`);
  return {
    address,
    async stop() {
      if (exited !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await done;
      clearTimeout(timer);
    },
  };
}

/** For a one-off run from a shell: `tsx dev/temporal-server.ts` builds the binaries into the cache. */
if (require.main === module) {
  process.stdout.write(`${JSON.stringify(findOrBuildTemporalServer((m) => process.stderr.write(`${m}\n`)))}\n`);
}
