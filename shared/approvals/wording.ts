/** How approvals read in reasons, records and the page: one sentence each. */
import type { OnExpiry } from '../policy/document';
import type { ApprovalVote } from '../state/store';

export function expiryText(onExpiry: OnExpiry): string {
  switch (onExpiry) {
    case 'isolate':
      return 'undecided by then, it isolates';
    case 'drop':
      return 'undecided by then, it is dropped';
    case 'escalate':
      return 'undecided by then, it is escalated to a person';
  }
}

/** "approved by A at T (why) and by B at T (why)". */
export function describeVotes(votes: ApprovalVote[]): string {
  return votes
    .map((v) => `${v.verdict === 'approve' ? 'approved' : 'denied'} by ${v.by} at ${v.at} (${v.reason})`)
    .join(', ');
}
