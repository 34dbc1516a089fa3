/**
 * SCIM schema declarations (RFC 7643): core User with the Enterprise extension and the
 * scimflow extension that carries every application field of the domain brief that core
 * SCIM lacks; core Group. Declared once, globally, as scimmy expects.
 */
import SCIMMY from 'scimmy';
import { CLIENT_ROLES, PROVISIONING_STATES, SECURITY_ROLES } from '../domain/roles';
import { SCIMFLOW_USER_URN } from '../domain/desired-user';

const { Attribute, SchemaDefinition } = SCIMMY.Types;

const str = (name: string, description: string, extra: Record<string, unknown> = {}) => new Attribute('string', name, { description, ...extra });
const strs = (name: string, description: string) => new Attribute('string', name, { description, multiValued: true });
const bool = (name: string, description: string) => new Attribute('boolean', name, { description });
const readOnly = { mutable: 'readOnly', direction: 'out' } as const;
/** The lists a filter also matches in the application's ledger (scim/filter/evaluate.ts LEDGER_SETTINGS); the resource shows the values sent. */
const LEDGER_NOTE = "Shows the values sent; a filter on it also matches the values in force in the application, the tenant's rules' included.";

const scimflowUserExtension = new SchemaDefinition(
  'ScimflowUser',
  SCIMFLOW_USER_URN,
  'Application fields of a provisioned staff account (organisations, licences, provider accounts, security settings) and the read-only provisioning status of its workflow.',
  [
    str('client', 'Key or name of the main client (office) the user belongs to. Defaults to the tenant default client.'),
    str('clientRole', 'Role in the main client when no organisations entry names it.', { canonicalValues: [...CLIENT_ROLES] }),
    new Attribute('complex', 'organisations', { multiValued: true, description: 'Client memberships, each with its role.' }, [
      str('value', 'Organisation key or name.'),
      str('role', 'Client Admin (read and write) or Client Staff (read only).', { canonicalValues: [...CLIENT_ROLES] }),
      new Attribute('boolean', 'primary', { description: 'Marks the main client.' }),
    ]),
    strs('extraClientAccess', 'Further clients or locations the user may access.'),
    bool('caseManager', 'May be named case manager on patient profiles.'),
    bool('mobileAppUser', 'Uses the mobile app: a primary phone number is then required (the mobile login id).'),
    new Attribute(
      'complex',
      'providerAccounts',
      { multiValued: true, description: 'Provider accounts: a provider type (e.g. RN) in one or more organisations.' },
      [
        str('type', 'Provider type, e.g. RN, SW, Administrator.'),
        new Attribute('string', 'organisations', { multiValued: true, description: 'Organisation keys or names; defaults to the main client.' }),
      ],
    ),
    str('securityRole', 'Security role (exactly one) in the admissions / referral CRM.', { canonicalValues: [...SECURITY_ROLES] }),
    str('employeeType', 'Employee type: the closest match to the job.'),
    bool('allowGridExport', 'May export grids (trusted users only).'),
    bool('receivesDocumentation', 'Subscribed to release notes.'),
    strs('employeeAreas', `Employee areas (tags), e.g. Care Coordinator, Assigned Agent. ${LEDGER_NOTE}`),
    strs('biGroups', `BI analytics groups. ${LEDGER_NOTE}`),
    strs('teams', `Teams the user joins as a member. ${LEDGER_NOTE}`),
    strs('facilities', `Facilities the user may access (needed to manage patient records). ${LEDGER_NOTE}`),
    strs('emailNotifications', 'Stages that send the user an email notification.'),
    strs('systemNotifications', 'In-app (system) notification subscriptions.'),
    strs('toastrNotifications', 'Pop-up (toastr) notification subscriptions.'),
    new Attribute('dateTime', 'startDate', { description: 'HR start date: the invitation arrives a lead time before it.' }),
    new Attribute('dateTime', 'endDate', { description: 'HR end date: the account is suspended or terminated on that day.' }),
    new Attribute('complex', 'provisioning', { ...readOnly, description: "Read-only: where the user's provisioning workflow is." }, [
      str('state', 'Workflow state.', { ...readOnly, canonicalValues: [...PROVISIONING_STATES] }),
      str('waitingFor', 'What the workflow waits for (e.g. propagation:securityRole, data, seat, acceptance).', readOnly),
      new Attribute('dateTime', 'waitingUntil', { ...readOnly, description: 'When the current wait ends, if it has a deadline.' }),
      str('lastError', 'The last error the workflow met, if any.', readOnly),
      str('workflowId', 'Temporal workflow id, to find the workflow in the Temporal UI.', readOnly),
    ]),
  ],
);

let declared = false;

/** Extends the scimmy User schema once per process; safe to call repeatedly. */
export function declareSchemas(): void {
  if (declared) return;
  declared = true;
  // scimmy's typings want a Schema instance; its runtime takes the schema class or definition as documented.
  SCIMMY.Schemas.User.extend(SCIMMY.Schemas.EnterpriseUser as never, false);
  SCIMMY.Schemas.User.extend(scimflowUserExtension as never, false);
  // scimmy declares roles[].type with an empty canonical list, so any type is rejected; Entra
  // sends app roles as { value, type: "WindowsAzureActiveDirectoryRole" }. Types are free text (RFC 7643 §4.1.2).
  const definition = SCIMMY.Schemas.User.definition as unknown as {
    attribute(p: string): { subAttributes: { name: string; config: Record<string, unknown> }[] };
  };
  for (const multi of ['roles', 'entitlements']) {
    const type = definition.attribute(multi).subAttributes.find((a) => a.name === 'type');
    if (type && Array.isArray(type.config.canonicalValues) && type.config.canonicalValues.length === 0) type.config.canonicalValues = false;
  }
  SCIMMY.Resources.declare(SCIMMY.Resources.User);
  SCIMMY.Resources.declare(SCIMMY.Resources.Group);
}

export const UserSchema = SCIMMY.Schemas.User;
export const GroupSchema = SCIMMY.Schemas.Group;
export { SCIMMY };
