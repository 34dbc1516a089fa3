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
