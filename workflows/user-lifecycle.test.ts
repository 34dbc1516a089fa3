/**
 * The user workflow's branches that real services reach only by chance (a crash between a
 * convergence and its record, an acceptance of a superseded link, a deletion during a seat
 * wait), driven with stubbed activities on the time-skipping test server.
 */
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../activities';
import type { AccessCheck, ConvergeResult, DeprovisionDecision, PropagationCheck, UserPlan } from '../activities/types';
import { findOrInstallTestServer } from '../dev/temporal-cli';
import { installRuntime } from '../worker/create-worker';
import { invitationAcceptedSignal, resendInvitationSignal, resourceChangedSignal, retrySignal, statusQuery, type UserStatus } from './definitions';

const DAY = 86_400_000;
const timings: UserPlan['timings'] = {
  tagPropagationMs: 600_000,
  rolePropagationMs: 3_600_000,
  reminderOffsetsMs: [3 * DAY],
  expiryMs: 14 * DAY,
  startLeadMs: DAY,
  seatRecheckMs: 300_000,
  endDateAction: 'suspend',
  settleMs: 0,
  settleMaxMs: 600_000,
};
const completePlan: UserPlan = { exists: true, active: true, version: 1, missing: [], startAt: null, endAt: null, timings };
const converged: ConvergeResult = { status: 'converged', roleChanged: false, tagsChanged: false, applied: { role: '', tags: '' } };

/** The activities of one test: each call recorded by name; behaviour set per test. */
class Stubs {
  calls: { name: string; input: any }[] = [];
  /** The user of this test; calls for users of earlier tests (still running) are not recorded. */
  userId = '';
  plan: () => UserPlan = () => completePlan;
  converge: () => ConvergeResult = () => converged;
  verify: () => Promise<AccessCheck> = async () => ({ verified: true });
  send: (input: { round: number }) => Promise<void> = async () => undefined;
  deprovision: () => DeprovisionDecision = () => 'proceed';
  propagation: () => PropagationCheck = () => ({ effective: true });
  private invitations = 0;

  named(name: string): any[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.input);
  }

  activities(): Partial<Activities> {
    const record = (name: string, input: any) => void (input.userId === this.userId && this.calls.push({ name, input }));
    return {
      planUser: async (input) => (record('planUser', input), this.plan()),
      convergeUser: async (input) => (record('convergeUser', input), this.converge()),
      verifyAccess: async (input) => {
        record('verifyAccess', input);
        return this.verify();
      },
      restrictUser: async (input) => (record('restrictUser', input), { changed: false }),
      requestDeprovision: async (input) => (record('requestDeprovision', input), this.deprovision()),
      sendInvitation: async (input) => {
        record('sendInvitation', input);
        await this.send(input);
        this.invitations += 1;
        return { invitationId: `inv-${this.invitations}`, sentAt: Date.now() };
      },
      sendReminder: async (input) => (record('sendReminder', input), { sent: true }),
      expireInvitation: async (input) => (record('expireInvitation', input), { expired: true }),
      markActive: async (input) => void record('markActive', input),
      suspendUser: async (input) => void record('suspendUser', input),
      reactivateUser: async (input) => void record('reactivateUser', input),
      terminateUser: async (input) => void record('terminateUser', input),
      recordState: async (input) => void record('recordState', input),
      releaseSeats: async (input) => (record('releaseSeats', input), { released: 1 }),
      checkPropagation: async (input) => (record('checkPropagation', input), this.propagation()),
    };
  }
}

let env: TestWorkflowEnvironment;
let stubs: Stubs;
let worker: Worker;
let running: Promise<void>;
const taskQueue = 'stubbed-lifecycle';

beforeAll(async () => {
  installRuntime();
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: findOrInstallTestServer() } } });
  // One worker for the file; each test swaps the stubs it delegates to.
  const delegate = new Proxy({} as Record<string, (input: unknown) => Promise<unknown>>, {
    get: (_t, name: string) => (input: unknown) => (stubs.activities() as Record<string, (i: unknown) => Promise<unknown>>)[name](input),
  });
  const names = Object.keys(new Stubs().activities());
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('./index'),
    activities: Object.fromEntries(names.map((n) => [n, delegate[n]])),
  });
  running = worker.run();
}, 60_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

beforeEach(() => {
  stubs = new Stubs();
});

async function start(): Promise<{
  id: string;
  status: () => Promise<UserStatus>;
  handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>;
}> {
  const id = `user-${crypto.randomUUID()}`;
  stubs.userId = id;
  const handle = await env.client.workflow.signalWithStart('userLifecycle', {
    taskQueue,
    workflowId: id,
    args: [{ tenantId: 't', userId: id, requestId: 'r1', indexState: false }],
    signal: resourceChangedSignal,
    signalArgs: [{ version: 1, change: 'created', requestId: 'r1' }],
  });
  return { id, handle, status: () => handle.query(statusQuery) };
}

async function until(status: () => Promise<UserStatus>, state: UserStatus['state']): Promise<UserStatus> {
  for (let i = 0; i < 200; i++) {
    const s = await status();
    if (s.state === state) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`state is ${(await status()).state}, expected ${state}`);
}

test('when the access check finds the directory behind the desired state (a change landed meanwhile), then the workflow converges again before inviting', async () => {
  let checks = 0;
  stubs.verify = async () => (++checks === 1 ? { verified: false, differences: ['securityRole'] } : { verified: true });
  const user = await start();
  await until(user.status, 'invited');
  const order = stubs.calls.map((c) => c.name).filter((n) => n !== 'recordState');
  expect(order).toEqual(['planUser', 'convergeUser', 'verifyAccess', 'planUser', 'convergeUser', 'verifyAccess', 'sendInvitation']);
});

test('when the access check keeps failing, then after three convergences the workflow waits in failed with the differences', async () => {
  stubs.verify = async () => ({ verified: false, differences: ['licences'] });
  const user = await start();
  const failed = await until(user.status, 'failed');
  expect(failed.lastError).toBe('verifyAccess: access not effective: licences');
  expect(stubs.named('convergeUser')).toHaveLength(3);
  expect(stubs.named('sendInvitation')).toEqual([]);
  // Never invited: its seats go back to the pool while it waits for a fix.
  expect(stubs.named('releaseSeats')).toEqual([expect.objectContaining({ reason: 'onboarding failed' })]);
});

test('when the application reads back, then the role window ends as soon as the role is in force there, not after the hour', async () => {
  stubs.plan = () => ({ ...completePlan, verifiesPropagation: true });
  stubs.converge = () => ({ ...converged, roleChanged: true, applied: { role: 'VOB Worker', tags: '' } });
  let reads = 0;
  stubs.propagation = () =>
    ++reads < 3 ? { effective: false, pending: ['the security role is none in the application, not VOB Worker'] } : { effective: true };
  const user = await start();
  const waiting = await until(user.status, 'waitingPropagation');
  expect(waiting.waitingFor).toBe('propagation:securityRole');
  await env.sleep('20s');
  await until(user.status, 'invited');
  const checks = stubs.named('checkPropagation');
  expect(checks).toHaveLength(3);
  expect(checks.map((c) => c.windows)).toEqual([['securityRole'], ['securityRole'], ['securityRole']]);
  // Polled at 5 s, then 10 s: in force after ~15 s of workflow time, far inside the hour.
  expect(checks[2].elapsedMs).toBeGreaterThanOrEqual(15_000);
  expect(checks[2].elapsedMs).toBeLessThan(60_000);
  expect(stubs.named('verifyAccess')[0].waited).toBeUndefined();
});

test('when the application never shows the role in force, then after the window the user is failed with what it shows', async () => {
  stubs.plan = () => ({ ...completePlan, verifiesPropagation: true });
  stubs.converge = () => ({ ...converged, roleChanged: true, applied: { role: 'VOB Worker', tags: '' } });
  stubs.propagation = () => ({ effective: false, pending: ['the security role is none in the application, not VOB Worker'] });
  const user = await start();
  await until(user.status, 'waitingPropagation');
  await env.sleep('61m');
  const failed = await until(user.status, 'failed');
  expect(failed.lastError).toMatch(/^checkPropagation: not in force in the application when the propagation window ended: the security role is none/);
  expect(stubs.named('sendInvitation')).toEqual([]);
});

test('when the application does not read back, then the window is waited out and the access check records how long', async () => {
  stubs.converge = () => ({ ...converged, tagsChanged: true, applied: { role: '', tags: 'abc' } });
  const user = await start();
  await until(user.status, 'waitingPropagation');
  await env.sleep('11m');
  await until(user.status, 'invited');
  expect(stubs.named('checkPropagation')).toEqual([]);
  expect(stubs.named('verifyAccess')[0].waited).toEqual({ windows: ['tags'], ms: 600_000 });
});

test('when the invitation cannot be sent, then the workflow waits in failed naming sendInvitation, and an operator retry sends it', async () => {
  let refuse = true;
  stubs.send = async () => {
    if (refuse) throw ApplicationFailure.nonRetryable('user has no email address', 'InvalidData');
  };
  const user = await start();
  const failed = await until(user.status, 'failed');
  expect(failed.lastError).toBe('sendInvitation: user has no email address');
  expect(failed.waitingFor).toBe('change or retry');
  refuse = false;
  await user.handle.signal(retrySignal);
  await until(user.status, 'invited');
  expect(stubs.named('sendInvitation')).toHaveLength(2);
});

test('when an operator resends while the user is invited, then a new round is sent and only the newest link activates', async () => {
  const user = await start();
  await until(user.status, 'invited');
  await user.handle.signal(resendInvitationSignal);
  for (let i = 0; i < 100 && stubs.named('sendInvitation').length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  expect(stubs.named('sendInvitation').map((i) => i.round)).toEqual([1, 2]);
  expect((await until(user.status, 'invited')).invitationId).toBe('inv-2');

  await user.handle.signal(invitationAcceptedSignal, { invitationId: 'inv-1' });
  await env.sleep('1m');
  expect((await user.status()).state).toBe('invited');
  await user.handle.signal(invitationAcceptedSignal, { invitationId: 'inv-2' });
  await until(user.status, 'active');
  expect(stubs.named('markActive').map((i) => i.invitationId)).toEqual(['inv-2']);
});

test('when the user is deleted while waiting for a seat, then it is terminated under the deleting request', async () => {
  stubs.converge = () => ({ status: 'waitingForSeat', orgKey: 'north' });
  const user = await start();
  expect((await until(user.status, 'waitingForSeat')).waitingFor).toBe('seat:north');
  await user.handle.signal(resourceChangedSignal, { version: 2, change: 'deleted', requestId: 'r-del' });
  expect(await user.handle.result()).toEqual({ state: 'terminated' });
  expect(stubs.named('terminateUser')).toEqual([expect.objectContaining({ requestId: 'r-del', cause: 'scimRequest' })]);
  expect(stubs.named('sendInvitation')).toEqual([]);
});

test('when a Super User rejects a deletion and that restores the SCIM user, then the workflow plans the user again instead of waiting, and a later deletion is guarded again', async () => {
  const user = await start();
  await until(user.status, 'invited');
  stubs.plan = () => ({ ...completePlan, exists: false, version: 0 });
  stubs.deprovision = () => 'held';
  await user.handle.signal(resourceChangedSignal, { version: 2, change: 'deleted', requestId: 'r-del' });
  expect((await until(user.status, 'deprovisionHeld')).waitingFor).toBe('decision:terminate');
  // The rejection restored the resource (admin/held-deletions.ts): the guard finds the user again.
  stubs.plan = () => ({ ...completePlan, version: 3 });
  stubs.deprovision = () => 'restored';
  await user.handle.signal(resourceChangedSignal, { version: 0, change: 'decision', requestId: 'admin:r-reject' });
  await user.handle.signal(resourceChangedSignal, { version: 3, change: 'updated', requestId: 'admin:r-reject' });
  await until(user.status, 'invited');
  expect(stubs.named('terminateUser')).toEqual([]);
  // The next deletion goes past the guard again.
  stubs.plan = () => ({ ...completePlan, exists: false, version: 0 });
  stubs.deprovision = () => 'proceed';
  await user.handle.signal(resourceChangedSignal, { version: 4, change: 'deleted', requestId: 'r-del-2' });
  expect(await user.handle.result()).toEqual({ state: 'terminated' });
  expect(stubs.named('requestDeprovision').map((i) => i.requestId)).toEqual(expect.arrayContaining(['r-del', 'r-del-2']));
  expect(stubs.named('terminateUser')).toEqual([expect.objectContaining({ requestId: 'r-del-2', cause: 'scimRequest' })]);
});

test('when a convergence re-run after a crash finds the role already applied, then the role window still opens', async () => {
  // The directory already holds the role (an earlier attempt committed it), so this run changes nothing.
  stubs.converge = () => ({ status: 'converged', roleChanged: false, tagsChanged: false, applied: { role: 'VOB Worker', tags: '' } });
  const user = await start();
  const waiting = await until(user.status, 'waitingPropagation');
  expect(waiting.waitingFor).toBe('propagation:securityRole');
  expect(stubs.named('sendInvitation')).toEqual([]);
  await env.sleep('61m');
  await until(user.status, 'invited');
});

test('when the HR end date passes while invited and the tenant terminates on end dates, then the user is terminated for the end date', async () => {
  const endAt = (await env.currentTimeMs()) + 2 * DAY;
  stubs.plan = () => ({ ...completePlan, endAt, timings: { ...timings, endDateAction: 'terminate' } });
  const user = await start();
  await until(user.status, 'invited');
  await env.sleep('2d');
  expect(await user.handle.result()).toEqual({ state: 'terminated' });
  expect(stubs.named('terminateUser')).toEqual([expect.objectContaining({ cause: 'hrEndDate' })]);
});

test('when nobody accepts, then one reminder goes out and the invitation expires; a resend after expiry starts round 2', async () => {
  const user = await start();
  await until(user.status, 'invited');
  await env.sleep('15d');
  await until(user.status, 'expired');
  expect(stubs.named('sendReminder')).toHaveLength(1);
  expect(stubs.named('expireInvitation')).toEqual([expect.objectContaining({ invitationId: 'inv-1' })]);
  await user.handle.signal(resendInvitationSignal);
  expect((await until(user.status, 'invited')).invitationId).toBe('inv-2');
  expect(stubs.named('sendInvitation').map((i) => i.round)).toEqual([1, 2]);
});
