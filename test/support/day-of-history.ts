/** A day of register history and ledger entries, written on a hand clock: what audit tests read. */
import { type Clock, DAY_MS } from '../../shared/kernel/clock';
import type { IsolationChange, Provenance, StateStore } from '../../shared/state/store';
import { handClock } from './hand-clock';

const HOUR = 3_600_000;
export const A = `a${'0'.repeat(39)}`;
export const B = `b${'0'.repeat(39)}`;
export const C = `c${'0'.repeat(39)}`;
export const ACT_1 = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
export const ACT_2 = '7f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

const provenance = (requestedBy: Provenance['requestedBy'], alertId: string): Provenance => ({
  requestedBy,
  alertSource: requestedBy.kind === 'rule' ? 'mde-alert' : 'manual',
  alertId,
  incidentId: requestedBy.kind === 'rule' ? '42' : null,
  incidentArmId: null,
  policyVersion: 'p-1',
  mode: 'enforce',
  reason: 'why',
});

/**
 * A day of history, by the hour from `start`: C isolated the day before; A isolated by a rule at 02:00
 * and released by a person at 20:00; B isolated at 10:00. `now` is 24 h after `start`.
 */
export async function dayOfHistory(
  start: number,
  open: (clock: Clock) => StateStore,
): Promise<{ store: StateStore; now: number }> {
  const clock = handClock(start - HOUR);
  const store = open(clock);
  const at = async (hour: number, change: IsolationChange) => {
    clock.advance(start + hour * HOUR - clock.now());
    await store.register.record(change);
  };
  const rule = provenance({ kind: 'rule', name: 'isolate-high' }, 'da-1');
  const person = provenance({ kind: 'caller', name: 'jo@contoso.com' }, 'manual-1');
  await store.register.record({
    machineId: C,
    computerDnsName: 'old.contoso.local',
    state: 'isolated',
    requestId: 'req-c',
    reason: 'the day before',
    provenance: rule,
  });
  const name = 'ws-finance-01.contoso.local';
  await at(2, {
    machineId: A,
    computerDnsName: name,
    state: 'isolating',
    requestId: 'req-a1',
    reason: 'high-severity alert',
    provenance: rule,
  });
  await at(2.02, {
    machineId: A,
    state: 'isolated',
    requestId: 'req-a1',
    reason: 'MDE reports Succeeded',
    action: {
      actionId: ACT_1,
      type: 'Isolate',
      status: 'Succeeded',
      requestor: 'app-id',
      requestSource: 'PublicApi',
    },
  });
  await at(10, {
    machineId: B,
    computerDnsName: 'web1.contoso.local',
    state: 'isolating',
    requestId: 'req-b1',
    reason: 'ransomware',
    provenance: rule,
  });
  await at(10.1, { machineId: B, state: 'isolated', requestId: 'req-b1', reason: 'MDE reports Succeeded' });
  await at(20, {
    machineId: A,
    state: 'releasing',
    requestId: 'req-a2',
    reason: 'cleaned, ticket 7',
    provenance: person,
  });
  await at(20.05, {
    machineId: A,
    state: 'released',
    requestId: 'req-a2',
    reason: 'MDE reports Succeeded',
    action: {
      actionId: ACT_2,
      type: 'Unisolate',
      status: 'Succeeded',
      requestor: 'jo@contoso.com',
      requestSource: 'PublicApi',
      adopted: true,
    },
  });
  await store.actions.record({
    machineId: A,
    actionId: ACT_1,
    requestId: 'req-a1',
    type: 'Isolate',
    status: 'Succeeded',
    adopted: false,
    computerDnsName: name,
    createdAt: new Date(start + 2 * HOUR).toISOString(),
    recordedAt: new Date(start + 2 * HOUR).toISOString(),
  });
  return { store, now: start + DAY_MS };
}
