/**
 * The worker's small operations HTTP server (METRICS_PORT, default 9464):
 *   GET /metrics  Prometheus exposition of this process (activities, invitations, lifecycle
 *                 latencies, Node.js process metrics)
 *   GET /healthz  200 while the process runs (liveness)
 *   GET /readyz   200 when PostgreSQL answers, Temporal answers and the worker is running; else
 *                 503 with the failing checks
 * No personal data and no secrets are served; bind it to an interface only Prometheus and the
 * orchestrator reach (HOST).
 */
import http from 'node:http';
import type { Logger } from '../common/logger';
import { runReadinessChecks, type AppMetrics } from '../common/metrics';

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
}): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
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
