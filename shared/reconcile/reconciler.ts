/**
 * One reconciliation, run by the worker for a reconcile order (dispatch/reconcile-order.ts): the
 * register's records, paged from the store, against MDE's isolate and release actions since the
 * oldest isolation in force, read in one list query tenant-wide (paged by MDE, never one call per
 * device) at the lowest priority of the throttle. Each difference is classified (drift.ts), the
 * register corrected under compare-and-set, and reported as an `isolation-drift` event and in the
 * latest report (`GET /api/drift`, `mde-isolator reconcile`). Nothing is posted to MDE here.
 * docs/decisions/0017-reconciler-and-drift.md
 */

import type { DispatchReporter } from '../dispatch/outcome';
import { withReservation } from '../dispatch/quota/current-reservation';
import { BudgetShortError, Reservation } from '../dispatch/quota/reservation';
import type { MdeThrottle } from '../dispatch/quota/throttle';
import { type ReconcileOrder, reconcileMessage } from '../dispatch/reconcile-order';
import { PRIORITY } from '../dispatch/request';
import { DEFAULT_PLATFORM_LIFT_MS } from '../dispatch/steps/expiry';
import { postedByThisApp } from '../dispatch/steps/ownership';
import type { RequestQueue } from '../dispatch/transport/queue';
import { type Clock, DAY_MS } from '../kernel/clock';
import { errorSummary } from '../kernel/errors';
import { HISTORY_LOOKBACK_DAYS, type MdeApi } from '../mde/api';
import type { AppIdentity } from '../mde/app-identity';
import type { MachineAction } from '../mde/types';
import { type IsolationRecord, LIST_MAX, type StateStore } from '../state/store';
import { type Drift, IN_FORCE_STATES, judgeRecord } from './drift';
import { type ReconciliationReport, reportDocument } from './report';

/** MDE lifts every isolation after seven days (docs/mde-api.md §13). */
/** Register pages one reconciliation reads at most: LIST_MAX devices each. */
const MAX_REGISTER_PAGES = 100;
/**
 * How far back isolations by others are looked for on devices the register holds as not isolated,
 * when nothing in force reaches further: a run every 15 minutes sees each one many times.
 */
const AT_REST_LOOKBACK_MS = DAY_MS;
/** An isolation in force that ends within this is told as ending soon (`expiringSoon`). */
export const EXPIRY_NOTICE_MS = DAY_MS;

export interface ReconcilerDeps {
  api: MdeApi;
  store: StateStore;
  throttle: MdeThrottle;
  queue: RequestQueue;
  reporter: DispatchReporter;
  clock: Clock;
  identity: Pick<AppIdentity, 'clientId'>;
  platformLiftMs?: number;
  /**
   * The safety net for time-boxed isolations whose scheduled release was lost (dispatch/steps/time-box.ts
   * `releaseDueTimeBoxes`): queues the release of every isolation past its box and answers how many.
   * Absent (a reconciler built for a test): the report says `dueReleases: null`.
   */
  releaseDueIsolations?: (now: number) => Promise<number>;
  /**
   * Each isolation in force, not drifted this run, that ends within EXPIRY_NOTICE_MS: the SOC is told
   * (shared/notify/, which tells one isolation's end once per process). Absent: nobody is told.
   */
  expiringSoon?: (record: IsolationRecord, now: number) => void;
}

export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async run(order: ReconcileOrder): Promise<ReconciliationReport | null> {
    const { reporter, clock } = this.deps;
    const startedAt = clock.now();
    try {
      const records = await this.registerRecords();
      const since = sinceOf(records, startedAt);
      const actions = await this.readActions(since);
      const drifts = await this.correct(records, actions, startedAt);
      this.tellExpiring(records, drifts.drifts, startedAt);
      const dueReleases = this.deps.releaseDueIsolations
        ? await this.deps.releaseDueIsolations(startedAt)
        : null;
      const report: ReconciliationReport = {
        reconciliationId: order.requestId,
        requestedBy: order.requestedBy,
        startedAt: new Date(startedAt).toISOString(),
        finishedAt: new Date(clock.now()).toISOString(),
        since: new Date(since).toISOString(),
        actionsRead: actions.length,
        devices: records.length,
        inForce: records.filter((r) => IN_FORCE_STATES.includes(r.state)).length,
        ...drifts,
        dueReleases,
      };
      await this.deps.store.drift.save(reportDocument(report));
      reporter.note('info', { event: 'reconciliation', ...summaryOf(report) });
      return report;
    } catch (error) {
      if (error instanceof BudgetShortError) {
        await this.defer(order, error.retryAt);
        return null;
      }
      // The next timer run asks again: a failed reconciliation loses nothing but its report.
      reporter.note('error', {
        event: 'reconciliation-failed',
        reconciliationId: order.requestId,
        why: errorSummary(error),
      });
      return null;
    }
  }

  /** Every register record, by pages (a bounded number). */
  private async registerRecords(): Promise<IsolationRecord[]> {
    const records: IsolationRecord[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_REGISTER_PAGES; page += 1) {
      const batch = await this.deps.store.register.list({ limit: LIST_MAX, after });
      records.push(...batch);
      if (batch.length < LIST_MAX) return records;
      after = batch[batch.length - 1]?.machineId;
    }
    this.deps.reporter.note('warn', {
      event: 'reconciliation-register-cut',
      why: `the register holds more than ${MAX_REGISTER_PAGES * LIST_MAX} devices; the rest waits for a later run`,
    });
    return records;
  }

  /**
   * Isolate and release actions created since `since`, tenant-wide: one list query whose pages MDE
   * links (each page a call, up to 10,000 actions). The first call is reserved below every isolation
   * and tracking poll; further pages take free slots or fail with BudgetShortError.
   */
  private async readActions(since: number): Promise<MachineAction[]> {
    const { throttle, api } = this.deps;
    const reservation = throttle.reserve({ machineactions: 1 }, PRIORITY.reconcile, 'reconcile');
    if (!(reservation instanceof Reservation))
      throw new BudgetShortError('machineactions', reservation.retryAt);
    try {
      return await withReservation(reservation, () =>
        api.listMachineActions({ type: ['Isolate', 'Unisolate'], createdSince: new Date(since) }),
      );
    } finally {
      reservation.close();
    }
  }

  /** Judges each record, writes each correction under compare-and-set, and reports each drift. */
  private async correct(
    records: IsolationRecord[],
    actions: MachineAction[],
    now: number,
  ): Promise<Pick<ReconciliationReport, 'confirmed' | 'unseen' | 'drifts'>> {
    const { store, reporter, identity, platformLiftMs = DEFAULT_PLATFORM_LIFT_MS } = this.deps;
    const clientId = await identity.clientId();
    const byMachine = new Map<string, MachineAction[]>();
    for (const action of actions) {
      const id = action.machineId.toLowerCase();
      byMachine.set(id, [...(byMachine.get(id) ?? []), action]);
    }
    const drifts: Drift[] = [];
    let confirmed = 0;
    let unseen = 0;
    for (const record of records) {
      const own = byMachine.get(record.machineId) ?? [];
      // MDE names this app's client id as requestor of what it posted (ownership.ts): the ledger's
      // proof is read only when the app does not know its own id.
      const ledger =
        own.length > 0 && clientId === null ? await store.actions.forMachine(record.machineId) : [];
      const judged = judgeRecord(record, own, {
        ours: (action) => postedByThisApp(action, ledger, clientId),
        now,
        platformLiftMs,
      });
      if (judged.kind === 'confirmed') {
        confirmed += 1;
        if (IN_FORCE_STATES.includes(record.state)) await this.confirm(record, now);
      }
      if (judged.kind === 'unseen') unseen += 1;
      if (judged.kind !== 'drift') continue;
      const { drift } = judged;
      const written = await store.register.record(
        {
          machineId: record.machineId,
          state: drift.correctedTo,
          requestId: record.requestId,
          reason: `reconciliation: ${drift.reason}`,
          ...(judged.action && { action: judged.action }),
        },
        { onlyFrom: [record.state] },
      );
      // Changed since it was read (a request is under way): the next run judges it afresh.
      if (!written.applied) continue;
      drifts.push(drift);
      reporter.note('warn', { event: 'isolation-drift', ...drift });
    }
    return { confirmed, unseen, drifts };
  }

  /**
   * MDE's list shows the isolation the register names still in force: `confirmedAt` says when (no
   * step in the record's history). Only isolations in force: a record at rest is mostly "confirmed"
   * by finding nothing, and there may be a hundred times more of them, each a store write per run.
   * A record that changed since it was read is left to the next run.
   */
  private async confirm(record: IsolationRecord, now: number): Promise<void> {
    await this.deps.store.register.record(
      {
        machineId: record.machineId,
        state: record.state,
        requestId: record.requestId,
        reason: 'reconciliation: MDE lists this isolation in force',
        confirmedAt: new Date(now).toISOString(),
      },
      { onlyFrom: [record.state], sameRequest: true },
    );
  }

  private tellExpiring(records: readonly IsolationRecord[], drifts: readonly Drift[], now: number): void {
    const tell = this.deps.expiringSoon;
    if (!tell) return;
    const drifted = new Set(drifts.map((drift) => drift.machineId));
    for (const record of records) {
      const ends = record.expiresAt ? Date.parse(record.expiresAt) : Number.NaN;
      if (!IN_FORCE_STATES.includes(record.state) || drifted.has(record.machineId)) continue;
      if (ends > now && ends - now <= EXPIRY_NOTICE_MS) tell(record, now);
    }
  }

  private async defer(order: ReconcileOrder, retryAt: number): Promise<void> {
    const next = { ...order, deferrals: order.deferrals + 1 };
    await this.deps.queue.schedule(reconcileMessage(next), new Date(retryAt));
    this.deps.reporter.note('info', {
      event: 'reconciliation-deferred',
      reconciliationId: order.requestId,
      retryAt: new Date(retryAt).toISOString(),
    });
  }
}

/**
 * How long before a record's `requestedAt` its own action may have been created: the record of a
 * request is first written once MDE answered the POST (steps/register.ts), and MDE's clock is not
 * this app's. Far beyond a round trip and a clock's skew; a read that starts earlier costs nothing more.
 */
export const ACTION_BEFORE_RECORD_MS = 10 * 60_000;

/**
 * Where the read starts: before the oldest isolation in force the register holds (its record's time,
 * less ACTION_BEFORE_RECORD_MS, so its own action is in the read), at least a day back for isolations
 * by others, at most as far back as this app ever reads a device's history.
 */
export function sinceOf(records: IsolationRecord[], now: number): number {
  const floor = now - HISTORY_LOOKBACK_DAYS * DAY_MS;
  const inForce = records
    .filter((r) => IN_FORCE_STATES.includes(r.state))
    .map((r) => Date.parse(r.requestedAt) - ACTION_BEFORE_RECORD_MS)
    .filter((t) => Number.isFinite(t));
  return Math.max(floor, Math.min(now - AT_REST_LOOKBACK_MS, ...inForce));
}

function summaryOf(report: ReconciliationReport) {
  const { drifts, ...rest } = report;
  return { ...rest, drifts: drifts.length };
}
