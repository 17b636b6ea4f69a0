/**
 * What the steps of a request's life (worker.ts) share: their dependencies, the request on its
 * resolved machine, and the plan it posts.
 */
import type { Clock } from '../../kernel/clock';
import type { MdeApi } from '../../mde/api';
import type { AppIdentity } from '../../mde/app-identity';
import type { Machine } from '../../mde/types';
import type { BreakerState, Decision, IsolationPolicy } from '../../policy/types';
import type { IncidentReader } from '../../sentinel/incidents';
import type { StateStore } from '../../state/store';
import type { ClaimKeeper } from '../claim-keeper';
import type { MdeThrottle } from '../quota/throttle';
import type { ActionRequest } from '../request';
import type { DispatchTiming } from '../timing';
import type { RequestQueue } from '../transport/queue';
import type { ApprovalGate } from './approval-hold';
import type { DeploymentCap } from './blast-radius';
import type { AsOf } from './expiry';
import type { IsolationInForce } from './isolation-in-force';
import type { RequestLifecycle } from './lifecycle';
import type { RecentActions } from './recent-actions';
import type { DeviceResolver } from './resolve';

export interface WorkerDeps {
  /**
   * The breaker as the device decision sees it: a recent view when closed (the reserve before the
   * POST is the gate), read afresh when open, so a reset is never missed (dispatcher.ts).
   */
  breakerState(): Promise<BreakerState>;
  api: MdeApi;
  policy: IsolationPolicy;
  queue: RequestQueue;
  throttle: MdeThrottle;
  resolver: DeviceResolver;
  store: StateStore;
  lifecycle: RequestLifecycle;
  timing: DispatchTiming;
  clock: Clock;
  /** The pre-POST history check, read for many machines at once. */
  recent: RecentActions;
  /** Who this app is to MDE: whose isolation a release would end (provenance.ts). */
  identity: Pick<AppIdentity, 'clientId'>;
  /** This process's holder lease, which the device key's and the machine's claims live by. */
  claims: ClaimKeeper;
  /** How long MDE lets an isolation last (expiry.ts): past it, an isolation is not in force. */
  platformLiftMs: number;
  /** Whether a Sentinel incident is still open, for a renewal (renewal.ts). */
  incidents: IncidentReader;
  /** Ends a late alert's request absorbed into the isolation in force, without a lookup or an isolate slot. */
  inForce: IsolationInForce;
  /** Holds the isolations people must approve first (approval-hold.ts). */
  approvals: ApprovalGate;
  /** The cap across tenants every automatic isolate reserves in besides its breaker (admit.ts); null: none. */
  deploymentCap: DeploymentCap | null;
}

/** One request on its resolved machine, as the steps pass it on. */
export interface Target {
  request: ActionRequest;
  verb: 'isolate' | 'release';
  machine: Machine;
}

/** What the worker posts: the device-level decision (none for a release), its comment and reason. */
export interface Plan {
  decision: Decision | null;
  comment: string;
  reason: string;
}

/** The machine an outcome names. */
export function where(machine: Machine) {
  return { machineId: machine.id, computerDnsName: machine.computerDnsName };
}

/** Now, for what is in force (expiry.ts). */
export function asOf({ clock, platformLiftMs }: Pick<WorkerDeps, 'clock' | 'platformLiftMs'>): AsOf {
  return { now: clock.now(), platformLiftMs };
}
