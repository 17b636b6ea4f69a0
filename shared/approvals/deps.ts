/** What every approval step works with: the store's approvals, the request queue, records, events. */
import type { DispatchReporter } from '../dispatch/outcome';
import type { RequestQueue } from '../dispatch/transport/queue';
import type { Clock } from '../kernel/clock';
import type { StateStore } from '../state/store';
import type { ApprovalEvents } from './events';

export interface ApprovalDeps {
  /** The approvals of every tenant (one table); `register`: the single-tenant deployment's. */
  store: Pick<StateStore, 'approvals' | 'register'>;
  /**
   * A listed tenant's register (MDE_TENANTS), where its held requests are noted: one approval page
   * for every tenant, each device's history in its own tenant's store. Null for a tenant the list no
   * longer names: its note is dropped, never written in another tenant's register.
   */
  tenantRegister?: (tenantId: string) => StateStore['register'] | null;
  queue: RequestQueue;
  reporter: DispatchReporter;
  clock: Clock;
  events: ApprovalEvents;
}

/**
 * Calls an event without letting it hold anything back: a failure is one note (its message only,
 * never a channel's address).
 */
export async function emit(deps: ApprovalDeps, event: string, send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (error) {
    deps.reporter.note('warn', {
      event: 'approval-event-not-sent',
      why: `${event}: ${error instanceof Error ? error.name : 'unknown error'}`,
    });
  }
}
