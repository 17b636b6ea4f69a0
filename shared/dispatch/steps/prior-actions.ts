/**
 * MDE has no idempotency key: its own list of actions, with the ledger of what this app follows, is
 * the only proof that nothing is under way (docs/mde-api.md §10). These steps read both and end the
 * request when they answer it: adopted, skipped, carried by another request, or refused as a race.
 */
import type { MachineAction } from '../../mde/types';
import { isTerminal } from '../../mde/types';
import type { LedgerRecord } from '../../state/store';
import { TOO_MANY_ACTIONS } from './action-history';
import { type Ending, go, outcome, type Step } from './ending';
import { adopt } from './follow';
import { actionsSince, judgeRequest, mdeTimeBefore, type PostedByThisApp } from './idempotency';
import { asOf, type Plan, type Target, type WorkerDeps, where } from './life';
import { postedByThisApp } from './ownership';
import { ACTION_TYPE } from './register';
import { trackedFromLedger } from './resume';

/** The machine's actions as MDE lists them and as the ledger has them. */
export interface ActionsSeen {
  history: MachineAction[];
  ledger: LedgerRecord[];
}

/**
 * The machine's isolate and release actions of the lookback period, all of them (MDE promises no
 * order, so "the first page" is not "the newest"), from a read begun after this call and so after
 * the request's receipt and after this request took the machine's lock; and the machine's ledger.
 * Ends the request when there are too many actions to see them all: the list cannot be trusted whole.
 *
 * The ledger is read while MDE's list is (its read waits for company, then for MDE), not after it:
 * a store round trip less between the request's POST slot and its POST. Either order sees the same
 * ledger: every request that adds to it holds the machine's claim, as this one does, until it has
 * recorded its action.
 */
export async function actionsUnderWay(
  { recent, store }: Pick<WorkerDeps, 'recent' | 'store'>,
  target: Target,
): Promise<Step<ActionsSeen>> {
  const ledger = store.actions.forMachine(target.machine.id);
  // Awaited below, after MDE's list; until then its failure must not go unhandled.
  ledger.catch(() => undefined);
  const history = await recent.of(target.machine.id);
  if (history === null)
    return refuseConflict(
      target,
      undefined,
      `${TOO_MANY_ACTIONS}; refusing to decide without seeing them all`,
    );
  return go({ history, ledger: await ledger });
}

/**
 * Actions the ledger shows followed by another request, which MDE's list may not show yet. An entry
 * whose action MDE lists as ended is a leftover (its tracking was lost): it is closed here and holds
 * nothing. Null when nothing the ledger follows holds the request.
 */
export async function heldByLedger(
  { store, clock, timing }: Pick<WorkerDeps, 'store' | 'clock' | 'timing'>,
  target: Target,
  { history, ledger }: ActionsSeen,
): Promise<Ending | null> {
  const { request, verb, machine } = target;
  const followed: LedgerRecord[] = [];
  for (const entry of ledger) {
    if (!entry.open) continue;
    const listed = history.find((a) => a.id === entry.actionId);
    if (listed && isTerminal(listed.status)) {
      await store.actions.setStatus(machine.id, entry.actionId, listed.status);
      continue;
    }
    // Past MDE's retry period the action cannot still be running, whoever followed it.
    if (clock.now() - Date.parse(entry.recordedAt) < timing.trackGiveUpMs) followed.push(entry);
  }
  // Its own action, under way: a delivery that skipped step 1's ledger read (a copy marked as never
  // reserved, resume.ts) whose earlier delivery did reserve and post, then lost its process before
  // it completed the message or queued the tracking. It follows that action, as step 1 would.
  const own = followed.find((e) => e.requestId === request.requestId);
  if (own) return { end: 'tracked', request, tracked: trackedFromLedger(own) };
  const opposite = followed.find((e) => e.type !== ACTION_TYPE[verb]);
  if (opposite)
    return refuseConflict(
      target,
      opposite.actionId,
      `${verb === 'isolate' ? 'a release' : 'an isolation'} (action ${opposite.actionId}, followed by request ${opposite.requestId}) is still under way on this device; posting the ${verb} now could race it`,
    );
  const same = followed.find((e) => e.type === ACTION_TYPE[verb]);
  if (!same) return null;
  // Another name of the same machine (the requests had different device keys): this request is
  // the one under way's, whose outcome is this one's.
  return outcome(request, {
    ...where(machine),
    outcome: 'coalesced',
    actionId: same.actionId,
    carriedBy: same.requestId,
    reason: `already handled: action ${same.actionId} for this device is being followed by request ${same.requestId}`,
  });
}

/** What MDE's list says about this request: adopt, refuse, or skip it. Null when it posts. */
export async function answeredByHistory(
  deps: WorkerDeps,
  target: Target,
  plan: Plan,
  seen: ActionsSeen,
): Promise<Ending | null> {
  const judged = judgeRequest(
    target.verb,
    seen.history,
    actionsSinceReceipt(target, seen),
    asOf(deps),
    await ownership(deps, seen.ledger),
  );
  switch (judged.kind) {
    case 'adopt':
      return adopt(deps, target, plan, judged.action, judged.latest);
    case 'conflict':
      return refuseConflict(target, judged.action.id, judged.reason);
    case 'skip':
      return skipped(target, judged.action.id, judged.reason);
    case 'post':
      return null;
  }
}

/** Whose an action is, by the one ownership rule (ownership.ts), given the machine's ledger. */
export async function ownership(
  { identity }: Pick<WorkerDeps, 'identity'>,
  ledger: LedgerRecord[],
): Promise<PostedByThisApp> {
  const clientId = await identity.clientId();
  return (action) => postedByThisApp(action, ledger, clientId);
}

/** The machine's actions that may have been created since the request came in (idempotency.ts). */
export function actionsSinceReceipt({ request }: Target, { history, ledger }: ActionsSeen): MachineAction[] {
  return actionsSince(history, request.receivedAt, mdeTimeBefore(ledger, request.receivedAt));
}

/** Nothing to post: MDE's list already answers the request (already isolated, not isolated, …). */
export function skipped({ request, machine }: Target, actionId: string, reason: string): Ending {
  return outcome(request, { ...where(machine), outcome: 'skipped', actionId, reason });
}

/**
 * The opposite action is under way: MDE completes actions out of submission order (docs/mde-api.md §10),
 * so posting now could leave the device in the state nobody wanted last. A person has to choose.
 */
export function refuseConflict(
  { request, machine }: Target,
  actionId: string | undefined,
  reason: string,
): Ending {
  return outcome(request, {
    ...where(machine),
    outcome: 'escalated',
    rule: 'action-conflict',
    actionId,
    reason,
  });
}
