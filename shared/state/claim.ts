/**
 * The lease rule of every claim held in the store (docs/decisions/0013-claims-with-leases.md): a
 * device key's open request and a machine's pre-POST claim both name the request that holds them and
 * the process (holder) acting for it. A claim holds while it is not closed and its holder's lease runs;
 * each process renews its one holder lease on a timer and ends it when it stops, so a process that
 * dies lets go of all its claims within one lease, whoever else is running, and nothing waits days
 * for a close that will never come.
 */

/** Who holds a claim, and until when as far as is known. */
export interface Holding {
  /** The process acting for the request (its holder lease's id), whose lease the claim lives by. */
  holder: string;
  /**
   * Epoch ms until which the holder's lease is known to run, as read with the claim (0 when it
   * ended or nothing is known). Never stored with the claim: the holder's lease row says it.
   */
  heldUntil: number;
}

export interface Claim extends Holding {
  /** The request the claim is held for: only it closes the claim. */
  requestId: string;
  closedAt: string | null;
}

/** Whether `claim` still holds at `now`: not closed, and its holder is alive. */
export function isHeld(claim: Claim | null, now: number): boolean {
  return claim !== null && claim.closedAt === null && claim.heldUntil > now;
}

/**
 * The holder leases of every process sharing the store: one row per process, renewed by its timer.
 * A lease only grows while its process runs, so an answer of `liveUntil` stays true until then.
 */
export interface HolderLeases {
  /** The holder's lease runs until `until` (epoch ms). */
  renew(holder: string, until: number): Promise<void>;
  /** The holder stopped: every claim it holds is free at once. */
  end(holder: string): Promise<void>;
  /** Epoch ms until which the holder's lease is known to run (0: ended or unknown). */
  liveUntil(holder: string): Promise<number>;
}

export type ClaimAnswer = { taken: true } | { taken: false; by: Claim };

/** A machine's claims before a POST: one request at a time checks MDE and posts, across processes. */
export interface MachineClaims {
  /**
   * Takes the machine for `requestId` (held by `holder`) unless another request holds it: a
   * conditional write, so two processes never both take it. A request takes back its own claim
   * through the same holder only: a copy of it redelivered to another process waits.
   */
  take(machineId: string, requestId: string, holder: string): Promise<ClaimAnswer>;
  /**
   * The request is done with the machine; a claim held by another request, or by another holder for
   * the same request (it took the claim over once this holder's lease lapsed), is left alone.
   */
  release(machineId: string, requestId: string, holder: string): Promise<void>;
}
