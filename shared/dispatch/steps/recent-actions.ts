/**
 * The pre-POST history check read for many machines at once: the recent isolate and release actions
 * of every machine whose request waits for them, with one call (`machineId` any of up to
 * MAX_MACHINES_PER_QUERY, type and creation time; docs/mde-api.md §7.3, §10) instead of one per machine.
 * One read runs at a time; machines asked for meanwhile wait for the next, which the first of them
 * starts as soon as the one under way ends. While requests wait for the isolate quota and a slot of it
 * frees within the gathering time (`companyWaits`), it is sent no sooner than `historyGatherMs` after
 * the previous one (or once READ_ENOUGH machines wait), with every machine asked for by then: a storm's requests, which come at the pace the isolate
 * quota frees (100 a minute at most), so share a read per few seconds, about five per read at that
 * pace, where one read per request would spend the machineactions quota as fast as the isolations
 * spend theirs; and the quota makes them wait anyway. Otherwise it is sent at once: a lone alert's
 * POST never waits for company that is not coming.
 *
 * A read is only used by requests that asked before it was sent: an answer read earlier could miss an
 * action posted since (the redelivery rule: what a request is judged on is newer than its receipt),
 * and in this process it could miss the action the previous holder of the machine's lock posted and
 * tracking already closed. Sharing is therefore among the requests waiting at the same time, never a
 * cache of older answers.
 *
 * The read runs inside the reservation of the request that starts it (the worker budgets one
 * machineactions call per request); the others give theirs back unused.
 */
import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { Clock } from '../../kernel/clock';
import { MAX_MACHINES_PER_QUERY, type MdeApi } from '../../mde/api';
import type { MachineAction } from '../../mde/types';
import { HISTORY_MAX, historyFilter, seenWhole } from './action-history';

/**
 * A read naming this many machines is sent at once rather than waiting out `gatherMs`: it already
 * costs each of them a twelfth of a call. Fewer than the worker's concurrent messages (16 under
 * Service Bus, host.json), so a busy worker fills it; in the sustained-arrival storm 12 rather than 8
 * took the machineactions calls per isolated device from 0.21 to 0.20.
 */
export const READ_ENOUGH = 12;

interface Read {
  /** Until the read is sent, machines may join it. */
  machines: Set<string>;
  result: Promise<Map<string, MachineAction[]>>;
  /** Ends the wait before sending, once the read names READ_ENOUGH machines. */
  sendNow?: () => void;
}

export class RecentActions {
  /** The next read, not sent yet: machines asked for now join it. */
  private gathering: Read | null = null;
  private reading: Read | null = null;
  /** When the last read was sent; none yet: long ago. */
  private lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly api: MdeApi,
    private readonly clock: Clock,
    /** Reads are sent at most this often while `companyWaits`; the first after a quiet spell at once. */
    private readonly gatherMs: number,
    /** Whether others may join a read before it is sent: they wait for an isolate slot freeing soon. */
    private readonly companyWaits: () => boolean,
    private readonly maxPerMachine: number = HISTORY_MAX,
  ) {}

  /**
   * The machine's isolate and release actions of the lookback, all of them, from a read sent after
   * this call; null when there are too many to see them all.
   */
  async of(machineId: string): Promise<MachineAction[] | null> {
    const id = machineId.toLowerCase();
    for (;;) {
      const next = this.gathering;
      if (next && (next.machines.has(id) || next.machines.size < MAX_MACHINES_PER_QUERY)) {
        next.machines.add(id);
        if (next.machines.size >= READ_ENOUGH) next.sendNow?.();
        return this.pick(await next.result, id);
      }
      const under = this.reading ?? next;
      if (under === null) return this.pick(await this.gather(id).result, id);
      await under.result.catch(() => undefined);
    }
  }

  /**
   * A read that `first` starts, sent one turn of the event loop later; while `companyWaits`, no
   * sooner than `gatherMs` after the previous read unless READ_ENOUGH machines joined, so that the
   * requests asking in the meantime join it. It runs in the caller's async context, so within its
   * reservation.
   */
  private gather(first: string): Read {
    const read: Read = { machines: new Set([first]), result: Promise.resolve(new Map()) };
    this.gathering = read;
    read.result = (async () => {
      const wait = this.lastSentAt + this.gatherMs - this.clock.now();
      if (wait > 0 && this.companyWaits())
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          read.sendNow = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      else await yieldToIo();
      this.gathering = null;
      this.reading = read;
      const startedAt = this.clock.now();
      this.lastSentAt = startedAt;
      try {
        const actions = await this.api.listMachineActions(historyFilter([...read.machines], startedAt));
        const byMachine = new Map<string, MachineAction[]>([...read.machines].map((id) => [id, []]));
        for (const action of actions) byMachine.get(action.machineId.toLowerCase())?.push(action);
        return byMachine;
      } finally {
        if (this.reading === read) this.reading = null;
      }
    })();
    return read;
  }

  private pick(byMachine: Map<string, MachineAction[]>, machineId: string): MachineAction[] | null {
    return seenWhole(byMachine.get(machineId) ?? [], this.maxPerMachine);
  }
}
