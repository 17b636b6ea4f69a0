/**
 * What intake hands decided alerts to. Owned by dispatch, which implements it, so intake (the room
 * above) depends on dispatch and never the reverse.
 */
import type { NormalizedAlert } from '../alerts/model';
import type { Decision } from '../policy/types';

/** One isolation request dispatch accepted for a decision (or recognized as already queued). */
export interface SubmittedRequest {
  requestId: string;
  deviceKey: string;
  /** Index into the decisions passed to `submit`. */
  decisionIndex: number;
  /** True when an identical request was already queued (duplicate detection collapsed this one). */
  duplicate: boolean;
}

/** Where decided alerts go; dispatch implements it (enqueue isolation requests). Throws when it cannot accept. */
export interface DecisionSink {
  submit(alert: NormalizedAlert, decisions: Decision[]): Promise<SubmittedRequest[]>;
}
