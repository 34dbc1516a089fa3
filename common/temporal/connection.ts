/**
 * Connections to Temporal for clients (SCIM server, CLIs) and the worker, from one config.
 * A target may carry payload codecs (payload encryption, common/codec): every client made
 * from it encodes what it sends and decodes what it reads with them; the worker takes the
 * same codecs from the target (worker/create-worker.ts), so both sides agree.
 */
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import { clientTracingInterceptors } from '../tracing';

export interface TemporalTarget {
  address: string;
  namespace: string;
  tls?: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  apiKey?: string;
  /** Payload codecs (encryption) for clients and workers of this target; none: payloads in clear. */
  payloadCodecs?: PayloadCodec[];
}

export function targetFromConfig(config: Config, address?: string): TemporalTarget {
  return { ...config.temporal, address: address ?? config.temporal.address ?? `127.0.0.1:${config.temporal.devServerPort}` };
}

function tlsOptions(target: TemporalTarget) {
  if (!target.tls) return undefined;
  if (target.tlsCertPath && target.tlsKeyPath) {
    return { clientCertPair: { crt: fs.readFileSync(target.tlsCertPath), key: fs.readFileSync(target.tlsKeyPath) } };
  }
  return true as const;
}

export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({ address: target.address, tls: tlsOptions(target), apiKey: target.apiKey });
  return new Client({
    connection,
    namespace: target.namespace,
    dataConverter: target.payloadCodecs?.length ? { payloadCodecs: target.payloadCodecs } : undefined,
    interceptors: clientTracingInterceptors(), // OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set
  });
}

/** A client whose connection is made lazily and re-made on use, so a process can start while Temporal is down. */
export function lazyClient(target: TemporalTarget): { get(): Promise<Client>; close(): Promise<void> } {
  let pending: Promise<Client> | undefined;
  return {
    get() {
      if (!pending) {
        pending = connectClient(target).catch((err) => {
          pending = undefined;
          throw err;
        });
      }
      return pending;
    },
    async close() {
      const client = await pending?.catch(() => undefined);
      await client?.connection.close();
    },
  };
}

export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({ address: target.address, tls: tlsOptions(target), apiKey: target.apiKey });
}

/** Registers our search attributes on a cluster that lacks them (the dev server gets them at start). */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  const { SEARCH_ATTRIBUTES } = await import('./constants');
  const { temporal } = await import('@temporalio/proto');
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((k) => !(k.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  const searchAttributes: Record<string, number> = {};
  for (const k of missing) searchAttributes[k.name] = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await client.connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}
