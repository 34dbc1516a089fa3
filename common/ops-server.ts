/**
 * The small operations HTTP server of a process, apart from any public port: the worker's
 * (METRICS_PORT, default 9464) and the SCIM server's (OPS_HOST:OPS_PORT, default
 * 127.0.0.1:9463).
 *   GET /metrics  Prometheus exposition of this process (tenant slugs in labels)
 *   GET /healthz  200 while the process runs (liveness)
 *   GET /readyz   200 when every readiness check passes; else 503 with the failing checks
 * With `token` (OPS_TOKEN), /metrics and /readyz answer only `Authorization: Bearer <token>`
 * (compared in constant time); /healthz stays open. No personal data and no secrets are served;
 * bind it to an interface only Prometheus and the orchestrator reach.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { Logger } from './logger';
import { runReadinessChecks, type AppMetrics } from './metrics';

export interface OpsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startOpsServer(options: {
  host: string;
  port: number;
  metrics: AppMetrics;
  readiness: Record<string, () => Promise<void>>;
  logger?: Logger;
  /** OPS_TOKEN: required as a bearer token for /metrics and /readyz when set. */
  token?: string;
}): Promise<OpsServer> {
  const expected = options.token ? crypto.createHash('sha256').update(options.token).digest() : undefined;
  const authorised = (header: string | undefined): boolean => {
    if (!expected) return true;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return !!match && crypto.timingSafeEqual(crypto.createHash('sha256').update(match[1]).digest(), expected);
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
    if ((path === '/readyz' || path === '/metrics') && !authorised(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="scimflow-ops"');
      return send(401, 'text/plain', 'send the ops token: Authorization: Bearer <OPS_TOKEN>\n');
    }
    if (path === '/readyz') {
      void runReadinessChecks(options.readiness).then(({ ready, checks }) =>
        send(ready ? 200 : 503, 'application/json', JSON.stringify({ status: ready ? 'ready' : 'not ready', checks })),
      );
      return;
    }
    if (path === '/metrics') {
      options.metrics.render().then(
        (text) => send(200, options.metrics.contentType, text),
        (err) => {
          options.logger?.warn({ err: (err as Error).message }, 'metrics could not be rendered');
          send(500, 'text/plain', 'metrics unavailable\n');
        },
      );
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
