/**
 * The one error type SCIM handlers throw for a client-visible failure. The error boundary
 * (scim-server/error-boundary.ts) turns it into an RFC 7644 §3.12 body.
 */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  // RFC 9865 §2.2: cursor paging.
  | 'invalidCursor'
  | 'expiredCursor'
  | 'invalidCount';

/** Thrown when a SCIM request cannot be served; `status` and `scimType` go on the wire, `detail` tells the admin what to fix. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly detail: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(detail, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ScimError';
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  readonly retryAfterSeconds?: number;

  static badRequest(scimType: ScimType, detail: string): ScimError {
    return new ScimError(400, scimType, detail);
  }
  static notFound(detail: string): ScimError {
    return new ScimError(404, undefined, detail);
  }
}

const SCIM_ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

export function scimErrorBody(err: ScimError): Record<string, unknown> {
  return {
    schemas: [SCIM_ERROR_URN],
    status: String(err.status),
    ...(err.scimType ? { scimType: err.scimType } : {}),
    detail: err.detail,
  };
}
