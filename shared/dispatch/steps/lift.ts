/**
 * What happens at the platform lift under `let-lift`, the default (docs/decisions/0016-isolation-
 * expiry-and-time-boxes.md): MDE ends the isolation and writes nothing, so the register is told here.
 * For the reconciler to call on its schedule: every record `isolated` whose end is the platform lift,
 * and has passed, becomes `lifted`, and an `isolation-lifted` event is reported for each (the
 * notification issue delivers them). Nothing is posted; a record that changed meanwhile is left alone.
 */
import type { IsolationRecord, StateStore } from '../../state/store';
import type { DispatchReporter } from '../outcome';

/** Records `lifted` every isolation the register shows past its platform lift; answers how many. */
export async function recordPlatformLifts(
  store: StateStore,
  reporter: Pick<DispatchReporter, 'note'>,
  now: number,
): Promise<number> {
  const lifted = (await store.register.list({ state: 'isolated' })).filter(pastItsLift(now));
  let recorded = 0;
  for (const record of lifted) {
    const liftedAt = record.expiresAt as string;
    const write = await store.register.record(
      {
        machineId: record.machineId,
        state: 'lifted',
        requestId: record.requestId,
        reason: `lifted by the platform at ${liftedAt} (PLATFORM_LIFT_DAYS after it took effect); nothing posted (let-lift)`,
      },
      { onlyFrom: ['isolated'], sameRequest: true },
    );
    if (!write.applied) continue;
    recorded += 1;
    reporter.note('info', {
      event: 'isolation-lifted',
      machineId: record.machineId,
      computerDnsName: record.computerDnsName,
      actionId: record.actions.find((a) => a.type === 'Isolate')?.actionId ?? null,
      requestId: record.requestId,
      liftedAt,
    });
  }
  return recorded;
}

function pastItsLift(now: number): (record: IsolationRecord) => boolean {
  return (record) =>
    record.expiresBy === 'platform-lift' && record.expiresAt !== null && record.expiresAt !== undefined
      ? Date.parse(record.expiresAt) <= now
      : false;
}
