/**
 * "Exactly once per device" without an idempotency key from MDE (docs/mde-api.md §10): before posting, the
 * worker reads the machine's recent isolate/release actions and decides from them whether to post,
 * adopt an action already under way, skip, or refuse. The action ledger of the state store (what
 * this app posted or adopted, shared by every process) covers a redelivered message, a retry and a
 * restart before MDE's list shows the new action.
 */
import type { MachineAction } from '../../mde/types';
import type { LedgerEntry } from '../../state/store';
import type { AsOf } from './expiry';
import { actionInForce, inForce, liftedReason, newestFirst } from './in-force';
import { byWhom } from './requestor';

export type IsolationVerb = 'isolate' | 'release';

const TYPE_OF: Record<IsolationVerb, 'Isolate' | 'Unisolate'> = { isolate: 'Isolate', release: 'Unisolate' };
const OPEN = new Set(['Pending', 'InProgress']);

export type PriorActions =
  | { kind: 'post' }
  /** `latest`: the newest action since the request came in, when another than the one adopted. */
  | { kind: 'adopt'; action: MachineAction; latest?: MachineAction }
  | { kind: 'skip'; reason: string; action: MachineAction }
  | { kind: 'conflict'; reason: string; action: MachineAction };

/** Whether this app posted an action (ownership.ts); a caller that only asks about conflicts may take every one as ours. */
export type PostedByThisApp = (action: MachineAction) => boolean;
const EVERY_ONE_OURS: PostedByThisApp = () => true;

/**
 * Someone else's isolation, under way or in force, answers an isolate request: it is skipped, never
 * followed, and the reason says whose it is (docs/decisions/0017-reconciler-and-drift.md).
 */
function isolatedBySomeoneElse(action: MachineAction): PriorActions {
  return { kind: 'skip', action, reason: `already isolated by ${byWhom(action)}` };
}

/**
 * What to do about `verb` on a machine, given its isolate/release actions (any order), at `asOf`: an
 * isolation the platform has lifted is not in force (in-force.ts).
 */
export function judgePriorActions(
  verb: IsolationVerb,
  actions: MachineAction[],
  asOf: AsOf,
  ours: PostedByThisApp = EVERY_ONE_OURS,
): PriorActions {
  const relevant = newestFirst(actions);
  const wanted = TYPE_OF[verb];
  const same = relevant.find((a) => a.type === wanted && OPEN.has(a.status));
  if (same)
    return verb === 'isolate' && !ours(same) ? isolatedBySomeoneElse(same) : { kind: 'adopt', action: same };
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
  // Nothing is under way: what is in force is the last action that succeeded, unless lifted since.
  const current = inForce(relevant, asOf);
  if (verb === 'isolate' && current.kind === 'isolation' && !ours(current.action))
    return isolatedBySomeoneElse(current.action);
  if (verb === 'isolate' && current.kind === 'isolation')
    return {
      kind: 'skip',
      action: current.action,
      reason: `already isolated by action ${current.action.id} (${current.action.creationDateTimeUtc}), with no release since`,
    };
  // With nothing on record the device may still be isolated (long ago, or by other means): a release
  // is posted and MDE decides. Only a release on record proves there is nothing to release.
  if (verb === 'release' && current.kind === 'release')
    return {
      kind: 'skip',
      action: current.action,
      reason: `not isolated: released by action ${current.action.id}`,
    };
  if (verb === 'release' && current.kind === 'lifted')
    return { kind: 'skip', action: current.action, reason: `not isolated: ${liftedReason(current)}` };
  return { kind: 'post' };
}

/**
 * A reading of MDE's clock from before the request came in: the newest creation time MDE gave an
 * action this app had recorded (the ledger) by then. Null when it had recorded none.
 */
export function mdeTimeBefore(
  ledger: readonly Pick<LedgerEntry, 'createdAt' | 'recordedAt'>[],
  receivedAt: string,
): number | null {
  const received = Date.parse(receivedAt);
  const seen = ledger.filter((e) => Date.parse(e.recordedAt) <= received).map((e) => Date.parse(e.createdAt));
  return seen.length > 0 ? Math.max(...seen) : null;
}

/**
 * The isolate/release actions that may have been created after the request came in, newest first.
 * MDE stamps creation by its clock, this app its receipt by its own, and the two may differ: an action
 * MDE stamped at or before `mdeBefore` (mdeTimeBefore) is before the request whatever this app's
 * clock says; of the others, those stamped at or after the receipt count as after it.
 */
export function actionsSince(
  history: readonly MachineAction[],
  receivedAt: string,
  mdeBefore: number | null,
): MachineAction[] {
  const received = Date.parse(receivedAt);
  return newestFirst(history).filter((a) => {
    const created = Date.parse(a.creationDateTimeUtc);
    return created >= received && (mdeBefore === null || created > mdeBefore);
  });
}

/**
 * What to do about a request for `verb`, given the machine's isolate/release actions and those of them
 * created since it came in (actionsSince): the one judgement the worker enforces and its dry run
 * reports. Anything done to the device since answered the request (most likely this app's own earlier
 * attempt whose answer or completion was lost) or overrode it (a person released the device): either
 * way posting again would undo what happened since. What is in force decides which: an isolation with a
 * release after it isolates nothing, so it answers nothing.
 */
export function judgeRequest(
  verb: IsolationVerb,
  history: MachineAction[],
  since: readonly MachineAction[],
  asOf: AsOf,
  ours: PostedByThisApp = EVERY_ONE_OURS,
): PriorActions {
  const prior = judgePriorActions(verb, history, asOf, ours);
  if (prior.kind === 'adopt' || prior.kind === 'conflict') return prior;
  const current = actionInForce(inForce(history, asOf));
  const inForceSince = current && since.find((a) => a.id === current.id);
  // Otherwise only attempts that took no effect came since: the last of this kind (failed, timed
  // out, cancelled) is this request's outcome.
  const answered = inForceSince ?? since.find((a) => a.type === TYPE_OF[verb]);
  // Someone else's isolation answers this request only while it is in force; one that took no
  // effect was never this request's attempt.
  if (answered?.type === 'Isolate' && verb === 'isolate' && !ours(answered))
    return answered === inForceSince ? isolatedBySomeoneElse(answered) : prior;
  if (answered?.type === TYPE_OF[verb])
    return {
      kind: 'adopt',
      action: answered,
      ...(since[0] && since[0].id !== answered.id && { latest: since[0] }),
    };
  const over = inForceSince ?? since[0];
  if (over)
    return {
      kind: 'conflict',
      action: over,
      reason: `${over.type === 'Isolate' ? 'an isolation' : 'a release'} (action ${over.id} by ${over.requestor}, ${over.creationDateTimeUtc}) was requested after this request came in; not posting the ${verb} over it`,
    };
  return prior;
}
