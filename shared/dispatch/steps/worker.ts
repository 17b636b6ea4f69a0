/**
 * A request's life, top to bottom (docs/architecture.md §12). Each step is a function with one job in
 * its own module; it answers "go on with this" or an ending (ending.ts), which the lifecycle carries
 * out at once, inside the scopes the step ran in. The scopes are opened here: the reservation of every
 * MDE call the request may make (so it runs through or is rescheduled whole), this process's machine
 * lock, the machine's claim in the store. A step that throws is a failure the lifecycle plans for
 * (retry, deferral, dead letter); when the state store cannot be reached nothing is posted.
 *
 *   1. followedAlready   resume.ts        its own action is under way: tracked again
 *   2. timeBoxDue        time-box.ts      a time-box release waits for its (extended) end
 *   3. claimDeviceKey    device-key.ts    holds the device key, or is absorbed, or waits behind another
 *  3b. absorbedInForce isolation-in-force.ts a late alert: this app's isolation in force, MDE agrees
 *   4. reserveCalls      call-budget.ts   every MDE call it may make, or it waits for budget
 *   5. resolveDevice     resolution.ts    one MDE machine exactly, or escalated
 *      ── machine lock (machine-hold.ts)
 *   6. decideOnMachine   decide.ts        policy stage 2, renewal, release provenance, time box outlived
 *   7. endAsDryRun       dry-run-end.ts   a dry run says what enforce would do, and ends
 *      ── machine claim (machine-hold.ts)
 *   8. actionsUnderWay   prior-actions.ts MDE's list and the ledger, or refused when the list is too long
 *   9. heldByLedger      prior-actions.ts another request follows an action on this machine
 *  10. answeredByHistory prior-actions.ts MDE's list answers it: adopt (follow.ts), skip, or refuse
 *  11. holdForApproval  approval-hold.ts an isolation people must approve first: held, or refused
 *  12. admitToBreaker    admit.ts         the blast-radius breaker's slot (and the deployment cap's),
 *                                          or escalated, or waits
 *  13. post              post.ts          the POST, then tracked (follow.ts); refused: escalated or adopted
 */
import { withReservation } from '../quota/current-reservation';
import type { ActionRequest } from '../request';
import { admitToBreaker } from './admit';
import { holdForApproval } from './approval-hold';
import { reserveCalls } from './call-budget';
import { decideOnMachine } from './decide';
import { claimDeviceKey } from './device-key';
import { dryRunCause, endAsDryRun } from './dry-run-end';
import { type Ending, isEnding, type Step } from './ending';
import type { Plan, Target, WorkerDeps } from './life';
import { MachineLocks, withMachineClaim } from './machine-hold';
import { post } from './post';
import { actionsUnderWay, answeredByHistory, heldByLedger } from './prior-actions';
import { resolveDevice } from './resolution';
import { followedAlready } from './resume';
import { timeBoxDue } from './time-box';

export class IsolationWorker {
  private readonly machineLocks = new MachineLocks();

  constructor(private readonly deps: WorkerDeps) {}

  async act(queued: ActionRequest): Promise<void> {
    const { lifecycle } = this.deps;
    let request: ActionRequest;
    try {
      const claimed = await this.untilClaimed(queued);
      if (isEnding(claimed)) {
        // Its place in the quota's waiting lines, if a deferral left one, is free for others.
        this.deps.throttle.forget(queued.requestId);
        return await this.end(claimed);
      }
      // The mark of a copy that never reserved (resume.ts) holds only until it reserves.
      const { unreserved: _, ...go } = claimed.go;
      request = go;
      const absorbed = await this.deps.inForce.absorbed(request);
      if (absorbed) return await this.end(absorbed);
    } catch (error) {
      await lifecycle.failed(queued, error);
      return;
    }
    const reserved = reserveCalls(this.deps, request);
    if (isEnding(reserved)) return this.end(reserved);
    const reservation = reserved.go;
    try {
      // Every MDE call made inside spends this reservation (quota/current-reservation.ts): the
      // resolver's lookups, the check for actions under way and the POST.
      await withReservation(reservation, () => this.onMachine(request));
    } catch (error) {
      await lifecycle.failed(request, error);
    } finally {
      reservation.close();
    }
  }

  /** Steps 1–3: before the request holds anything but its device key. */
  private async untilClaimed(queued: ActionRequest): Promise<Step<ActionRequest>> {
    return (
      (await followedAlready(this.deps.store, queued)) ??
      (await timeBoxDue(this.deps, queued)) ??
      claimDeviceKey(this.deps, queued)
    );
  }

  /** Step 5, within the reservation; then the machine's steps, under this process's lock on it. */
  private async onMachine(request: ActionRequest): Promise<void> {
    const resolved = await resolveDevice(this.deps.resolver, request);
    if (isEnding(resolved)) return this.end(resolved);
    const target = resolved.go;
    this.deps.inForce.noteResolved(request, target.machine);
    await this.machineLocks.run(target.machine.id, () => this.decideAndPost(target));
  }

  /** Steps 6–7; then steps 8–13, holding the machine's claim in the store. */
  private async decideAndPost(target: Target): Promise<void> {
    const decided = await decideOnMachine(this.deps, target);
    if (isEnding(decided)) return this.end(decided);
    const plan = decided.go;
    const dryRunBy = dryRunCause(this.deps, target, plan);
    if (dryRunBy) return this.end(await endAsDryRun(this.deps, target, plan, dryRunBy));
    const busy = await withMachineClaim(this.deps, target, (term) => this.checkAndPost(target, plan, term));
    if (busy) return this.end(busy);
  }

  /** Steps 8–13, holding the machine's claim. */
  private async checkAndPost(target: Target, plan: Plan, term: number): Promise<void> {
    const seen = await actionsUnderWay(this.deps, target);
    if (isEnding(seen)) return this.end(seen);
    const held = await heldByLedger(this.deps, target, seen.go);
    if (held) return this.end(held);
    const answered = await answeredByHistory(this.deps, target, plan, seen.go);
    if (answered) return this.end(answered);
    const approved = await holdForApproval(this.deps, target, plan);
    if (isEnding(approved)) return this.end(approved);
    const slot = await admitToBreaker(this.deps, target);
    if (isEnding(slot)) return this.end(slot);
    await this.end(await post(this.deps, target, approved.go, slot.go, term));
  }

  private end(ending: Ending): Promise<void> {
    return this.deps.lifecycle.end(ending);
  }
}
