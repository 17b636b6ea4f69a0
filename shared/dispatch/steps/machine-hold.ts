/**
 * One request per machine at a time: two alerts naming the same device by different names must not
 * both see "nothing under way" and both post. The lock orders this process's requests; the machine's
 * claim in the store (state/claim.ts) keeps other processes out (another name of the device, the CLI
 * on the app's storage, an overlapping deployment).
 */
import { deferred, type Ending } from './ending';
import type { Target, WorkerDeps } from './life';

/** This process's requests on one machine, one after the other. */
export class MachineLocks {
  private readonly locks = new Map<string, Promise<void>>();

  async run(machineId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(machineId) ?? Promise.resolve();
    const current = previous.then(work, work);
    const settled = current.catch(() => undefined);
    this.locks.set(machineId, settled);
    try {
      await current;
    } finally {
      if (this.locks.get(machineId) === settled) this.locks.delete(machineId);
    }
  }
}

/**
 * Runs `work` holding the machine's claim in the store. While another request holds it, this one
 * waits a little: the deferral is answered and `work` does not run.
 */
export async function withMachineClaim(
  { store, claims, clock, timing }: Pick<WorkerDeps, 'store' | 'claims' | 'clock' | 'timing'>,
  { request, machine }: Target,
  work: (term: number) => Promise<void>,
): Promise<Ending | null> {
  const { holder } = await claims.holding();
  const { term } = claims;
  const answer = await store.machineClaims.take(machine.id, request.requestId, holder);
  if (!answer.taken)
    return deferred(
      request,
      Math.min(answer.by.heldUntil, clock.now() + timing.transientBaseMs),
      `request ${answer.by.requestId} is checking or posting to machine ${machine.id}; asked again once it is done`,
    );
  try {
    await work(term);
  } finally {
    await claims.close(`machine:${machine.id}:${request.requestId}`, () =>
      store.machineClaims.release(machine.id, request.requestId, holder),
    );
  }
  return null;
}
