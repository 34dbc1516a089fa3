/**
 * OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: an OTLP/HTTP receiver on
 * loopback collects what the outbox relay (client interceptor) and the worker (workflow and
 * activity interceptors) export while a SCIM user is onboarded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newUser, startHarness, type Harness } from './harness';

interface ExportedSpan {
  name: string;
  traceId: string;
  attributes?: { key: string; value: { stringValue?: string } }[];
}

const spans: ExportedSpan[] = [];
let receiver: http.Server;
let h: Harness;
const saved = { endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, delay: process.env.OTEL_BSP_SCHEDULE_DELAY };

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const parsed = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: ExportedSpan[] }[] }[] };
        for (const rs of parsed.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
  const { shutdownTracing } = await import('../common/tracing');
  await shutdownTracing();
  receiver?.close();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved.endpoint;
  process.env.OTEL_BSP_SCHEDULE_DELAY = saved.delay;
  if (saved.endpoint === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (saved.delay === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
});

test("when OTEL_EXPORTER_OTLP_ENDPOINT is set, then the relay's signal, the workflow's signal handling and its activities are exported as one trace", async () => {
  const created = await h.scim('POST', '/Users', newUser());
  expect(created.status).toBe(201);
  await h.waitForState(created.body.id, 'invited');
  const deadline = Date.now() + 15_000;
  const named = (prefix: string) => spans.filter((s) => s.name.startsWith(prefix));
  // Workflow-side spans leave through the worker's sink and may be exported a batch later.
  const wanted = ['SignalWithStartWorkflow:', 'RunActivity:sendInvitation', 'HandleSignal:resourceChanged', 'StartActivity:sendInvitation'];
  while (Date.now() < deadline && wanted.some((name) => named(name).length === 0)) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const signal = named('SignalWithStartWorkflow:userLifecycle')[0];
  expect(signal).toBeDefined();
  const run = named('RunActivity:sendInvitation')[0];
  expect(run).toBeDefined();
  expect(run.traceId).toBe(signal.traceId);
  // The workflow's side (its RunWorkflow span ends only when the long-lived workflow does).
  expect(spans.some((s) => s.name === 'HandleSignal:resourceChanged' && s.traceId === signal.traceId)).toBe(true);
  expect(spans.some((s) => s.name === 'StartActivity:sendInvitation' && s.traceId === signal.traceId)).toBe(true);
});
