/**
 * Approval decisions in the device's register history (issue 24: "every decision (who, when, why) is
 * recorded in the register's history"): held, denied, expired. Nothing was posted, so the record keeps
 * its state (a held device is not isolated); a device the register has no record of gets none, its
 * approval row and the outcome being its record. An approved isolation is in the history already, on
 * the step that posted it (dispatch/steps/register.ts).
 */
import { errorMessage } from '../kernel/errors';
import { type ApprovalRecord, ISOLATION_STATES, type StateStore } from '../state/store';
import type { ApprovalDeps } from './deps';
import { heldTenant } from './views';
import { describeVotes, expiryText } from './wording';

const ON_EXPIRY: Record<ApprovalRecord['onExpiry'], string> = {
  isolate: 'isolates it on expiry: the request goes on, decided again',
  drop: 'drops it on expiry: nothing posted',
  escalate: 'escalates it on expiry: a person must decide',
};

/** How a step of an approval reads in the history. */
export function historyNote(record: ApprovalRecord, step: 'held' | 'denied' | 'expired'): string {
  switch (step) {
    case 'held':
      return `held for approval ${record.id} by ${record.askedBy}: ${record.approvers === 2 ? 'two different people' : 'a person'} must approve by ${record.deadline}; ${expiryText(record.onExpiry)}`;
    case 'denied':
      return `approval ${record.id} ${describeVotes(record.votes)}; nothing posted`;
    case 'expired':
      return `approval ${record.id} expired at ${record.deadline} undecided; ${record.askedBy} ${ON_EXPIRY[record.onExpiry]}`;
  }
}

/**
 * The register of the tenant the held request acts in (its queue message names it); null when the
 * tenant is no longer served here.
 */
function registerOf(deps: ApprovalDeps, record: ApprovalRecord): StateStore['register'] | null {
  const tenantId = heldTenant(record);
  return tenantId !== null && deps.tenantRegister ? deps.tenantRegister(tenantId) : deps.store.register;
}

/**
 * Adds the entry under `requestId` (the held request's, or the approval's once decided). A store that
 * does not answer costs the entry and one warning, never the approval: its row keeps every decision.
 */
export async function noteInRegister(
  deps: ApprovalDeps,
  record: ApprovalRecord,
  requestId: string,
  step: 'held' | 'denied' | 'expired',
): Promise<void> {
  try {
    const register = registerOf(deps, record);
    if (!register) throw new Error('its tenant is no longer in the tenant list (MDE_TENANTS)');
    await register.record(
      { machineId: record.machineId, requestId, note: historyNote(record, step) },
      { onlyFrom: ISOLATION_STATES },
    );
  } catch (error) {
    deps.reporter.note('warn', {
      event: 'approval-not-in-register',
      approvalId: record.id,
      machineId: record.machineId,
      step,
      why: errorMessage(error),
    });
  }
}
