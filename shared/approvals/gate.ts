/**
 * The approval hold (dispatch/steps/approval-hold.ts) as the store keeps it: an isolation the policy
 * holds becomes a pending approval with a deadline message on the queue; the request sent on when it
 * is approved posts only while the approval still says so, and only with as many approvers as the
 * policy asks now; a person's override is never held, and is recorded and announced as break-glass.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type ActionRequest, isManualRequest } from '../dispatch/request';
import type { ApprovalGate, GateVerdict } from '../dispatch/steps/approval-hold';
import { truncate } from '../kernel/text';
import type { Machine } from '../mde/types';
import type { ApprovalTerms, Decision } from '../policy/types';
import type { ApprovalRecord } from '../state/store';
import { scheduleDeadline } from './deadline-message';
import { type ApprovalDeps, emit } from './deps';
import type { BreakGlassEvent } from './events';
import { historyNote, noteInRegister } from './register-note';
import { describeVotes } from './wording';

/** Reasons and names are cut so a record always fits its entity. */
const TEXT_MAX = 1_000;

export class StoreApprovalGate implements ApprovalGate {
  constructor(private readonly deps: ApprovalDeps) {}

  async judge(request: ActionRequest, machine: Machine, decision: Decision): Promise<GateVerdict> {
    const override = isManualRequest(request) ? request.alert.manual?.overrideReason : undefined;
    if (override !== undefined) return this.breakGlass(request, machine, decision, override);
    if (request.approval) return this.released(request, machine, decision);
    if (!decision.approval) return { kind: 'post' };
    return this.hold(request, machine, decision, decision.approval);
  }

  private async breakGlass(
    request: ActionRequest,
    machine: Machine,
    decision: Decision,
    reason: string,
  ): Promise<GateVerdict> {
    const { reporter, clock, events } = this.deps;
    const { alert } = request;
    const event: BreakGlassEvent = {
      requestId: request.requestId,
      machineId: machine.id,
      computerDnsName: machine.computerDnsName,
      requestedBy: request.requestedBy.name,
      reason,
      alertId: alert.alertId,
      alert: {
        title: truncate(alert.title, TEXT_MAX),
        severity: alert.severity,
        incidentId: alert.incidentId,
        incidentArmId: alert.incidentArmId ?? null,
      },
      rule: decision.rule,
      decision: truncate(decision.reason, TEXT_MAX),
      at: new Date(clock.now()).toISOString(),
      ...(request.tenantId !== undefined && { tenantId: request.tenantId }),
    };
    reporter.note('warn', {
      event: 'break-glass',
      requestId: event.requestId,
      machineId: event.machineId,
      computerDnsName: event.computerDnsName,
      alertId: event.alertId,
      requestedBy: request.requestedBy,
      reason,
    });
    await emit(this.deps, 'break-glass', () => events.breakGlass(event));
    return { kind: 'post', note: `break-glass by ${request.requestedBy.name}, never held for approval` };
  }

  /** The request an approval sent on: it posts only while that approval lets it. */
  private async released(request: ActionRequest, machine: Machine, decision: Decision): Promise<GateVerdict> {
    const id = request.approval?.id ?? '';
    const record = await this.deps.store.approvals.get(id);
    const lets =
      record !== null &&
      record.machineId === machine.id &&
      (record.state === 'approved' || (record.state === 'expired' && record.onExpiry === 'isolate'));
    if (!record || !lets)
      return {
        kind: 'end',
        outcome: 'skipped',
        rule: 'approval',
        reason: `approval ${id} ${record ? `is ${record.state}` : 'is not in the store'}: nothing posted`,
      };
    const needed = decision.approval?.approvers ?? 1;
    const approvers = record.votes.filter((v) => v.verdict === 'approve').length;
    if (record.state === 'approved' && approvers < needed)
      return {
        kind: 'end',
        outcome: 'escalated',
        rule: decision.approval?.askedBy ?? 'approval',
        reason: `the policy now asks ${needed} approvers for this device and approval ${id} had ${approvers}; a person must decide`,
      };
    return {
      kind: 'post',
      note:
        record.state === 'approved'
          ? `approval ${id}: ${describeVotes(record.votes)}`
          : `approval ${id} expired at ${record.deadline} undecided; ${record.askedBy} isolates on expiry`,
    };
  }

  /** A new approval, or the one already pending for the machine, which this request waits with. */
  private async hold(
    request: ActionRequest,
    machine: Machine,
    decision: Decision,
    terms: ApprovalTerms,
  ): Promise<GateVerdict> {
    const { store, queue, clock, reporter, events } = this.deps;
    const pending = await store.approvals.pendingFor(machine.id);
    if (pending)
      return {
        kind: 'end',
        outcome: 'awaiting-approval',
        rule: terms.askedBy,
        approvalId: pending.id,
        reason: `approval ${pending.id} already asks about this device until ${pending.deadline}; decided with it`,
      };
    const now = clock.now();
    const record: ApprovalRecord = {
      id: randomUUID(),
      state: 'pending',
      machineId: machine.id,
      computerDnsName: machine.computerDnsName,
      device: request.device,
      alert: {
        source: request.alert.source,
        alertId: request.alert.alertId,
        incidentId: request.alert.incidentId,
        incidentArmId: request.alert.incidentArmId ?? null,
        severity: request.alert.severity,
        title: truncate(request.alert.title, TEXT_MAX),
      },
      askedBy: terms.askedBy,
      reason: truncate(decision.reason, TEXT_MAX),
      requestedBy: request.requestedBy,
      approvers: terms.approvers,
      onExpiry: terms.onExpiry,
      createdAt: new Date(now).toISOString(),
      deadline: new Date(now + terms.expiresAfterMs).toISOString(),
      votes: [],
      endedAt: null,
      followedBy: null,
      request: JSON.stringify(request),
      pageKey: randomBytes(32).toString('base64url'),
    };
    // Scheduled first, so the row is born with what withdraws it; a row never written leaves a no-op.
    const deadline = await scheduleDeadline(queue, record);
    await store.approvals.update(record.id, () => ({ next: { ...record, ...deadline }, result: undefined }));
    reporter.note('info', {
      event: 'approval-pending',
      approvalId: record.id,
      requestId: request.requestId,
      machineId: machine.id,
      rule: terms.askedBy,
      until: record.deadline,
    });
    await noteInRegister(this.deps, record, request.requestId, 'held');
    await emit(this.deps, 'approval-pending', () => events.approvalPending(record));
    return {
      kind: 'end',
      outcome: 'awaiting-approval',
      rule: terms.askedBy,
      approvalId: record.id,
      reason: historyNote(record, 'held'),
    };
  }
}
