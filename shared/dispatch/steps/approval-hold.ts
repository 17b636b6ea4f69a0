/**
 * The approval hold: the step between the worker's decision on the machine and its POST, where an
 * isolation a rule or protection puts to people waits for them (shared/approvals/, wired by the
 * composition root). Dispatch owns the contract and knows nothing else of approvals; without a gate,
 * nothing is held.
 */
import type { Machine } from '../../mde/types';
import type { Decision } from '../../policy/types';
import type { ActionRequest } from '../request';
import { go, outcome, type Step } from './ending';
import type { Plan, Target, WorkerDeps } from './life';

/** Whether an isolation the policy decided on its machine posts now, and what the register adds. */
export type GateVerdict =
  /** Post: `note`, when given, leads the reason the register keeps (who approved, break-glass). */
  | { kind: 'post'; note?: string }
  /** The request ends here, held or refused. */
  | {
      kind: 'end';
      outcome: 'awaiting-approval' | 'skipped' | 'escalated';
      rule: string;
      reason: string;
      approvalId?: string;
    };

export interface ApprovalGate {
  judge(request: ActionRequest, machine: Machine, decision: Decision): Promise<GateVerdict>;
}

export const NO_APPROVAL_GATE: ApprovalGate = { judge: async () => ({ kind: 'post' }) };

/**
 * Step 10½: `plan` as it posts, or the ending that holds or refuses it. A release (no decision) is
 * never held: it ends an isolation, which a person or time box asked for.
 */
export async function holdForApproval(
  deps: Pick<WorkerDeps, 'approvals'>,
  { request, machine }: Target,
  plan: Plan,
): Promise<Step<Plan>> {
  if (!plan.decision) return go(plan);
  const verdict = await deps.approvals.judge(request, machine, plan.decision);
  if (verdict.kind === 'post')
    return go(verdict.note ? { ...plan, reason: `${verdict.note}; ${plan.reason}` } : plan);
  const { kind: _kind, ...details } = verdict;
  return outcome(request, { ...details, machineId: machine.id, computerDnsName: machine.computerDnsName });
}
