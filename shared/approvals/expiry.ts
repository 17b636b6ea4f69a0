/**
 * An approval's deadline message (dispatch/approval-deadline.ts). A pending approval expires and its
 * policy's `onExpiry` applies, which its outcome names; an approved one whose request the queue did
 * not take is sent on now; anything else has moved on and the message does nothing.
 */
import type { ApprovalDeadline } from '../dispatch/approval-deadline';
import { type ApprovalRecord, LIST_MAX } from '../state/store';
import { reportEnd, sendOn } from './continuation';
import { scheduleDeadline } from './deadline-message';
import type { ApprovalDeps } from './deps';
import { noteInRegister } from './register-note';

type Step = 'expired' | 'early' | 'unsent' | 'moved-on';

export async function expireApproval(deps: ApprovalDeps, deadline: ApprovalDeadline): Promise<void> {
  const now = deps.clock.now();
  const { step, record } = await deps.store.approvals.update(deadline.requestId, (current) => {
    const answer = (s: Step, next: ApprovalRecord | null = null) => ({
      next,
      result: { step: s, record: next ?? current },
    });
    if (!current) return answer('moved-on');
    if (current.state === 'approved' && current.followedBy === null) return answer('unsent');
    if (current.state !== 'pending') return answer('moved-on');
    if (now < Date.parse(current.deadline)) return answer('early');
    return answer('expired', { ...current, state: 'expired', endedAt: new Date(now).toISOString() });
  });
  if (!record || step === 'moved-on') return;
  if (step === 'early') {
    const { deadlineMessage } = await scheduleDeadline(deps.queue, record);
    // Decided meanwhile: the vote withdrew the old message, and this one will find nothing to do.
    await deps.store.approvals.update(record.id, (current) => ({
      next: current?.state === 'pending' ? { ...current, deadlineMessage } : null,
      result: undefined,
    }));
    return;
  }
  if (step === 'expired') await noteInRegister(deps, record, record.id, 'expired');
  if (step === 'unsent' || record.onExpiry === 'isolate') {
    await sendOn(deps, record);
    return;
  }
  const expired = `approval ${record.id} expired at ${record.deadline} with nobody deciding`;
  if (record.onExpiry === 'drop')
    reportEnd(deps, record, 'skipped', `${expired}; ${record.askedBy} drops it on expiry: nothing posted`);
  else
    reportEnd(
      deps,
      record,
      'escalated',
      `${expired}; ${record.askedBy} escalates it on expiry: a person must decide`,
    );
}

/**
 * The net under lost deadline messages (an inline process, the CLI, that held an isolation and ended
 * with its queue): every pending approval past its deadline expires as its message would have done.
 * Run with each reconciliation; answers how many it expired.
 */
export async function expireOverdueApprovals(deps: ApprovalDeps): Promise<number> {
  const now = deps.clock.now();
  const overdue = (await deps.store.approvals.list({ state: 'pending', limit: LIST_MAX })).filter(
    (a) => Date.parse(a.deadline) <= now,
  );
  for (const approval of overdue)
    await expireApproval(deps, { action: 'approval-deadline', requestId: approval.id });
  return overdue.length;
}
