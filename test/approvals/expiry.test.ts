/**
 * The net under a lost deadline message (the CLI held an isolation and exited with its in-process
 * queue): with the next reconciliation, every pending approval past its deadline expires as its message
 * would have done, and one still within its time is left alone. And the message's own life: scheduled
 * again when it comes early, withdrawn once decided, left to its no-op handler when withdrawing fails.
 */
import type { ApprovalDeps } from '../../shared/approvals/deps';
import { NO_APPROVAL_EVENTS } from '../../shared/approvals/events';
import { expireApproval, expireOverdueApprovals } from '../../shared/approvals/expiry';
import { voteOnApproval } from '../../shared/approvals/vote';
import { approvalDeadlineMessage } from '../../shared/dispatch/approval-deadline';
import { InProcessQueue } from '../../shared/dispatch/transport/in-process-queue';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { ApprovalRecord } from '../../shared/state/store';
import { HELD_MACHINE, pendingApproval } from '../support/approvals';
import { type HandClock, handClock } from '../support/hand-clock';
import { recordingReporter } from '../support/reporter';

const MINUTE = 60_000;
const MACHINE = HELD_MACHINE;

const pending = (id: string, createdAt: number, onExpiry: ApprovalRecord['onExpiry']) =>
  pendingApproval(id, createdAt, onExpiry);

const queues: InProcessQueue[] = [];
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close();
});

/** Closed after the test, passed or failed: a queue left open keeps its timer, and jest, running. */
function openQueue(clock: HandClock): InProcessQueue {
  const queue = new InProcessQueue({ clock });
  queues.push(queue);
  return queue;
}

it('expires the overdue approvals whose deadline messages were lost, and only those', async () => {
  const clock = handClock();
  const store = new InMemoryStateStore({ clock });
  const queue = openQueue(clock);
  const { reporter, outcomes } = recordingReporter();
  const deps: ApprovalDeps = { store, queue, reporter, clock, events: NO_APPROVAL_EVENTS };
  const start = clock.now();
  const overdue = pending('0d0d0d0d-0000-4000-8000-000000000001', start, 'drop');
  const isolating = pending('0d0d0d0d-0000-4000-8000-000000000002', start, 'isolate');
  const later = pending('0d0d0d0d-0000-4000-8000-000000000003', start + 20 * MINUTE, 'escalate');
  for (const record of [overdue, isolating, later])
    await store.approvals.update(record.id, () => ({ next: record, result: undefined }));

  clock.advance(31 * MINUTE);
  expect(await expireOverdueApprovals(deps)).toBe(2);

  expect(outcomes).toEqual([
    expect.objectContaining({ requestId: overdue.id, outcome: 'skipped', rule: 'hyper-v-hosts' }),
  ]);
  // Expired with onExpiry isolate: its request is on the queue, to be decided again.
  expect(queue.pending()).toBe(1);
  expect((await store.approvals.get(isolating.id))?.state).toBe('expired');
  expect((await store.approvals.get(later.id))?.state).toBe('pending');
});

it('schedules an early deadline message again, under a ref the decision then withdraws', async () => {
  const clock = handClock();
  const store = new InMemoryStateStore({ clock });
  const queue = openQueue(clock);
  const { reporter } = recordingReporter();
  const deps: ApprovalDeps = { store, queue, reporter, clock, events: NO_APPROVAL_EVENTS };
  const approval = pending('0d0d0d0d-0000-4000-8000-000000000004', clock.now(), 'drop');
  await store.approvals.update(approval.id, () => ({ next: approval, result: undefined }));

  // Delivered before its time (the queue's clock ahead of the app's): it waits again.
  await expireApproval(deps, { action: 'approval-deadline', requestId: approval.id });
  const deadline = approvalDeadlineMessage(approval.id).messageId;
  expect(queue.scheduledIds()).toEqual([deadline]);
  expect((await store.approvals.get(approval.id))?.state).toBe('pending');

  const bob = { label: 'bob@contoso.com', objectId: null, tenants: 'every' as const };
  const denied = await voteOnApproval(deps, {
    approvalId: approval.id,
    verdict: 'deny',
    reason: 'no',
    approver: bob,
  });
  expect(denied.kind).toBe('denied');
  expect(queue.scheduledIds()).toEqual([]);
});

it('leaves the deadline message to its no-op handler when withdrawing it fails: one note, the decision stands', async () => {
  const clock = handClock();
  const store = new InMemoryStateStore({ clock });
  const queue = openQueue(clock);
  queue.cancelScheduled = async () => {
    throw new Error('ServiceCommunicationProblem');
  };
  const { reporter, outcomes, notes } = recordingReporter();
  const deps: ApprovalDeps = { store, queue, reporter, clock, events: NO_APPROVAL_EVENTS };
  const approval = pending('0d0d0d0d-0000-4000-8000-000000000005', clock.now(), 'drop');
  const deadlineMessage = await queue.schedule(
    approvalDeadlineMessage(approval.id),
    new Date(approval.deadline),
  );
  const row = { ...approval, deadlineMessage: deadlineMessage as string };
  await store.approvals.update(approval.id, () => ({ next: row, result: undefined }));

  const bob = { label: 'bob@contoso.com', objectId: null, tenants: 'every' as const };
  const denied = await voteOnApproval(deps, {
    approvalId: approval.id,
    verdict: 'deny',
    reason: 'no',
    approver: bob,
  });
  expect(denied.kind).toBe('denied');
  expect(outcomes).toEqual([expect.objectContaining({ requestId: approval.id, outcome: 'denied' })]);
  expect(notes).toEqual([
    expect.objectContaining({
      level: 'warn',
      event: 'approval-deadline-not-withdrawn',
      approvalId: approval.id,
      why: 'Error: ServiceCommunicationProblem',
    }),
  ]);
});

it("notes a listed tenant's held request in that tenant's register, never the deployment's", async () => {
  const clock = handClock();
  const store = new InMemoryStateStore({ clock });
  const tenantStore = new InMemoryStateStore({ clock });
  const tenantId = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
  const seed = {
    machineId: MACHINE,
    computerDnsName: 'hv-host-01.contoso.local',
    state: 'isolated' as const,
    requestId: 'req-0',
    reason: 'MDE reports Succeeded',
    provenance: {
      requestedBy: { kind: 'rule' as const, name: 'isolate-high' },
      alertSource: 'mde-alert' as const,
      alertId: 'da-1',
      incidentId: null,
      incidentArmId: null,
      policyVersion: 'test-1',
      mode: 'enforce' as const,
      reason: 'high-severity alert',
    },
  };
  await store.register.record(seed);
  await tenantStore.register.record(seed);
  const { reporter } = recordingReporter();
  const deps: ApprovalDeps = {
    store,
    queue: openQueue(clock),
    reporter,
    clock,
    events: NO_APPROVAL_EVENTS,
    tenantRegister: (id) => (id === tenantId ? tenantStore.register : store.register),
  };
  const held = pending('0d0d0d0d-0000-4000-8000-000000000009', clock.now(), 'drop');
  const request = { ...JSON.parse(held.request), tenantId };
  const record = { ...held, request: JSON.stringify(request) };
  await store.approvals.update(record.id, () => ({ next: record, result: undefined }));
  clock.advance(31 * MINUTE);
  await expireApproval(deps, { action: 'approval-deadline', requestId: record.id });
  const notes = async (s: InMemoryStateStore) =>
    JSON.stringify((await s.register.get(MACHINE))?.history ?? []);
  expect(await notes(tenantStore)).toContain(`approval ${record.id} expired`);
  expect(await notes(store)).not.toContain(record.id);
});
