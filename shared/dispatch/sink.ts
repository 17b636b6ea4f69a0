/**
 * What intake hands decided alerts to. Owned by dispatch, which implements it, so intake (the room
 * above) depends on dispatch and never the reverse.
 */
import type { NormalizedAlert } from '../alerts/model';
import type { BreakerState, Decision } from '../policy/types';

/** One isolation request dispatch accepted for a decision (or recognized as already queued). */
export interface SubmittedRequest {
  requestId: string;
  deviceKey: string;
  /** Index into the decisions passed to `submit`. */
  decisionIndex: number;
  /**
   * True when the device's open request absorbed this one (docs/architecture.md §4.7): it was not
   * queued, its outcome (`coalesced`) is already reported, and `carriedBy` names the request that
   * decides the device.
   */
  duplicate: boolean;
  carriedBy?: string;
}

/**
 * Where decided alerts go; dispatch implements it (enqueue isolation requests) over the shared state
 * store, whose blast-radius breaker intake decides with. Every method throws when it cannot do its
 * part (the store or the queue is down): the alert is then not accepted and its sender retries.
 */
export interface DecisionSink {
  /** The shared breaker now, which stage-1 decisions take as input. */
  breakerState(): Promise<BreakerState>;
  /** Opens the shared breaker for every process: one alert named more devices than allowed. */
  openBreaker(reason: string): Promise<void>;
  submit(alert: NormalizedAlert, decisions: Decision[]): Promise<SubmittedRequest[]>;
}
