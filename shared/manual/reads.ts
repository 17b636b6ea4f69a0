/**
 * The register over HTTP: which devices are isolated now, by whom and why; one device's record and
 * history; one MDE action with this app's record of it (docs/architecture.md §6).
 */
import { GUID, MDE_DEVICE_ID } from '../kernel/ids';
import type { MdeApi } from '../mde/api';
import { MdeApiError, NotFoundError } from '../mde/errors';
import {
  ISOLATION_STATES,
  type IsolationState,
  LIST_MAX,
  type StateStore,
  StoreUnavailableError,
} from '../state/store';
import { type ManualAnswer, refusal, unavailable } from './answer';

/** A read whose store or MDE did not answer becomes a 503; anything else is a bug and throws. */
export async function guarded(read: () => Promise<ManualAnswer>): Promise<ManualAnswer> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof StoreUnavailableError) return unavailable('store');
    if (error instanceof MdeApiError && !(error instanceof NotFoundError)) return unavailable('mde');
    throw error;
  }
}

/** `GET /api/isolations?state=…&limit=…`. */
export function listIsolations(store: StateStore, query: URLSearchParams): Promise<ManualAnswer> {
  return guarded(async () => {
    const state = query.get('state');
    if (state !== null && !(ISOLATION_STATES as readonly string[]).includes(state))
      return refusal(400, 'invalid-query', `state must be one of ${ISOLATION_STATES.join(', ')}`, {
        path: 'state',
      });
    const limitText = query.get('limit');
    const limit = limitText === null ? LIST_MAX : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX)
      return refusal(400, 'invalid-query', `limit must be a whole number from 1 to ${LIST_MAX}`, {
        path: 'limit',
      });
    const items = await store.register.list({ ...(state && { state: state as IsolationState }), limit });
    return { status: 200, body: { items, count: items.length } };
  });
}

/** `GET /api/isolations/{machineId}`: the record (with its history) and the actions this app follows. */
export function isolationOf(store: StateStore, machineId: string): Promise<ManualAnswer> {
  return guarded(async () => {
    if (!MDE_DEVICE_ID.test(machineId))
      return refusal(400, 'invalid-machine-id', 'the machine id must be 40 hexadecimal characters', {
        path: 'machineId',
      });
    const id = machineId.toLowerCase();
    const [record, actions] = await Promise.all([store.register.get(id), store.actions.forMachine(id)]);
    if (!record) return refusal(404, 'not-in-register', `the register has no record of ${id}`);
    return { status: 200, body: { record, actions } };
  });
}

/** `GET /api/actions/{actionId}`: MDE's MachineAction, and this app's ledger entry when it has one. */
export function actionOf(api: MdeApi, store: StateStore, actionId: string): Promise<ManualAnswer> {
  return guarded(async () => {
    if (!GUID.test(actionId))
      return refusal(400, 'invalid-action-id', 'the action id must be a GUID', { path: 'actionId' });
    let action: Awaited<ReturnType<MdeApi['getMachineAction']>>;
    try {
      action = await api.getMachineAction(actionId);
    } catch (error) {
      if (error instanceof NotFoundError)
        return refusal(404, 'unknown-action', `MDE has no action ${actionId}`);
      throw error;
    }
    const entries = await store.actions.forMachine(action.machineId);
    const recorded = entries.find((e) => e.actionId.toLowerCase() === actionId.toLowerCase()) ?? null;
    return { status: 200, body: { action, recorded } };
  });
}
