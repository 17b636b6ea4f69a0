/**
 * Cancelling a pending MDE action (docs/mde-api.md §7.4), for the CLI's `cancel` and
 * `POST /api/actions/{id}/cancel`. MDE's cancel API has its own quota family in the throttle
 * (`cancel`): the call goes through the runtime's throttled client like every other. Only actions
 * this app posted are cancelled unless forced; the reason, who asked and a forced cancel are recorded
 * in MDE's cancellation comment, which the tracker copies into the outcome and the register when it
 * sees the action end.
 */

import { postedByThisApp } from '../dispatch/steps/ownership';
import { GUID } from '../kernel/ids';
import type { MdeApi } from '../mde/api';
import type { AppIdentity } from '../mde/app-identity';
import { BadRequestError, MdeApiError, NotFoundError } from '../mde/errors';
import { isTerminal, type MachineAction } from '../mde/types';
import { type StateStore, StoreUnavailableError } from '../state/store';
import { type ManualAnswer, refusal, unavailable } from './answer';
import type { Caller } from './caller';
import type { CancelBody } from './order';

/** What a cancel reads and calls: MDE, the ledger, and who this app is to MDE (ownership.ts). */
export interface CancelAccess {
  api: MdeApi;
  store: StateStore;
  identity: Pick<AppIdentity, 'clientId'>;
}

export interface CancelOrder {
  actionId: string;
  /** Why: required, it goes into the cancellation comment. */
  reason: string;
  /** Cancel an action this app did not post. */
  force: boolean;
  /** Who asks: an operator's name, or the manual API's caller label. */
  by: string;
}

export type CancelResult =
  | { kind: 'cancelled'; action: MachineAction; forced: boolean }
  /** Final already: there is nothing to cancel. */
  | { kind: 'final'; action: MachineAction }
  /** Someone else's action, and the order did not force it. */
  | { kind: 'not-ours'; action: MachineAction };

/** The MDE cancellation comment of an order. */
export function cancellationComment(order: CancelOrder, own: boolean): string {
  return `mde-isolator: cancel${own ? '' : ' (forced: not posted by this app)'} requested by ${order.by}: ${order.reason}`;
}

/** Reads the action, judges whose it is, and cancels it; MDE and store failures are thrown. */
export async function cancelPendingAction(access: CancelAccess, order: CancelOrder): Promise<CancelResult> {
  const action = await access.api.getMachineAction(order.actionId);
  if (isTerminal(action.status)) return { kind: 'final', action };
  const ledger = await access.store.actions.forMachine(action.machineId);
  const own = postedByThisApp(action, ledger, await access.identity.clientId());
  if (!own && !order.force) return { kind: 'not-ours', action };
  const cancelled = await access.api.cancelMachineAction(action.id, cancellationComment(order, own));
  return { kind: 'cancelled', action: cancelled, forced: !own };
}

/**
 * `POST /api/actions/{actionId}/cancel`: 200 with the cancelled MachineAction; 409 when it is final
 * already, not this app's (without `force`), or MDE refused the cancel; 404 for an unknown action.
 */
export async function cancelForCaller(
  access: CancelAccess,
  actionId: string,
  body: CancelBody,
  caller: Caller,
): Promise<ManualAnswer> {
  if (!GUID.test(actionId))
    return refusal(400, 'invalid-action-id', 'the action id must be a GUID', { path: 'actionId' });
  try {
    const result = await cancelPendingAction(access, { actionId, ...body, by: caller.label });
    const { action } = result;
    if (result.kind === 'final')
      return refusal(
        409,
        'action-final',
        `action ${action.id} is ${action.status} already; nothing to cancel`,
        {
          action,
        },
      );
    if (result.kind === 'not-ours')
      return refusal(
        409,
        'posted-by-someone-else',
        `action ${action.id} was posted by ${action.requestor ?? 'someone else'}, not by this app; send force: true with the reason to cancel it anyway`,
        { action },
      );
    return { status: 200, body: { status: 'cancelled', forced: result.forced, action } };
  } catch (error) {
    if (error instanceof NotFoundError)
      return refusal(404, 'unknown-action', `MDE has no action ${actionId}`);
    // Final between the read and the cancel (docs/mde-api.md §7.4 leaves that answer open).
    if (error instanceof BadRequestError)
      return refusal(409, 'cancel-refused', `MDE refused to cancel action ${actionId}: ${error.message}`);
    if (error instanceof StoreUnavailableError) return unavailable('store', 'nothing was cancelled');
    // A cancel MDE did not answer may have been carried out: GET the action to see.
    if (error instanceof MdeApiError) return unavailable('mde', 'the action may not be cancelled');
    throw error;
  }
}
