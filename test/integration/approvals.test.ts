/**
 * Approvals with expiry and break-glass (issue 24): an isolation the policy holds waits for people,
 * then goes the normal path, decided again when it goes; undecided, its rule's `onExpiry` applies.
 * The runtime shares the simulator's clock, which only the test moves, so a deadline comes exactly
 * when the test says.
 */
import type { BreakGlassEvent } from '../../shared/approvals/events';
import type { Approver } from '../../shared/approvals/vote';
import { approvalDeadlineMessage } from '../../shared/dispatch/approval-deadline';
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import { compressTiming } from '../../shared/dispatch/timing';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime } from '../../shared/runtime';
import type { ApprovalRecord } from '../../shared/state/store';
import { mdeAlert } from '../support/alert-payloads';
import { recordingReporter } from '../support/reporter';
import { type Harness, postsOn, RATE_LIMITS, startHarness, TEST_POLICY, until } from './harness';

const MINUTE = 60_000;
const RUN = { pendingMs: 5, inProgressMs: 5, offlineTimeoutMs: 1_500 };
const held = (name: string, onExpiry: string, title: string) => ({
  name,
  title,
  action: 'isolate',
  approval: { expiresAfter: '30m', onExpiry },
});
const APPROVAL_POLICY = {
  ...TEST_POLICY,
  protections: [
    ...TEST_POLICY.protections,
    {
      name: 'hyper-v-hosts',
      tags: ['HyperVHost'],
      approval: { expiresAfter: '1h', onExpiry: 'escalate', approvers: 2 },
    },
  ],
  rules: [
    held('approve-then-isolate', 'isolate', '*isolate-on-expiry*'),
    held('approve-then-drop', 'drop', '*drop-on-expiry*'),
    held('approve-then-escalate', 'escalate', '*escalate-on-expiry*'),
  ],
};

const alice: Approver = { label: 'alice@contoso.com', objectId: null, tenants: 'every' };
const bob: Approver = {
  label: 'bob@contoso.com',
  objectId: '0b0b0b0b-0000-4000-8000-000000000001',
  tenants: 'every',
};
const carol: Approver = {
  label: 'carol@contoso.com',
  objectId: '0c0c0c0c-0000-4000-8000-000000000002',
  tenants: 'every',
};

describe('approvals with expiry', () => {
  let h: Harness;
  const pending: ApprovalRecord[] = [];
  const breakGlass: BreakGlassEvent[] = [];
  beforeAll(async () => {
    h = await startHarness({
      simulator: { lifecycle: RUN },
      policy: APPROVAL_POLICY,
      clock: (sim) => ({ now: () => sim.now() }),
      approvalEvents: {
        approvalPending: async (record) => {
          pending.push(record);
        },
        breakGlass: async (event) => {
          breakGlass.push(event);
        },
      },
    });
  });
  afterAll(() => h.close());

  const outcomeOf = async (requestId: string, what: string): Promise<OutcomeRecord> => {
    await until(() => h.outcomes.some((o) => o.requestId === requestId), what);
    return h.outcomes.find((o) => o.requestId === requestId) as OutcomeRecord;
  };

  /** Moves both clocks and lets the in-process queue deliver what came due. */
  const advance = (ms: number) => {
    h.sim.advanceTime(ms);
    h.runtime.inline?.wake();
  };

  /** An alert about `name` whose title picks the rule; answers the approval it is held for. */
  const holdFor = async (name: string, title: string) => {
    const machineId = h.machineId(name);
    const intake = await h.submit(mdeAlert({ machineId }, { title }));
    const [accepted] = intake.alerts;
    if (accepted?.status !== 'accepted') throw new Error('alert refused');
    const requestId = accepted.requests[0]?.requestId as string;
    const outcome = await outcomeOf(requestId, 'the hold');
    expect(outcome).toMatchObject({ outcome: 'awaiting-approval', machineId });
    return { machineId, approvalId: outcome.approvalId as string };
  };

  /** The queue holds nothing but the one approval deadline still to come. */
  const onlyTheDeadlineWaits = () =>
    until(() => h.runtime.inline?.pending() === 1, 'the queue to hold only the deadline');

  const vote = (approvalId: string, verdict: 'approve' | 'deny', approver: Approver, reason = 'checked') =>
    h.runtime.voteOnApproval({ approvalId, verdict, reason, approver });

  it('holds the isolation, then posts it once approved, with who, when and why recorded', async () => {
    const { machineId, approvalId } = await holdFor('ws-hr-02.contoso.local', 'isolate-on-expiry');
    expect(postsOn(h, machineId, 'isolate')).toEqual([]);
    expect(pending.map((p) => p.id)).toContain(approvalId);
    expect(await h.runtime.store.approvals.get(approvalId)).toMatchObject({
      state: 'pending',
      askedBy: 'approve-then-isolate',
      machineId,
    });

    const answer = await vote(approvalId, 'approve', alice, 'IR-7: confirmed on the host');
    expect(answer.kind).toBe('approved');
    const isolated = await outcomeOf(approvalId, 'the approved isolation');
    expect(isolated).toMatchObject({
      outcome: 'succeeded',
      approval: {
        id: approvalId,
        state: 'approved',
        votes: [{ verdict: 'approve', by: alice.label, reason: 'IR-7: confirmed on the host' }],
      },
    });
    expect(postsOn(h, machineId, 'isolate')).toHaveLength(1);
    const record = await h.runtime.store.register.get(machineId);
    expect(record?.provenance.reason).toContain(`approved by ${alice.label}`);
    expect(record?.history.map((step) => step.reason)).toContainEqual(
      expect.stringMatching(
        new RegExp(`^posted Isolate action .* after approval ${approvalId} by ${alice.label}$`),
      ),
    );
  });

  it('posts nothing when denied, and the outcome names who denied it and why', async () => {
    const { machineId, approvalId } = await holdFor('web1.contoso.local', 'isolate-on-expiry');
    expect((await vote(approvalId, 'deny', bob, 'false positive: scheduled backup')).kind).toBe('denied');
    expect(await outcomeOf(approvalId, 'the denial')).toMatchObject({
      outcome: 'denied',
      reason: expect.stringContaining(`denied by ${bob.label}`),
      approval: { state: 'denied', votes: [{ by: bob.label, reason: 'false positive: scheduled backup' }] },
    });
    // The deadline comes later and finds the approval decided: nothing more happens.
    advance(31 * MINUTE);
    await h.settle();
    expect(h.outcomes.filter((o) => o.requestId === approvalId)).toHaveLength(1);
    expect(postsOn(h, machineId, 'isolate')).toEqual([]);
  });

  it('isolates on expiry when the rule says isolate, and the outcome says it expired', async () => {
    const { machineId, approvalId } = await holdFor('web10.contoso.local', 'isolate-on-expiry');
    advance(29 * MINUTE);
    await onlyTheDeadlineWaits();
    expect(postsOn(h, machineId, 'isolate')).toEqual([]);
    advance(2 * MINUTE);
    const outcome = await outcomeOf(approvalId, 'the isolation on expiry');
    expect(outcome).toMatchObject({ outcome: 'succeeded', approval: { state: 'expired', votes: [] } });
    expect((await h.runtime.store.register.get(machineId))?.provenance.reason).toContain('expired');
    expect(await vote(approvalId, 'approve', alice)).toMatchObject({
      kind: 'refused',
      code: 'already-decided',
    });
  });

  it('drops on expiry when the rule says drop', async () => {
    const { machineId, approvalId } = await holdFor('lnx-app-01.contoso.local', 'drop-on-expiry');
    advance(31 * MINUTE);
    expect(await outcomeOf(approvalId, 'the drop')).toMatchObject({
      outcome: 'skipped',
      rule: 'approve-then-drop',
      reason: expect.stringContaining('drops it on expiry'),
    });
    expect(postsOn(h, machineId, 'isolate')).toEqual([]);
  });

  it('escalates on expiry when the rule says escalate', async () => {
    const { machineId, approvalId } = await holdFor('mac-design-01.contoso.local', 'escalate-on-expiry');
    advance(31 * MINUTE);
    expect(await outcomeOf(approvalId, 'the escalation')).toMatchObject({
      outcome: 'escalated',
      rule: 'approve-then-escalate',
      reason: expect.stringContaining('a person must decide'),
    });
    expect(postsOn(h, machineId, 'isolate')).toEqual([]);
  });

  it('refuses self-approval, and a two-person approval needs two different approvers', async () => {
    const machineId = h.machineId('hv-host-01.contoso.local');
    const order = await h.runtime.submitManual({
      action: 'isolate',
      device: { mdeDeviceId: machineId },
      comment: 'lateral movement from this host',
      isolationType: 'Full',
      requestedBy: alice.label,
    });
    const heldOutcome = await outcomeOf(order.requestId, 'the hold');
    expect(heldOutcome).toMatchObject({ outcome: 'awaiting-approval', rule: 'hyper-v-hosts' });
    const approvalId = heldOutcome.approvalId as string;
    expect(await h.runtime.store.approvals.get(approvalId)).toMatchObject({ approvers: 2 });

    expect(await vote(approvalId, 'approve', alice)).toMatchObject({
      kind: 'refused',
      code: 'self-approval',
    });
    expect(await vote(approvalId, 'approve', bob)).toMatchObject({ kind: 'recorded' });
    // Bob again, under another label: the object id says who he is.
    expect(await vote(approvalId, 'approve', { ...bob, label: 'Bob B.' })).toMatchObject({
      kind: 'refused',
      code: 'same-approver',
    });
    await onlyTheDeadlineWaits();
    expect(postsOn(h, machineId, 'isolate')).toEqual([]);
    expect(await vote(approvalId, 'approve', carol)).toMatchObject({ kind: 'approved' });
    const outcome = await outcomeOf(approvalId, 'the two-person isolation');
    expect(outcome).toMatchObject({ outcome: 'succeeded' });
    expect(outcome.approval?.votes.map((v) => v.by)).toEqual([bob.label, carol.label]);
  });

  it('records a break-glass isolation, never holds it, and announces it', async () => {
    const machineId = h.machineId('dc01.contoso.local');
    const order = await h.runtime.submitManual({
      action: 'isolate',
      device: { mdeDeviceId: machineId },
      comment: 'domain admin credentials dumped',
      isolationType: 'Full',
      requestedBy: alice.label,
      overrideReason: 'IR-9: DC is the attacker foothold',
    });
    expect(await outcomeOf(order.requestId, 'the break-glass isolation')).toMatchObject({
      outcome: 'succeeded',
      rule: 'manual',
    });
    expect(h.notes).toContainEqual(
      expect.objectContaining({ event: 'break-glass', requestId: order.requestId, machineId }),
    );
    expect(breakGlass).toContainEqual(
      expect.objectContaining({ requestId: order.requestId, reason: 'IR-9: DC is the attacker foothold' }),
    );
    expect((await h.runtime.store.register.get(machineId))?.provenance.reason).toContain('break-glass');
  });

  /** The register's record of a device this app released before: what a held request finds. */
  const releasedBefore = async (machineId: string) => {
    const written = await h.runtime.store.register.record({
      machineId,
      state: 'released',
      requestId: `earlier-${machineId.slice(0, 8)}`,
      reason: 'released after the earlier incident',
      provenance: {
        requestedBy: { kind: 'caller', name: 'dave@contoso.com' },
        alertSource: 'manual',
        alertId: 'earlier-alert',
        incidentId: null,
        incidentArmId: null,
        policyVersion: 'integration-1',
        mode: 'enforce',
        reason: 'released after the earlier incident',
      },
    });
    if (!written.applied) throw new Error('no record written');
    return written.record;
  };

  it("records held, denied and expired in the device's history, its state as it was", async () => {
    const web1 = h.machineId('web1.contoso.local');
    const before = await releasedBefore(web1);
    const denied = await holdFor('web1.contoso.local', 'drop-on-expiry');
    const held = await h.runtime.store.register.get(web1);
    expect(held).toMatchObject({
      state: 'released',
      requestId: before.requestId,
      provenance: before.provenance,
    });
    expect(held?.history[0]).toMatchObject({
      state: 'released',
      actionId: null,
      reason: expect.stringMatching(
        new RegExp(
          `^held for approval ${denied.approvalId} by approve-then-drop: a person must approve by .*; undecided by then, it is dropped$`,
        ),
      ),
    });
    await vote(denied.approvalId, 'deny', carol, 'the alert was a test');
    await until(() => h.outcomes.some((o) => o.requestId === denied.approvalId), 'the denial');
    const afterDenial = await h.runtime.store.register.get(web1);
    expect(afterDenial?.state).toBe('released');
    expect(afterDenial?.history[0]).toMatchObject({
      state: 'released',
      requestId: denied.approvalId,
      reason: expect.stringContaining(`approval ${denied.approvalId} denied by ${carol.label} at `),
    });
    expect(afterDenial?.history[0].reason).toContain('(the alert was a test); nothing posted');

    const mac = h.machineId('mac-design-01.contoso.local');
    await releasedBefore(mac);
    const expired = await holdFor('mac-design-01.contoso.local', 'escalate-on-expiry');
    advance(31 * MINUTE);
    await until(() => h.outcomes.some((o) => o.requestId === expired.approvalId), 'the escalation on expiry');
    const afterExpiry = await h.runtime.store.register.get(mac);
    expect(afterExpiry?.state).toBe('released');
    expect(afterExpiry?.history.map((step) => step.reason).slice(0, 2)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^approval ${expired.approvalId} expired at .* undecided; approve-then-escalate escalates it on expiry: a person must decide$`,
        ),
      ),
      expect.stringMatching(new RegExp(`^held for approval ${expired.approvalId} `)),
    ]);

    // A device the register never had keeps none: no state would be true of it.
    const lnx = h.machineId('lnx-app-01.contoso.local');
    const unrecorded = await holdFor('lnx-app-01.contoso.local', 'drop-on-expiry');
    await vote(unrecorded.approvalId, 'deny', carol);
    await until(() => h.outcomes.some((o) => o.requestId === unrecorded.approvalId), 'the second denial');
    expect(await h.runtime.store.register.get(lnx)).toBeNull();
  });

  it('withdraws the deadline message once decided, approved or denied, and keeps it while a second approver is awaited', async () => {
    const deadlineOf = (approvalId: string) => approvalDeadlineMessage(approvalId).messageId;
    const scheduled = () => h.runtime.inline?.scheduledIds() ?? [];
    for (const name of ['ws-decided-01', 'ws-decided-02'])
      h.sim.addMachine({ name: `${name}.contoso.local`, osPlatform: 'Windows11' });
    const approved = await holdFor('ws-decided-01.contoso.local', 'isolate-on-expiry');
    const denied = await holdFor('ws-decided-02.contoso.local', 'isolate-on-expiry');
    expect(scheduled()).toEqual(
      expect.arrayContaining([deadlineOf(approved.approvalId), deadlineOf(denied.approvalId)]),
    );
    expect((await vote(approved.approvalId, 'approve', alice)).kind).toBe('approved');
    expect((await vote(denied.approvalId, 'deny', bob)).kind).toBe('denied');
    expect(scheduled()).not.toContain(deadlineOf(approved.approvalId));
    expect(scheduled()).not.toContain(deadlineOf(denied.approvalId));
    await outcomeOf(approved.approvalId, 'the approved isolation');

    const { id: machineId } = h.sim.addMachine({
      name: 'hv-host-02.contoso.local',
      osPlatform: 'WindowsServer2019',
      version: '1809',
      osBuild: 17763,
      tags: ['HyperVHost'],
    });
    const order = await h.runtime.submitManual({
      action: 'isolate',
      device: { mdeDeviceId: machineId },
      comment: 'lateral movement from this host',
      isolationType: 'Full',
      requestedBy: alice.label,
    });
    const twoPerson = (await outcomeOf(order.requestId, 'the two-person hold')).approvalId as string;
    expect((await vote(twoPerson, 'approve', bob)).kind).toBe('recorded');
    expect(scheduled()).toContain(deadlineOf(twoPerson));
    expect((await vote(twoPerson, 'approve', carol)).kind).toBe('approved');
    expect(scheduled()).not.toContain(deadlineOf(twoPerson));
    await outcomeOf(twoPerson, 'the two-person isolation');
  });

  it('refuses at approval time when a protection was added after the request', async () => {
    const { machineId, approvalId } = await holdFor('ws-finance-01.contoso.local', 'isolate-on-expiry');
    // The policy deployed since protects Finance devices: the worker that takes the approved request
    // runs it, on the same store.
    const protectedPolicy = {
      ...APPROVAL_POLICY,
      version: 'integration-2',
      protections: [...APPROVAL_POLICY.protections, { name: 'finance', tags: ['Finance'] }],
    };
    const recorded = recordingReporter();
    const redeployed = createRuntime({
      env: { ...h.sim.env(), MDE_RATE_LIMITS: RATE_LIMITS, MDE_RATE_HEADROOM: '0' },
      policy: loadPolicy({ kind: 'inline', text: JSON.stringify(protectedPolicy) }, null, 'follow'),
      reporter: recorded.reporter,
      timing: compressTiming(0.001),
      store: h.runtime.store,
      clock: { now: () => h.sim.now() },
    });
    try {
      expect(
        (await redeployed.voteOnApproval({ approvalId, verdict: 'approve', reason: 'ok', approver: bob }))
          .kind,
      ).toBe('approved');
      await until(() => recorded.outcomes.some((o) => o.requestId === approvalId), 'the re-decided request');
      expect(recorded.outcomes.find((o) => o.requestId === approvalId)).toMatchObject({
        outcome: 'escalated',
        rule: 'finance',
        approval: { id: approvalId, state: 'approved' },
      });
      expect(postsOn(h, machineId, 'isolate')).toEqual([]);
    } finally {
      await redeployed.close();
    }
  });
});
