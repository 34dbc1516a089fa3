/**
 * What the IdP catalogues ask of a SCIM application's configuration before it is submitted
 * (issue 25), checked from the settings alone: the Microsoft Entra app gallery (OAuth 2.0
 * client credentials, access tokens living 60 to 360 minutes) and the Okta Integration Network
 * (an HTTPS base URL without underscores). Pure: the caller reads the settings
 * (`npm run catalogue-check`, cli/catalogue-check.ts). What the server does on the wire (the
 * gallery's validation checks, the same listing order whatever count/startIndex) is not a
 * setting; the tests replay it (test/entra-gallery.int.test.ts, test/catalogue-readiness.int.test.ts).
 */

/** Bounds of the access-token lifetime Microsoft's gallery onboarding accepts, in minutes. */
export const GALLERY_TOKEN_MINUTES = { min: 60, max: 360 } as const;

export interface ReadinessInput {
  /** The SCIM base URL the IdP is given (PUBLIC_URL + /scim/v2). */
  scimBaseUrl: string;
  /** OAUTH_ACCESS_TOKEN_TTL, in ms. */
  accessTokenTtlMs: number;
  /** The tenant's OAuth clients that are not revoked. */
  liveOAuthClients: { clientId: string; name: string }[];
}

export interface ReadinessCheck {
  /** Stable name of the rule. */
  id: 'https' | 'no-underscore' | 'public-host' | 'oauth-client' | 'access-token-lifetime';
  /** Which catalogue asks for it. */
  catalogue: 'Okta OIN' | 'Entra gallery' | 'Okta OIN, Entra gallery';
  ok: boolean;
  /** What was found, and for a failure what to change. */
  reason: string;
}

export interface Readiness {
  /** Every check passed. */
  ok: boolean;
  checks: ReadinessCheck[];
}

/** Whether `host` names a machine no catalogue's cloud can reach: loopback, a private or link-local address, a single label, a reserved TLD. */
function privateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1' || h === '::') return true;
  if (/^(f[cd][0-9a-f]{2}|fe[89ab][0-9a-f]):/.test(h)) return true; // IPv6 unique-local, link-local
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(h);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 10 || a === 127 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  if (!h.includes('.')) return true;
  return /\.(local|internal|test|example|invalid|lan|home\.arpa)$/.test(h);
}

/** The checks on `input`, each with its reason; `ok` when all pass. */
export function catalogueReadiness(input: ReadinessInput): Readiness {
  const checks: ReadinessCheck[] = [];
  let url: URL | undefined;
  try {
    url = new URL(input.scimBaseUrl);
  } catch {
    url = undefined;
  }
  const base = input.scimBaseUrl;
  if (!url) {
    checks.push({ id: 'https', catalogue: 'Okta OIN, Entra gallery', ok: false, reason: `the SCIM base URL "${base}" is not a URL: set PUBLIC_URL.` });
  } else {
    checks.push(
      url.protocol === 'https:'
        ? { id: 'https', catalogue: 'Okta OIN, Entra gallery', ok: true, reason: `the SCIM base URL ${base} uses HTTPS.` }
        : {
            id: 'https',
            catalogue: 'Okta OIN, Entra gallery',
            ok: false,
            reason: `the SCIM base URL ${base} is ${url.protocol.replace(':', '')}: set PUBLIC_URL to the https:// address the identity provider reaches (TLS ends at the server or at its proxy).`,
          },
    );
    // The host and path the IdP is given; a query or credentials have no place in a base URL either.
    const underscored = [url.hostname, url.pathname].filter((part) => part.includes('_'));
    checks.push(
      underscored.length === 0
        ? { id: 'no-underscore', catalogue: 'Okta OIN', ok: true, reason: 'the host and path of the SCIM base URL have no underscore.' }
        : {
            id: 'no-underscore',
            catalogue: 'Okta OIN',
            ok: false,
            reason: `the SCIM base URL ${base} has an underscore in its ${underscored.map((p) => (p === url!.hostname ? `host "${p}"` : `path "${p}"`)).join(' and ')}: Okta's OIN submission refuses it; use a host name with hyphens instead.`,
          },
    );
    checks.push(
      privateHost(url.hostname)
        ? {
            id: 'public-host',
            catalogue: 'Okta OIN, Entra gallery',
            ok: false,
            reason: `the host "${url.hostname}" is not reachable from the catalogues' clouds (loopback, private or reserved): set PUBLIC_URL to the server's public name.`,
          }
        : { id: 'public-host', catalogue: 'Okta OIN, Entra gallery', ok: true, reason: `the host "${url.hostname}" is a public name.` },
    );
  }
  const clients = input.liveOAuthClients;
  checks.push(
    clients.length > 0
      ? {
          id: 'oauth-client',
          catalogue: 'Entra gallery',
          ok: true,
          reason: `the tenant has ${clients.length} OAuth client${clients.length === 1 ? '' : 's'} (${clients.map((c) => `"${c.name}"`).join(', ')}) for the client credentials grant.`,
        }
      : {
          id: 'oauth-client',
          catalogue: 'Entra gallery',
          ok: false,
          reason:
            "the tenant has no OAuth client: the Entra gallery takes OAuth 2.0 client credentials, not a long-lived bearer token; create one with `npm run tokens -- create-client --tenant <id> --name entra` (or on the console's Connection page).",
        },
  );
  const minutes = input.accessTokenTtlMs / 60_000;
  const shown = Number.isInteger(minutes) ? `${minutes} min` : `${Math.round(minutes * 10) / 10} min`;
  const { min, max } = GALLERY_TOKEN_MINUTES;
  checks.push(
    minutes >= min && minutes <= max
      ? {
          id: 'access-token-lifetime',
          catalogue: 'Entra gallery',
          ok: true,
          reason: `access tokens live ${shown} (OAUTH_ACCESS_TOKEN_TTL), within ${min} to ${max} min.`,
        }
      : {
          id: 'access-token-lifetime',
          catalogue: 'Entra gallery',
          ok: false,
          reason: `access tokens live ${shown} (OAUTH_ACCESS_TOKEN_TTL): the Entra gallery wants ${min} to ${max} min; set e.g. OAUTH_ACCESS_TOKEN_TTL=60m.`,
        },
  );
  return { ok: checks.every((c) => c.ok), checks };
}
