/**
 * The sample application (dev/sample-app) as the connector tests use it: started over the test's
 * database in a schema of its own with a random token, and the shipped `http` connector example
 * (config/examples/sample-app-connector.yaml) pointed at it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startSampleApp, type RunningSampleApp } from '../dev/sample-app/server';
import { parseTenantConfigDocument } from '../domain/tenant-config-document';

/** A sample application of the test's own; tags and roles in force at once unless delays are given. */
export function startTestSampleApp(
  db: Parameters<typeof startSampleApp>[0]['db'],
  delays: { tagDelayMs?: number; roleDelayMs?: number } = {},
): Promise<RunningSampleApp> {
  return startSampleApp({
    db,
    token: `sat_${crypto.randomBytes(12).toString('hex')}`,
    schema: `sa_${crypto.randomBytes(4).toString('hex')}`,
    tagDelayMs: delays.tagDelayMs ?? 0,
    roleDelayMs: delays.roleDelayMs ?? 0,
  });
}

/** The shipped connector example pointed at `baseUrl`, with `overrides` on top (a shorter timeout, another secret). */
export function sampleAppConnector(baseUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const doc = parseTenantConfigDocument(fs.readFileSync(path.join(__dirname, '../config/examples/sample-app-connector.yaml'), 'utf8'));
  if (!doc.input) throw new Error(doc.problems.join('\n'));
  return { ...(doc.input as { connector: Record<string, unknown> }).connector, baseUrl, ...overrides };
}
