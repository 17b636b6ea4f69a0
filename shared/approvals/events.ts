/**
 * What approvals tell people, as events another part delivers (notifications: Teams, Slack, webhooks).
 * Approvals only call these, after the approval or the isolation is recorded; the default does
 * nothing. A failing channel never holds an isolation back: the caller catches and notes it.
 */
import type { BreakGlassFacts } from '../notify/from-approvals';
import type { ApprovalRecord } from '../state/store';

/**
 * A person's isolation that waived a protection (`override` with a reason): reviewed after the fact.
 * Its shape is the notifications' (the room below this one), so one definition serves both.
 */
export type BreakGlassEvent = BreakGlassFacts;

export interface ApprovalEvents {
  /** An isolation is held for approval: who may approve, by when, and what happens then. */
  approvalPending(approval: ApprovalRecord): Promise<void>;
  /** An isolation went out on a person's override, never held. */
  breakGlass(event: BreakGlassEvent): Promise<void>;
}

export const NO_APPROVAL_EVENTS: ApprovalEvents = {
  approvalPending: async () => undefined,
  breakGlass: async () => undefined,
};
