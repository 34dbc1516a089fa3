/**
 * Secrets a tenant's connector configuration names (connector_secrets, migration 020), as
 * ciphertext: encryption and keys are connectors/secrets.ts's. Nothing here sees a plaintext.
 */
import type { Queryable } from '../db';

export interface StoredSecret {
  keyId: string;
  ciphertext: Buffer;
  updatedAt: Date;
}

export async function putConnectorSecret(db: Queryable, tenantId: string, name: string, keyId: string, ciphertext: Buffer): Promise<'created' | 'replaced'> {
  const r = await db.query<{ created: boolean }>(
    `INSERT INTO connector_secrets AS s (tenant_id, name, key_id, ciphertext) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, name) DO UPDATE SET key_id = EXCLUDED.key_id, ciphertext = EXCLUDED.ciphertext, updated_at = now()
     RETURNING (xmax = 0) AS created`,
    [tenantId, name, keyId, ciphertext],
  );
  return r.rows[0]?.created ? 'created' : 'replaced';
}

export async function connectorSecretOf(db: Queryable, tenantId: string, name: string): Promise<StoredSecret | undefined> {
  const r = (
    await db.query<{ key_id: string; ciphertext: Buffer; updated_at: Date }>(
      'SELECT key_id, ciphertext, updated_at FROM connector_secrets WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    )
  ).rows[0];
  return r ? { keyId: r.key_id, ciphertext: r.ciphertext, updatedAt: r.updated_at } : undefined;
}

/** The names of the tenant's secrets (never their values), with when each was last set. */
export async function connectorSecretNames(db: Queryable, tenantId: string): Promise<{ name: string; keyId: string; updatedAt: Date }[]> {
  return (
    await db.query<{ name: string; key_id: string; updated_at: Date }>(
      'SELECT name, key_id, updated_at FROM connector_secrets WHERE tenant_id = $1 ORDER BY name',
      [tenantId],
    )
  ).rows.map((r) => ({ name: r.name, keyId: r.key_id, updatedAt: r.updated_at }));
}

export async function deleteConnectorSecret(db: Queryable, tenantId: string, name: string): Promise<boolean> {
  return (await db.query('DELETE FROM connector_secrets WHERE tenant_id = $1 AND name = $2', [tenantId, name])).rowCount > 0;
}
