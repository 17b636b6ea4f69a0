/**
 * A late alert (its device's request ended, its isolation in force) ends absorbed into that isolation
 * without a lookup and without a slot of the isolate quota, on a read of MDE's list it shares with
 * other requests (docs/decisions/0023-deferred-requests-come-forward.md). Without it, every alert of a
 * long storm arriving after its device's request closed opens a new request that resolves the device
 * again and waits for an isolate slot, only to end "already isolated", and the lookup quota caps the
 * storm.
 *
 * First the app's own belief: the register says `isolated` by this app with an end (`expiresAt`,
 * expiry.ts) still ahead, and the action ledger shows that isolation as the machine's newest action,
 * succeeded, with nothing of this app's under way. A release this app posted shows in both, so it is
 * never skipped over. Someone else's release (an analyst in the portal) shows in neither until the
 * reconciler corrects the register, so the belief alone never skips an alert: the request is judged
 * exactly as the worker's duplicate check would, on MDE's list read after its receipt, in the batched
 * read (recent-actions.ts). This app's isolation still the one in force: absorbed (`skipped`, the
 * outcome the duplicate check gives, naming the isolation and its request); anything else (a
 * release since, someone else's action): the whole worker path decides. A request received before the
 * isolation was posted is left to the worker too, which adopts that isolation as its answer.
 *
 * Which machine a device key names is kept from the worker's resolutions for as long as that
 * machine's isolation is in force, and only used here: a kept name never decides where an action is
 * posted, and the read that absorbs names the machine by its id.
 */
import type { Clock } from '../../kernel/clock';
import type { Machine } from '../../mde/types';
import type { IsolationPolicy } from '../../policy/types';
import type { IsolationRecord, StateStore } from '../../state/store';
import { withReservation } from '../quota/current-reservation';
import { Reservation } from '../quota/reservation';
import type { MdeThrottle } from '../quota/throttle';
import { type ActionRequest, isManualRequest } from '../request';
import { keyOf } from './coalesce';
import { type Ending, outcome } from './ending';
import { judgePriorActions } from './idempotency';
import type { RecentActions } from './recent-actions';

/** Device keys whose machine is kept; past this the oldest goes (it costs that device a lookup). */
export const KEPT_MACHINES_MAX = 50_000;

export interface IsolationInForceDeps {
  store: StateStore;
  policy: IsolationPolicy;
  clock: Clock;
  throttle: MdeThrottle;
  recent: RecentActions;
  /** How long MDE lets an isolation last (expiry.ts). */
  platformLiftMs: number;
}

/** The isolation of this app in force on a machine, as its register and ledger say. */
interface OwnIsolation {
  record: IsolationRecord;
  actionId: string;
  until: string;
  /** Action ids of the machine's ledger: what this app posted or followed. */
  followed: ReadonlySet<string>;
}

export class IsolationInForce {
  /** Device key → machine id, in the order noted (the oldest first). */
  private readonly machines = new Map<string, string>();

  constructor(private readonly deps: IsolationInForceDeps) {}

  /** The worker resolved `request`'s device to `machine`. */
  noteResolved(request: ActionRequest, machine: Machine): void {
    const key = keyOf(request);
    this.machines.delete(key);
    this.machines.set(key, machine.id);
    if (this.machines.size > KEPT_MACHINES_MAX) {
      const oldest = this.machines.keys().next().value;
      if (oldest !== undefined) this.machines.delete(oldest);
    }
  }

  /**
   * Step 3b of a request's life (worker.ts): `request` ends absorbed into the isolation in force on
   * the machine kept for its device key, if there is one by the rules above; null when it goes on.
   */
  async absorbed(request: ActionRequest): Promise<Ending | null> {
    if (!this.mayAbsorb(request)) return null;
    const key = keyOf(request);
    const machineId = this.machines.get(key);
    if (machineId === undefined) return null;
    const isolation = await this.ownIsolation(machineId);
    if (!isolation) {
      // Not in force (any more): the name is kept only while it is.
      this.machines.delete(key);
      return null;
    }
    const { record, actionId, until } = isolation;
    if (!(Date.parse(request.receivedAt) > Date.parse(record.postedAt ?? ''))) return null;
    if (!(await this.stillInForce(request, machineId, isolation))) return null;
    return outcome(request, {
      outcome: 'skipped',
      machineId,
      computerDnsName: record.computerDnsName,
      actionId,
      reason: `already isolated by this app's action ${actionId} (request ${record.requestId}), in force until ${until}; MDE lists nothing since: absorbed into it`,
    });
  }

  /**
   * MDE's list, read after the request's receipt in a read shared with others, shows this app's
   * isolation still the one in force: the duplicate check's judgement. False also when the budget
   * has no machineactions call now (the worker's path then waits for it).
   */
  private async stillInForce(request: ActionRequest, machineId: string, isolation: OwnIsolation) {
    const { throttle, recent, clock, platformLiftMs } = this.deps;
    const reservation = throttle.reserve({ machineactions: 1 }, request.priority, request.requestId);
    if (!(reservation instanceof Reservation)) return false;
    try {
      const history = await withReservation(reservation, () => recent.of(machineId));
      if (history === null) return false;
      const judged = judgePriorActions('isolate', history, { now: clock.now(), platformLiftMs }, (action) =>
        isolation.followed.has(action.id),
      );
      return judged.kind === 'skip' && judged.action.id === isolation.actionId;
    } finally {
      reservation.close();
    }
  }

  /**
   * Only what the duplicate check would skip and nothing else would decide otherwise: an automatic
   * isolate in enforce mode, not a renewal at the lift. A person's order is always checked with MDE.
   */
  private mayAbsorb(request: ActionRequest): boolean {
    return (
      request.action === 'isolate' &&
      request.mode === 'enforce' &&
      this.deps.policy.modeFor(request.alert) === 'enforce' &&
      request.renewal === undefined &&
      !isManualRequest(request)
    );
  }

  private async ownIsolation(machineId: string): Promise<OwnIsolation | null> {
    const { store, clock } = this.deps;
    // The record as this process last wrote it (its tracking ended the isolation here) will do: a copy
    // gone stale only makes the belief wrong, and MDE's list, read after the request's receipt, judges.
    const record = await store.register.get(machineId, { fromCopy: true });
    if (record?.state !== 'isolated' || !record.expiresAt) return null;
    if (!(Date.parse(record.expiresAt) > clock.now())) return null;
    const [action] = record.actions;
    if (action?.type !== 'Isolate' || action.status !== 'Succeeded') return null;
    const ledger = await store.actions.forMachine(machineId);
    const [newest] = ledger;
    if (ledger.some((entry) => entry.open) || newest?.actionId !== action.actionId) return null;
    if (newest.type !== 'Isolate' || newest.status !== 'Succeeded') return null;
    const followed = new Set(ledger.map((entry) => entry.actionId));
    return { record, actionId: action.actionId, until: record.expiresAt, followed };
  }
}
