/**
 * The changes the SCIM server records in the outbox and the user workflow receives as signals:
 * one declaration, shared by the outbox (common/repositories/outbox.ts) and the workflow's
 * signal payload (workflows/definitions.ts).
 */
export type ResourceType = 'User' | 'Group';

/**
 * `membership`: a group the user belongs to changed (members, name); `invitationAccepted`: the
 * user accepted their invitation; `policy`: a new tenant configuration changes what the user
 * should have; `drift`: drift repair found the directory no longer matching it; `login`: a login
 * identifier the user waits for was released by another user; `decision`: a Super User decided
 * on the user's held suspension or termination (the mass-deprovisioning guard).
 */
export type ChangeKind = 'created' | 'updated' | 'deleted' | 'membership' | 'invitationAccepted' | 'policy' | 'drift' | 'login' | 'decision';

/**
 * Who made a change, from the credential or the server part that wrote it (never from a
 * request header): `scim`, a tenant's SCIM token; `admin`, an admin token through the admin
 * API or the console; `invitation`, the invited user through their link; `policy`, a saved
 * tenant configuration; `drift repair`, the drift-repair workflow; `workflow`, another user's
 * workflow (a login identifier it released).
 */
export type ChangeSource = 'scim' | 'admin' | 'invitation' | 'policy' | 'drift repair' | 'workflow';

/** The source a change of this kind always has, where the kind says it (a held change is decided by a Super User only). */
export const SOURCE_OF_KIND: Partial<Record<ChangeKind, ChangeSource>> = {
  invitationAccepted: 'invitation',
  policy: 'policy',
  drift: 'drift repair',
  login: 'workflow',
  decision: 'admin',
};
