/** The application's role names, exactly as its admin screens spell them (domain brief). */
export const CLIENT_ROLES = ['Client Admin', 'Client Staff'] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

export const SECURITY_ROLES = [
  'Super User',
  'Business Development Functions Only',
  'Business Development w/Reports',
  'Referral Source Management Plus',
  'Referral Source Management',
  'Combined Admissions and Business Development',
  'VOB Worker',
  'Admissions Worker with Reports',
  'Admissions and VOB worker with Reports',
  'Alumni/Aftercare Worker',
  'Analytics Only',
] as const;
export type SecurityRole = (typeof SECURITY_ROLES)[number];

export const SETTING_KINDS = ['employeeArea', 'biGroup', 'team', 'facility', 'emailNotification', 'systemNotification', 'toastrNotification'] as const;
export type SettingKind = (typeof SETTING_KINDS)[number];

/** Where a user's workflow is; also the SCIM `provisioning.state` and the ScimflowState search attribute. */
export const PROVISIONING_STATES = [
  'pending',
  'onboarding',
  'awaitingData',
  'waitingForSeat',
  'waitingPropagation',
  'scheduled',
  'invited',
  'active',
  'suspended',
  'expired',
  'terminated',
  'failed',
  /** A suspension or termination beyond the tenant's mass-deprovisioning threshold, waiting for a Super User's decision (access unchanged). */
  'deprovisionHeld',
  /** The identity provider deleted the user and a Super User rejected the termination: access kept until someone allows it. */
  'deletionRejected',
] as const;
export type ProvisioningState = (typeof PROVISIONING_STATES)[number];
