/** One bounded autocannon run against the SCIM API, with exact (sub-millisecond) latency percentiles. */
import autocannon from 'autocannon';

export interface LoadRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: string;
}

export interface LoadResult {
  name: string;
  connections: number;
  durationSeconds: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export async function runLoad(options: {
  name: string;
  baseUrl: string;
  token: string;
  connections: number;
  durationSeconds: number;
  /** Called once per request, in order; returns what to send. */
  next: () => LoadRequest;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  // autocannon takes a request's path as absolute: keep the base URL's path (/scim/v2) in front.
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const statusCodes: Record<string, number> = {};
  // Without a callback autocannon returns its tracker (an EventEmitter) made thenable.
  const instance = autocannon({
    url: base.origin,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 30,
    headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/scim+json', Accept: 'application/scim+json' },
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => {
          const r = options.next();
          return { ...req, method: r.method, path: `${prefix}${r.path}`, body: r.body };
        },
      } as never,
    ],
  }) as unknown as Promise<autocannon.Result> & { on(event: 'response', fn: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void };
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const seconds = result.duration || options.durationSeconds;
  const non2xx = Object.entries(statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .reduce((n, [, c]) => n + c, 0);
  return {
    name: options.name,
    connections: options.connections,
    durationSeconds: round(seconds),
    requests: latencies.length,
    reqPerSec: round(latencies.length / seconds, 1),
    p50Ms: round(percentile(latencies, 50)),
    p90Ms: round(percentile(latencies, 90)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1] ?? 0),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx,
    statusCodes,
  };
}
