/**
 * "Exactly once per device" without an idempotency key from MDE (docs/mde-api.md §10): before posting, the
 * worker reads the machine's recent isolate/release actions and decides from them whether to post,
 * adopt an action already under way, skip, or refuse. A process-wide record of what this process
 * posted covers a redelivered message before MDE's list shows the new action.
 */
import type { MachineAction } from '../mde/types';

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

export interface FollowedAction {
  actionId: string;
  at: number;
  /** The request whose tracking follows the action. */
  requestId: string;
}

/**
 * Actions this process posted or adopted and is following, by machine and verb: proof against a
 * redelivered message before MDE's list shows a new action, and the way a second request for the same
 * device learns who already handles it.
 */
export class PostedActions {
  private readonly byKey = new Map<string, FollowedAction>();

  constructor(private readonly retentionMs: number) {}

  record(verb: IsolationVerb, machineId: string, followed: FollowedAction): void {
    const key = `${verb}:${machineId}`;
    // Re-inserted so the map stays oldest-first, which the expiry loop relies on.
    this.byKey.delete(key);
    this.byKey.set(key, followed);
    for (const [old, entry] of this.byKey) {
      if (followed.at - entry.at < this.retentionMs) break;
      this.byKey.delete(old);
    }
  }

  find(verb: IsolationVerb, machineId: string, now: number): FollowedAction | null {
    const entry = this.byKey.get(`${verb}:${machineId}`);
    return entry && now - entry.at < this.retentionMs ? entry : null;
  }

  /**
   * Tracking of `actionId` ended (terminal status, or it gave up): the record no longer proves anything
   * and the next request for the machine asks MDE. Only that action's record goes; one posted since
   * for the same machine stays.
   */
  clear(machineId: string, actionId: string): void {
    for (const verb of ['isolate', 'release'] as const) {
      const key = `${verb}:${machineId}`;
      if (this.byKey.get(key)?.actionId === actionId) this.byKey.delete(key);
    }
  }
}
