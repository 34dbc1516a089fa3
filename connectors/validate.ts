/**
 * The checks of a connector configuration that need the world (the CLI's `validate` and `load`):
 * every secret it names exists for the tenant, and its URLs answer. The document's own
 * problems (placeholders, pointers, keys) are the schema's (domain/connector-config.ts).
 */
import type { ConfigProblem } from '../domain/tenant-config';
import { connectorOf, secretReferences, type ConnectorConfig } from '../domain/connector-config';
import type { SecretStore } from './secrets';

export interface OnlineCheckOptions {
  /** The tenant whose secrets are looked up; without it (or `secrets`) the secrets are not checked. */
  tenantId?: string;
  secrets?: Pick<SecretStore, 'has'>;
  /** Whether to try the URLs (default true). */
  reach?: boolean;
  fetch?: typeof fetch;
  /** How long a URL may take to answer. Default 5 s. */
  timeoutMs?: number;
}

/** Whether `url` answers at all (any HTTP status will do: the credentials are the connector's "test connection"). */
async function unreachable(url: string, options: OnlineCheckOptions): Promise<string | undefined> {
  try {
    const res = await (options.fetch ?? fetch)(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError' || e.name === 'AbortError'
        ? `no answer within ${(options.timeoutMs ?? 5_000) / 1000} s`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    return `${url} is unreachable (${why}); check the URL, and that this host can reach it`;
  }
}

/** Every problem of the connector of `config` that only the database and the network can tell, each with its path. */
export async function connectorProblemsOnline(config: { connector?: ConnectorConfig }, options: OnlineCheckOptions = {}): Promise<ConfigProblem[]> {
  const connector = connectorOf(config);
  const problems: ConfigProblem[] = [];
  if (options.tenantId && options.secrets) {
    for (const ref of secretReferences(connector)) {
      if (!(await options.secrets.has(options.tenantId, ref.name)))
        problems.push({
          path: ref.path,
          message: `no secret named ${ref.name}; set it with: npm run tenant-config -- set-secret --tenant ${options.tenantId} --name ${ref.name} (the value on stdin)`,
        });
    }
  }
  if (options.reach !== false && connector.kind !== 'directory') {
    const urls: { url: string; path: (string | number)[] }[] = [{ url: connector.baseUrl, path: ['connector', 'baseUrl'] }];
    if (connector.kind === 'http' && connector.auth.oauth2ClientCredentials)
      urls.push({ url: connector.auth.oauth2ClientCredentials.tokenUrl, path: ['connector', 'auth', 'oauth2ClientCredentials', 'tokenUrl'] });
    for (const u of urls) {
      const problem = await unreachable(u.url, options);
      if (problem) problems.push({ path: u.path, message: problem });
    }
  }
  return problems;
}
