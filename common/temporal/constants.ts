/**
 * Temporal names shared by the SCIM server (client side), the worker and the workflows.
 * Safe to import from workflow code: no I/O here.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes, so the Temporal UI can list e.g. all users of tenant X waiting for propagation. */
export const SA_TENANT = defineSearchAttributeKey('ScimflowTenant', SearchAttributeType.KEYWORD);
export const SA_USER_ID = defineSearchAttributeKey('ScimflowUserId', SearchAttributeType.KEYWORD);
export const SA_STATE = defineSearchAttributeKey('ScimflowState', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [SA_TENANT, SA_USER_ID, SA_STATE] as const;

/** Deterministic and free of personal data: tenant slug + SCIM id. */
export function userWorkflowId(tenantId: string, userId: string): string {
  return `user-${tenantId}-${userId}`;
}
