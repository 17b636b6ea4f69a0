/**
 * Extending a time-boxed isolation (docs/decisions/0016-isolation-expiry-and-time-boxes.md), for the
 * CLI's `extend` and `POST /api/isolations/{machineId}/extend`: the register's `expiresAt` moves later,
 * with who and why in its history, and the scheduled release waits for the new end
 * (dispatch/steps/time-box.ts). Only this app's isolation in force, the one the register follows, is
 * extended, and never past the platform lift: MDE ends it then whatever the register says, and only
 * a new isolation (a renewal) goes beyond.
 */
import { actionHistory, TOO_MANY_ACTIONS } from '../dispatch/steps/action-history';
import { type AsOf, platformLiftAt } from '../dispatch/steps/expiry';
import { inForce } from '../dispatch/steps/in-force';
import { postedByThisApp } from '../dispatch/steps/ownership';
import type { MdeApi } from '../mde/api';
import type { AppIdentity } from '../mde/app-identity';
import { MdeApiError } from '../mde/errors';
import { canonicalMachineId } from '../mde/ids';
import { type IsolationRecord, type StateStore, StoreUnavailableError } from '../state/store';
import { type ManualAnswer, refusal, unavailable } from './answer';
import type { Caller } from './caller';
import type { ExtendBody } from './order';

export interface ExtendAccess {
  api: MdeApi;
  store: StateStore;
  identity: Pick<AppIdentity, 'clientId'>;
}

export interface ExtendOrder {
  machineId: string;
  /** How much later the isolation ends than it does now. */
  byMs: number;
  reason: string;
  /** Who asks: the manual API's caller label, or the operator's name. */
  by: string;
}

export type ExtendResult =
  | { kind: 'extended'; record: IsolationRecord; expiresAt: string }
  | { kind: 'refused'; answer: ManualAnswer };

const refused = (...args: Parameters<typeof refusal>): ExtendResult => ({
  kind: 'refused',
  answer: refusal(...args),
});

/** Reads the register and MDE, and moves the end; MDE and store failures are thrown. */
export async function extendIsolation(
  access: ExtendAccess,
  order: ExtendOrder,
  asOf: AsOf,
): Promise<ExtendResult> {
  const machineId = canonicalMachineId(order.machineId);
  if (!machineId)
    return refused(400, 'invalid-machine-id', 'the machine id must be 40 hexadecimal characters');
  const record = await access.store.register.get(machineId);
  if (!record) return refused(404, 'not-in-register', `this app has no record of machine ${machineId}`);
  if (record.state !== 'isolated' || !record.expiresAt)
    return refused(
      409,
      'not-isolated',
      `the register shows machine ${machineId} ${record.state}${record.state === 'isolated' ? ' with no known end' : ''}: only an isolation in force can be extended`,
      { record },
    );
  const history = await actionHistory(access.api, machineId, asOf.now);
  if (history === null) return refused(409, 'too-many-actions', `${TOO_MANY_ACTIONS}; not extending`);
  const current = inForce(history, asOf);
  if (current.kind !== 'isolation' || !record.actions.some((a) => a.actionId === current.action.id))
    return refused(
      409,
      'not-in-force',
      `MDE does not show the isolation the register follows in force (${current.kind === 'none-on-record' ? 'no isolate or release on record' : `${current.kind}: action ${current.action.id}`}): nothing to extend`,
      { record },
    );
  const ledger = await access.store.actions.forMachine(machineId);
  if (!postedByThisApp(current.action, ledger, await access.identity.clientId()))
    return refused(
      409,
      'isolated-by-someone-else',
      `${current.action.requestor} posted the isolation in force (action ${current.action.id}); this app extends only its own`,
    );
  const ends = Date.parse(record.expiresAt) + order.byMs;
  const liftAt = platformLiftAt(current.action, asOf.platformLiftMs) as number;
  if (ends > liftAt)
    return refused(
      422,
      'past-platform-lift',
      `the isolation would end at ${iso(ends)}, after MDE lifts it at ${iso(liftAt)} (PLATFORM_LIFT_DAYS); it can be extended by ${Math.floor((liftAt - Date.parse(record.expiresAt)) / 60_000)} minutes at most`,
      { path: 'for' },
    );
  const expiresAt = iso(ends);
  const write = await access.store.register.record(
    {
      machineId,
      state: 'isolated',
      requestId: record.requestId,
      reason: `time box extended to ${expiresAt} by ${order.by}: ${order.reason}`,
      expiresAt,
      expiresBy: 'time-box',
    },
    { onlyFrom: ['isolated'], sameRequest: true },
  );
  if (!write.applied)
    return refused(409, 'register-changed', 'the register changed meanwhile: read it again and retry');
  return { kind: 'extended', record: write.record, expiresAt };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * `POST /api/isolations/{machineId}/extend`: 200 with the new end and the record; 404 for a device the
 * register does not know; 409 when nothing of this app's is in force to extend; 422 past the lift.
 */
export async function extendForCaller(
  access: ExtendAccess,
  machineId: string,
  body: ExtendBody,
  caller: Caller,
  asOf: AsOf,
): Promise<ManualAnswer> {
  try {
    const result = await extendIsolation(access, { machineId, ...body, by: caller.label }, asOf);
    if (result.kind === 'refused') return result.answer;
    return { status: 200, body: { status: 'extended', expiresAt: result.expiresAt, record: result.record } };
  } catch (error) {
    if (error instanceof StoreUnavailableError) return unavailable('store', 'nothing was changed');
    if (error instanceof MdeApiError) return unavailable('mde', 'nothing was changed');
    throw error;
  }
}
