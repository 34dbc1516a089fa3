/**
 * A user's provisioning log, built from the outbox (when each request was accepted and delivered
 * to the workflow) and the audit log (the steps it caused, and the workflow's states). Pure.
 *
 * Events are ordered by time and folded into groups: consecutive events of one request form a
 * group; the workflow's state changes join the group in progress. A request that causes steps
 * again later (a reminder days after the SCIM request that started the onboarding) gets a
 * second group marked `continued`. Profile values are personal data and are not kept in the
 * audit log, so profile changes name their fields only; roles, organisations, licences and
 * settings show old → new or added / removed.
 */
import type { AuditRecord } from '../common/repositories/admin-views';
import { durationInWords } from '../domain/duration';
import { waitingText } from '../domain/visible-state';
import { adviceFor } from './advice';

export interface OutboxEvent {
  id: number;
  change: string;
  resourceVersion: number;
  requestId: string;
  createdAt: Date;
  deliveredAt: Date | null;
  attempts: number;
  lastError: string | null;
}

/** An audit entry as the repository reads it. */
export type AuditEvent = AuditRecord;

export interface StepChange {
  field: string;
  from?: unknown;
  to?: unknown;
  added?: string[];
  removed?: string[];
}

export type Outcome = 'succeeded' | 'skipped' | 'failed' | 'held' | 'info';

export interface TimelineStep {
  at: string;
  action: string;
  /** Plain language: "Invitation sent (round 2)". */
  title: string;
  outcome: Outcome;
  /** The activity step that wrote it, when a workflow step did. */
  step: string | null;
  changes: StepChange[];
  error?: string;
  advice?: string;
  workflowId: string | null;
  runId: string | null;
}

export type RequestSource = 'SCIM' | 'admin' | 'policy change' | 'group change' | 'drift repair' | 'invitation link' | 'workflow';

export interface TimelineGroup {
  requestId: string | null;
  source: RequestSource;
  /** What the outbox recorded for this request (created, updated, membership, …). */
  changes: string[];
  acceptedAt: string | null;
  deliveredAt: string | null;
  /** Not delivered yet: attempts so far and the last delivery error. */
  delivery?: { attempts: number; lastError: string | null };
  /** The request caused steps earlier too (this group continues it). */
  continued: boolean;
  status: 'waiting for delivery' | 'succeeded' | 'no changes' | 'failed' | 'held' | 'recorded';
  steps: TimelineStep[];
}

export interface Timeline {
  groups: TimelineGroup[];
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** The step's changes in one shape, from each action's own audit detail. */
function changesOf(action: string, d: Record<string, any>): StepChange[] {
  const out: StepChange[] = [];
  const set = (field: string, added: unknown, removed: unknown) => {
    const a = list(added);
    const r = list(removed);
    if (a.length || r.length) out.push({ field, added: a, removed: r });
  };
  switch (action) {
    case 'profile.created':
    case 'profile.updated':
      for (const f of list(d.fields)) out.push({ field: `profile.${f}` });
      break;
    case 'organisations.synced':
      set('organisations', d.added, d.removed);
      for (const c of list(d.changed)) out.push({ field: `organisations.${c}`, to: 'role or kind changed' });
      break;
    case 'licences.synced':
      set('licences', d.assigned, d.released);
      for (const c of list(d.updated)) out.push({ field: `licences.${c}`, to: 'level changed' });
      break;
    case 'providerAccounts.synced':
      set('providerAccounts', d.added, d.removed);
      break;
    case 'accessSettings.synced': {
      const withValues = Array.isArray(d.changes) ? (d.changes as StepChange[]) : [];
      for (const f of list(d.fields)) out.push(withValues.find((c) => c.field === f) ?? { field: f });
      const kinds = new Set([...Object.keys(d.added ?? {}), ...Object.keys(d.removed ?? {})]);
      for (const kind of kinds) set(`settings.${kind}`, d.added?.[kind], d.removed?.[kind]);
      break;
    }
    case 'drift.detected':
      for (const c of Array.isArray(d.changes) ? (d.changes as StepChange[]) : []) out.push(c);
      for (const p of list(d.parts))
        out.push({
          field: `application.${p}`,
          to: d.notKept ? 'differs again after the application accepted it: not sent again' : 'differs from the ledger: sent again',
        });
      break;
    case 'connector.call':
      // No personal data: the operation, the answer's status, how long, and the key the application can match retries by.
      if (typeof d.status === 'number') out.push({ field: 'HTTP status', to: d.status });
      if (typeof d.durationMs === 'number') out.push({ field: 'Duration', to: durationInWords(d.durationMs) });
      if (typeof d.idempotencyKey === 'string') out.push({ field: 'Idempotency key', to: d.idempotencyKey });
      break;
  }
  return out;
}

/** An application operation in words: "apply licences", "createAccount". */
function operationText(d: Record<string, any>): string {
  const op = typeof d.operation === 'string' ? d.operation : 'a call';
  const PART_TEXT: Record<string, string> = {
    profile: 'profile',
    organisations: 'organisations',
    licences: 'licences',
    providerAccounts: 'provider accounts',
    access: 'access settings',
  };
  const part = typeof d.part === 'string' ? d.part : /^apply\.(\w+)$/.exec(op)?.[1];
  if (part && (op === 'apply' || op === `apply.${part}`)) return `apply ${PART_TEXT[part] ?? part}`;
  return op;
}

/** "Application: apply licences — ok, 42 ms", or what went wrong. */
function connectorCallTitle(d: Record<string, any>): string {
  const op = operationText(d);
  const status = typeof d.status === 'number' ? ` (HTTP ${d.status})` : '';
  const took = typeof d.durationMs === 'number' ? `, ${durationInWords(d.durationMs)}` : '';
  switch (d.outcome) {
    case 'ok':
      return `Application: ${op} — ok${took}`;
    case 'permanent':
      return `Application refused ${op}${status}`;
    case 'conflict':
      return `Application reports a conflict on ${op}${status}`;
    case 'transient':
      return `Application did not answer ${op}${status}: tried again`;
    default:
      return `Application call ${op} failed${status}`;
  }
}

/** "the security role", "the employee-area tags", or both. */
function windowsText(windows: unknown): string {
  const names = list(windows).map((w) => (w === 'securityRole' ? 'the security role' : w === 'tags' ? 'the employee-area tags' : w));
  return names.length ? names.join(' and ') : 'the change';
}

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function titleOf(action: string, d: Record<string, any>): string {
  switch (action) {
    case 'profile.created':
      return 'Profile created';
    case 'profile.updated':
      return 'Profile updated';
    case 'organisations.synced':
      return 'Organisations and roles';
    case 'licences.synced':
      return 'Licences';
    case 'providerAccounts.synced':
      return 'Provider accounts';
    case 'accessSettings.synced':
      return 'Security role, tags, teams, facilities and notifications';
    case 'access.verified':
      return 'Access verified';
    case 'invitation.sent':
      return `Invitation sent${d.round ? ` (round ${d.round})` : ''}`;
    case 'invitation.reminded':
      return `Reminder ${d.reminder ?? ''} sent`.replace('  ', ' ');
    case 'invitation.expired':
      return 'Invitation expired';
    case 'invitation.accepted':
      return 'Invitation accepted by the user';
    case 'user.activated':
      return 'User active (login enabled)';
    case 'user.suspended':
      return `Suspended: login blocked${d.reason ? ` (${d.reason})` : ''}`;
    case 'user.reactivated':
      return `Reactivated${d.status ? ` (${d.status})` : ''}`;
    case 'user.terminated':
      return `Terminated${d.reason ? ` (${d.reason})` : ''}`;
    case 'user.rehired':
      return 'Re-hire: earlier entitlements carried over';
    case 'drift.detected':
      if (d.source === 'application' && d.notKept)
        return `Drift repair: the application does not keep ${list(d.parts).join(', ') || 'what it accepted'}; not sent again until the user changes in scimflow`;
      return d.source === 'application'
        ? "Drift repair found the application's account different from scimflow's ledger"
        : 'Drift repair found the directory different from the policy';
    case 'connector.call':
      return connectorCallTitle(d);
    case 'propagation.verified':
      return `${capitalised(windowsText(d.windows).replace(/^the /, ''))} verified in force in the application after ${durationInWords(Number(d.afterMs ?? 0))}`;
    case 'propagation.waited':
      return `Waited ${durationInWords(Number(d.ms ?? 0))} for ${windowsText(d.windows)}${d.readBack === false || d.readBack === undefined ? ' (the application does not read back)' : ''}`;
    case 'licences.released':
      return `Licence seats given back${typeof d.licences === 'number' ? ` (${d.licences})` : ''}${d.reason ? `: ${d.reason}` : ''}`;
    case 'user.held':
      return `Held: nothing new granted and login blocked${d.reason ? ` (${d.reason})` : ''}`;
    case 'user.released':
      return 'Hold ended: the data is complete';
    case 'mail.rejected':
      return `The mail server refused the ${d.kind ?? 'mail'} for good`;
    case 'deprovision.held':
      return `${d.action === 'terminate' ? 'Termination' : 'Suspension'} held by the mass-deprovisioning guard: waits for a Super User to allow or reject it`;
    case 'scim.restored':
      return `Deletion rejected by a Super User: the SCIM user is restored${d.version ? ` (version ${d.version})` : ''}, visible to the identity provider again`;
    case 'deprovision.notCounted':
      return `${d.action === 'terminate' ? 'Termination' : 'Suspension'} by a Super User: not counted or held by the mass-deprovisioning guard`;
    case 'mail.uncertain':
      // Written by versions before 0.3, which did not send again after an interrupted attempt.
      return `Mail not resent: ${d.note ?? 'an earlier attempt stopped mid-send'}`;
    case 'mail.resent':
      return `${d.kind === 'reminder' ? 'Reminder' : 'Invitation'} re-sent after an interrupted attempt (same link and Message-ID)`;
    case 'state.changed':
      return `State: ${d.state}${d.waitingFor ? `, waiting for ${waitingText(d.waitingFor)}` : ''}`;
    default:
      if (action.startsWith('admin.')) return `Admin action: ${action.slice('admin.'.length)}`;
      return action;
  }
}

function stepOf(e: AuditEvent): TimelineStep {
  const d = (e.detail ?? {}) as Record<string, any>;
  let outcome: Outcome = 'succeeded';
  let error: string | undefined;
  let advice: string | undefined;
  if (e.action === 'mail.uncertain') outcome = 'skipped';
  if (e.action === 'connector.call' && d.outcome !== 'ok') {
    // A refusal or conflict fails the step; an outage is tried again (Temporal's retry).
    outcome = d.outcome === 'transient' ? 'skipped' : 'failed';
  }
  if (e.action === 'user.held') outcome = 'held';
  if (e.action === 'drift.detected' && d.notKept) outcome = 'skipped';
  if (e.action === 'mail.rejected') outcome = 'failed';
  if (e.action.startsWith('admin.')) outcome = 'info';
  if (e.action === 'state.changed') {
    outcome = d.state === 'failed' ? 'failed' : ['awaitingData', 'waitingForSeat', 'expired'].includes(d.state) ? 'held' : 'info';
    error = d.lastError ?? undefined;
    advice = adviceFor({ state: d.state, waitingFor: d.waitingFor, lastError: d.lastError });
  }
  const changes = changesOf(e.action, d);
  if (e.action === 'state.changed' && d.waitingUntil) changes.push({ field: 'waitingUntil', to: d.waitingUntil });
  if (e.action === 'user.terminated') {
    for (const k of ['licences', 'memberships', 'invitations'] as const)
      if (typeof d[k] === 'number' && d[k] > 0) changes.push({ field: `${k} released`, to: d[k] });
  }
  return {
    at: new Date(e.at).toISOString(),
    action: e.action,
    title: titleOf(e.action, d),
    outcome,
    step: e.step,
    changes,
    ...(error ? { error } : {}),
    ...(advice ? { advice } : {}),
    workflowId: e.workflowId,
    runId: e.runId,
  };
}

/** Where a request came from: its outbox change kind first, then its request id's prefix, then what it caused. */
function sourceOf(requestId: string | null, changes: string[], actions: string[]): RequestSource {
  if (changes.includes('policy')) return 'policy change';
  if (changes.includes('membership')) return 'group change';
  if (changes.includes('drift') || requestId?.startsWith('reconcile:') || actions.includes('drift.detected')) return 'drift repair';
  if (changes.includes('invitationAccepted') || actions.includes('invitation.accepted')) return 'invitation link';
  if (requestId?.startsWith('admin:')) return 'admin';
  if (changes.length > 0) return 'SCIM';
  return 'workflow';
}

type Event = { at: number; order: number; requestId: string | null; outbox?: OutboxEvent; audit?: AuditEvent };

export function buildTimeline(outbox: OutboxEvent[], audit: AuditEvent[]): Timeline {
  const events: Event[] = [
    ...outbox.map((o): Event => ({ at: new Date(o.createdAt).getTime(), order: 0, requestId: o.requestId, outbox: o })),
    ...audit.map((a): Event => ({ at: new Date(a.at).getTime(), order: 1, requestId: a.requestId, audit: a })),
  ].sort((a, b) => a.at - b.at || a.order - b.order || (a.audit?.id ?? a.outbox?.id ?? 0) - (b.audit?.id ?? b.outbox?.id ?? 0));

  const outboxByRequest = new Map<string, OutboxEvent[]>();
  for (const o of outbox) outboxByRequest.set(o.requestId, [...(outboxByRequest.get(o.requestId) ?? []), o]);

  const groups: (TimelineGroup & { audits: AuditEvent[]; rows: OutboxEvent[] })[] = [];
  const seen = new Set<string>();
  for (const e of events) {
    const current = groups[groups.length - 1];
    // State changes carry no request id: they belong to whatever the workflow is doing.
    const key = e.audit?.action === 'state.changed' && e.requestId === null ? (current ? current.requestId : null) : e.requestId;
    let group = current && current.requestId === key ? current : undefined;
    if (!group) {
      group = {
        requestId: key,
        source: 'workflow',
        changes: [],
        acceptedAt: null,
        deliveredAt: null,
        continued: key !== null && seen.has(key),
        status: 'recorded',
        steps: [],
        audits: [],
        rows: [],
      };
      if (key !== null) seen.add(key);
      groups.push(group);
    }
    if (e.outbox) group.rows.push(e.outbox);
    if (e.audit) group.audits.push(e.audit);
  }

  return {
    groups: groups.map(({ audits, rows, ...g }) => {
      const requestRows = g.requestId ? (outboxByRequest.get(g.requestId) ?? []) : [];
      const steps = audits.map(stepOf);
      const changes = [...new Set(requestRows.map((r) => r.change))];
      const undelivered = rows.filter((r) => r.deliveredAt === null);
      const workSteps = steps.filter((s) => s.outcome !== 'info');
      const lastState = [...steps].reverse().find((s) => s.action === 'state.changed');
      let status: TimelineGroup['status'];
      if (undelivered.length > 0) status = 'waiting for delivery';
      else if (lastState?.outcome === 'failed') status = 'failed';
      else if (lastState?.outcome === 'held' && workSteps.every((s) => s.action === 'state.changed')) status = 'held';
      else if (workSteps.some((s) => s.action !== 'state.changed')) status = 'succeeded';
      else if (rows.length > 0) status = 'no changes';
      else status = 'recorded';
      const delivered = rows.map((r) => r.deliveredAt).filter((d): d is Date => d !== null);
      return {
        ...g,
        source: sourceOf(
          g.requestId,
          changes,
          audits.map((a) => a.action),
        ),
        changes,
        acceptedAt: iso(rows[0]?.createdAt ?? requestRows[0]?.createdAt ?? null),
        deliveredAt: iso(delivered.length ? delivered.reduce((a, b) => (a > b ? a : b)) : null),
        ...(undelivered.length
          ? { delivery: { attempts: Math.max(...undelivered.map((r) => r.attempts)), lastError: undelivered.find((r) => r.lastError)?.lastError ?? null } }
          : {}),
        status,
        steps,
      };
    }),
  };
}

/** CSV text of a timeline: one line per change of a step (a step without changes: one line). */
export function timelineCsv(t: Timeline): string {
  const header = [
    'requestId',
    'source',
    'acceptedAt',
    'deliveredAt',
    'requestStatus',
    'at',
    'action',
    'title',
    'outcome',
    'step',
    'field',
    'from',
    'to',
    'added',
    'removed',
    'error',
    'advice',
  ];
  const lines = [header.map(csvCell).join(',')];
  for (const g of t.groups) {
    for (const s of g.steps.length ? g.steps : [undefined]) {
      for (const c of s?.changes.length ? s.changes : [undefined]) {
        const show = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
        lines.push(
          [
            g.requestId ?? '',
            g.source,
            g.acceptedAt ?? '',
            g.deliveredAt ?? '',
            g.status,
            s?.at ?? '',
            s?.action ?? '',
            s?.title ?? '',
            s?.outcome ?? '',
            s?.step ?? '',
            c?.field ?? '',
            show(c?.from),
            show(c?.to),
            (c?.added ?? []).join('; '),
            (c?.removed ?? []).join('; '),
            s?.error ?? '',
            s?.advice ?? '',
          ]
            .map(csvCell)
            .join(','),
        );
      }
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * One CSV cell (RFC 4180 quoting). A value a spreadsheet would run as a formula (=, +, -, @, tab,
 * carriage return first: group names and reasons come from outside) is prefixed with an apostrophe.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
