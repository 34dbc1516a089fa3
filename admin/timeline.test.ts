import { buildTimeline, csvCell, timelineCsv, type AuditEvent, type OutboxEvent } from './timeline';

const t0 = Date.parse('2026-01-05T10:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000);
let id = 0;
const outbox = (requestId: string, change: string, s: number, deliveredAfter: number | null = 1): OutboxEvent => ({
  id: ++id,
  change,
  resourceVersion: 1,
  requestId,
  createdAt: at(s),
  deliveredAt: deliveredAfter === null ? null : at(s + deliveredAfter),
  attempts: 1,
  lastError: null,
});
const audit = (requestId: string | null, action: string, s: number, detail: Record<string, unknown> = {}): AuditEvent => ({
  id: ++id,
  action,
  detail,
  requestId,
  workflowId: 'user-t-1',
  runId: 'run',
  step: action.startsWith('state') ? 'recordState' : 'convergeUser',
  at: at(s),
});

describe('buildTimeline', () => {
  test('when a SCIM create runs to the invitation, then one group holds its steps and states, with where it came from and when it was accepted and delivered', () => {
    const t = buildTimeline(
      [outbox('req-1', 'created', 0)],
      [
        audit(null, 'state.changed', 2, { state: 'onboarding' }),
        audit('req-1', 'profile.created', 2, { fields: ['firstName', 'email'] }),
        audit('req-1', 'accessSettings.synced', 2, {
          fields: ['securityRole'],
          changes: [{ field: 'securityRole', from: null, to: 'VOB Worker' }],
          added: { team: ['Intake'] },
          removed: {},
        }),
        audit('req-1', 'invitation.sent', 3, { round: 1 }),
        audit(null, 'state.changed', 3, { state: 'invited', waitingFor: 'acceptance', waitingUntil: '2026-01-08T10:00:03.000Z' }),
      ],
    );
    expect(t.groups).toHaveLength(1);
    const g = t.groups[0];
    expect(g).toMatchObject({ requestId: 'req-1', source: 'SCIM', changes: ['created'], status: 'succeeded', continued: false });
    expect(g.acceptedAt).toBe(at(0).toISOString());
    expect(g.deliveredAt).toBe(at(1).toISOString());
    expect(g.steps.map((s) => s.title)).toEqual([
      'State: onboarding',
      'Profile created',
      'Security role, tags, teams, facilities and notifications',
      'Invitation sent (round 1)',
      'State: invited, waiting for the user to accept the invitation',
    ]);
    expect(g.steps[1].changes).toEqual([{ field: 'profile.firstName' }, { field: 'profile.email' }]);
    expect(g.steps[2].changes).toEqual([
      { field: 'securityRole', from: null, to: 'VOB Worker' },
      { field: 'settings.team', added: ['Intake'], removed: [] },
    ]);
  });

  test('when a step fails, then the group is failed with the error and what to do; a retry that succeeds later is its own group', () => {
    const t = buildTimeline(
      [outbox('req-1', 'created', 0), outbox('admin:r', 'updated', 60)],
      [
        audit(null, 'state.changed', 5, { state: 'failed', waitingFor: 'change or retry', lastError: 'sendInvitation: connect ECONNREFUSED 127.0.0.1:25' }),
        audit('admin:r', 'admin.suspend', 60, {}),
        audit('admin:r', 'user.suspended', 61, { reason: 'SCIM active=false' }),
      ],
    );
    expect(t.groups.map((g) => [g.source, g.status])).toEqual([
      ['SCIM', 'failed'],
      ['admin', 'succeeded'],
    ]);
    const failed = t.groups[0].steps[0];
    expect(failed).toMatchObject({ outcome: 'failed', error: 'sendInvitation: connect ECONNREFUSED 127.0.0.1:25' });
    expect(failed.advice).toMatch(/mail server/);
  });

  test('when a change is not delivered yet, then its group waits for delivery with the attempts and error; a delivered one without steps had no changes', () => {
    const pending = { ...outbox('req-2', 'updated', 10, null), attempts: 3, lastError: 'Temporal unreachable' };
    const t = buildTimeline([outbox('req-1', 'membership', 0), pending], []);
    expect(t.groups.map((g) => [g.source, g.status])).toEqual([
      ['group change', 'no changes'],
      ['SCIM', 'waiting for delivery'],
    ]);
    expect(t.groups[1].delivery).toEqual({ attempts: 3, lastError: 'Temporal unreachable' });
  });

  test('when a request causes steps again later (a reminder), then a second group continues it', () => {
    const t = buildTimeline(
      [outbox('req-1', 'created', 0), outbox('policy-1', 'policy', 100)],
      [
        audit('req-1', 'invitation.sent', 2, { round: 1 }),
        audit('policy-1', 'licences.synced', 101, { assigned: [], released: [], updated: ['north'] }),
        audit('req-1', 'invitation.reminded', 300, { reminder: 1 }),
      ],
    );
    expect(t.groups.map((g) => [g.requestId, g.source, g.continued])).toEqual([
      ['req-1', 'SCIM', false],
      ['policy-1', 'policy change', false],
      ['req-1', 'SCIM', true],
    ]);
    expect(t.groups[2].steps[0].title).toBe('Reminder 1 sent');
  });
});

describe('the application: connector calls, propagation and repairs in the log', () => {
  const key = 'user-t-1:convergeUser:3';
  test('when connector calls succeed and fail, then each says what it did to the application, how long it took and its idempotency key, with no personal data', () => {
    const t = buildTimeline(
      [outbox('req-1', 'created', 0)],
      [
        audit('req-1', 'connector.call', 1, { connector: 'http', operation: 'apply', part: 'licences', outcome: 'ok', durationMs: 42, idempotencyKey: key }),
        audit('req-1', 'connector.call', 2, {
          connector: 'http',
          operation: 'createAccount',
          outcome: 'permanent',
          status: 400,
          durationMs: 1250,
          idempotencyKey: key,
        }),
        audit('req-1', 'connector.call', 3, {
          connector: 'http',
          operation: 'apply.access',
          outcome: 'transient',
          status: 503,
          durationMs: 8,
          idempotencyKey: key,
        }),
        audit('req-1', 'connector.call', 4, {
          connector: 'scim',
          operation: 'setLogin',
          outcome: 'conflict',
          status: 409,
          durationMs: 15,
          idempotencyKey: key,
        }),
      ],
    );
    const steps = t.groups[0].steps;
    expect(steps.map((s) => [s.title, s.outcome])).toEqual([
      ['Application: apply licences — ok, 42 ms', 'succeeded'],
      ['Application refused createAccount (HTTP 400)', 'failed'],
      ['Application did not answer apply access settings (HTTP 503): tried again', 'skipped'],
      ['Application reports a conflict on setLogin (HTTP 409)', 'failed'],
    ]);
    expect(steps[0].changes).toEqual([
      { field: 'Duration', to: '42 ms' },
      { field: 'Idempotency key', to: key },
    ]);
    expect(steps[1].changes).toEqual([
      { field: 'HTTP status', to: 400 },
      { field: 'Duration', to: '1 s' },
      { field: 'Idempotency key', to: key },
    ]);
    expect(timelineCsv(t)).toContain(key);
  });

  test('when propagation is verified or waited, then the log says which and after how long, in words', () => {
    const t = buildTimeline(
      [],
      [
        audit('req-1', 'propagation.verified', 1, { windows: ['securityRole'], afterMs: 190_000 }),
        audit('req-1', 'propagation.verified', 2, { windows: ['securityRole', 'tags'], afterMs: 4_000 }),
        audit('req-1', 'propagation.waited', 3, { windows: ['securityRole'], ms: 3_600_000, readBack: false }),
        audit('req-1', 'propagation.waited', 4, { windows: ['tags'], ms: 600_000 }),
      ],
    );
    expect(t.groups[0].steps.map((s) => s.title)).toEqual([
      'Security role verified in force in the application after 3 min 10 s',
      'Security role and the employee-area tags verified in force in the application after 4 s',
      'Waited 1 h for the security role (the application does not read back)',
      'Waited 10 min for the employee-area tags (the application does not read back)',
    ]);
  });

  test('when seats are given back, a user is held and released, and drift repair finds the application changed, then each has its title', () => {
    const t = buildTimeline(
      [outbox('reconcile:r', 'drift', 10)],
      [
        audit('req-1', 'licences.released', 1, { licences: 2, reason: 'onboarding failed' }),
        audit('req-2', 'user.held', 2, { reason: 'data missing: email' }),
        audit('req-3', 'user.released', 3),
        audit('reconcile:r', 'drift.detected', 10, { source: 'application', fields: ['application.access'], parts: ['access'] }),
        audit('reconcile:r', 'drift.detected', 11, { fields: ['securityRole'], changes: [{ field: 'securityRole', from: null, to: 'VOB Worker' }] }),
        audit('reconcile:r', 'drift.detected', 12, { source: 'application', fields: ['application.licences'], parts: ['licences'], notKept: true }),
      ],
    );
    const steps = t.groups.flatMap((g) => g.steps);
    expect(steps.map((s) => [s.title, s.outcome])).toEqual([
      ['Licence seats given back (2): onboarding failed', 'succeeded'],
      ['Held: nothing new granted and login blocked (data missing: email)', 'held'],
      ['Hold ended: the data is complete', 'succeeded'],
      ["Drift repair found the application's account different from scimflow's ledger", 'succeeded'],
      ['Drift repair found the directory different from the policy', 'succeeded'],
      ['Drift repair: the application does not keep licences; not sent again until the user changes in scimflow', 'skipped'],
    ]);
    expect(steps[3].changes).toEqual([{ field: 'application.access', to: 'differs from the ledger: sent again' }]);
    expect(t.groups[t.groups.length - 1].source).toBe('drift repair');
  });
});

describe('timelineCsv', () => {
  test('when exported, then each change is a line and cells a spreadsheet would run as formulas are defused', () => {
    const t = buildTimeline(
      [outbox('req-1', 'membership', 0)],
      [audit('req-1', 'accessSettings.synced', 1, { fields: [], added: { team: ['=HYPERLINK("x")'] } })],
    );
    const lines = timelineCsv(t).trim().split('\r\n');
    expect(lines[0]).toBe('requestId,source,acceptedAt,deliveredAt,requestStatus,at,action,title,outcome,step,field,from,to,added,removed,error,advice');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"'=HYPERLINK(""x"")"`);
  });

  test.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['-1+2', "'-1+2"],
    ['@SUM(A1)', "'@SUM(A1)"],
  ])('csvCell(%j) is %j', (input, expected) => expect(csvCell(input)).toBe(expected));
});
