/**
 * "Exactly once per device" without an idempotency key from MDE (docs/mde-api.md §10): before posting, the
 * worker reads the machine's recent isolate/release actions and decides from them whether to post,
 * adopt an action already under way, skip, or refuse. The action ledger of the state store (what
 * this app posted or adopted, shared by every process) covers a redelivered message, a retry and a
 * restart before MDE's list shows the new action.
 */
import type { MachineAction } from '../../mde/types';

export type IsolationVerb = 'isolate' | 'release';

const TYPE_OF: Record<IsolationVerb, 'Isolate' | 'Unisolate'> = { isolate: 'Isolate', release: 'Unisolate' };
const OPEN = new Set(['Pending', 'InProgress']);

export type PriorActions =
  | { kind: 'post' }
  | { kind: 'adopt'; action: MachineAction }
  | { kind: 'skip'; reason: string; action: MachineAction }
  | { kind: 'conflict'; reason: string; action: MachineAction };

/** What to do about `verb` on a machine, given its isolate/release actions (any order). */
export function judgePriorActions(verb: IsolationVerb, actions: MachineAction[]): PriorActions {
  const relevant = actions
    .filter((a) => a.type === 'Isolate' || a.type === 'Unisolate')
    .sort((a, b) => Date.parse(b.creationDateTimeUtc) - Date.parse(a.creationDateTimeUtc));
  const wanted = TYPE_OF[verb];
  const same = relevant.find((a) => a.type === wanted && OPEN.has(a.status));
  if (same) return { kind: 'adopt', action: same };
  const opposite = relevant.find((a) => a.type !== wanted && OPEN.has(a.status));
  if (opposite) {
    // MDE completes actions out of submission order (docs/mde-api.md §10, I5903): posting now could leave
    // the device in the state nobody wanted last. A person has to choose.
    const pending = opposite.type === 'Isolate' ? 'an isolation' : 'a release';
    return {
      kind: 'conflict',
      action: opposite,
      reason: `${pending} (action ${opposite.id}, ${opposite.status}) is still under way on this device; posting the ${verb} now could race it`,
    };
  }
  const lastDone = relevant.find((a) => a.status === 'Succeeded');
  if (verb === 'isolate' && lastDone?.type === 'Isolate')
    return {
      kind: 'skip',
      action: lastDone,
      reason: `already isolated by action ${lastDone.id} (${lastDone.creationDateTimeUtc}), with no release since`,
    };
  // With nothing on record the device may still be isolated (long ago, or by other means): a release
  // is posted and MDE decides. Only a release on record proves there is nothing to release.
  if (verb === 'release' && lastDone?.type === 'Unisolate')
    return { kind: 'skip', action: lastDone, reason: `not isolated: released by action ${lastDone.id}` };
  return { kind: 'post' };
}
