/**
 * Gauges of what dispatch holds rather than reports (shared/dispatch/metrics.ts counts the records):
 * the quota used and free per API window, as this process's throttle sees the shared budget, and the
 * shared blast-radius breaker and the approvals still pending, read from the store once per collection. Dimensions are
 * low-cardinality only: the API, the window, and for a listed tenant's lane its `tenant` (the tenant
 * list bounds it; docs/decisions/0031-a-worker-per-tenant.md). The deployment's own lane has no
 * `tenant`, so a single-tenant deployment's series are as they were. With no MeterProvider registered
 * nobody collects, so the store is never read for them.
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import type { SharedBreakerStatus } from '../state/store';
import type { QuotaUse } from './quota/throttle';

/** The gauges, by name; a contract like the counters' (docs/records.md). */
export const GAUGES = {
  quotaUsed: 'mde_isolator.quota.used',
  quotaFree: 'mde_isolator.quota.free',
  breakerOpen: 'mde_isolator.breaker.open',
  breakerCount: 'mde_isolator.breaker.count',
  approvalsPending: 'mde_isolator.approvals.pending',
} as const;

/** What one lane's gauges read: its quota budget and its breaker. */
export interface LaneGaugeSources {
  quota(): QuotaUse[];
  /** The shared breaker's state; a failed read leaves the breaker gauges out of that collection. */
  breaker(): Promise<Pick<SharedBreakerStatus, 'open' | 'count'>>;
}

/** The deployment's lane, each listed tenant's, and the approvals (the deployment's, for every tenant). */
export interface GaugeSources extends LaneGaugeSources {
  /** Approvals pending in the store; a failed read leaves the gauge out of that collection. */
  approvalsPending(): Promise<number>;
  /** The listed tenants' lanes made so far (a lane is made on its tenant's first work). */
  tenantLanes?(): ({ tenantId: string } & LaneGaugeSources)[];
}

/** Observes `sources` on every collection of `meter` until the answer is called. */
export function observeGauges(meter: Meter, sources: GaugeSources): () => void {
  const used = meter.createObservableGauge(GAUGES.quotaUsed, {
    description: 'MDE calls counted in the quota window, by API and window',
  });
  const free = meter.createObservableGauge(GAUGES.quotaFree, {
    description: 'MDE calls the quota window still allows, by API and window',
  });
  const open = meter.createObservableGauge(GAUGES.breakerOpen, {
    description: 'Whether the blast-radius breaker is open (1) or closed (0)',
  });
  const count = meter.createObservableGauge(GAUGES.breakerCount, {
    description: 'Isolations the blast-radius breaker counts in its window',
  });
  const pending = meter.createObservableGauge(GAUGES.approvalsPending, {
    description: 'Isolations held for approval and not yet decided or expired',
  });
  type Result = Parameters<Parameters<Meter['addBatchObservableCallback']>[0]>[0];
  const observeLane = async (result: Result, lane: LaneGaugeSources, attributes: Attributes) => {
    for (const use of lane.quota()) {
      const dimensions = { ...attributes, api: use.api, window: use.window };
      result.observe(used, use.used, dimensions);
      result.observe(free, use.free, dimensions);
    }
    // A store that does not answer shows as a gap in the breaker's series, never as a closed breaker.
    const breaker = await lane.breaker().catch(() => null);
    if (breaker !== null) {
      result.observe(open, breaker.open ? 1 : 0, attributes);
      result.observe(count, breaker.count, attributes);
    }
  };
  const observe = async (result: Result) => {
    const tenants = sources.tenantLanes?.() ?? [];
    const [held] = await Promise.all([
      sources.approvalsPending().catch(() => null),
      observeLane(result, sources, {}),
      ...tenants.map((lane) => observeLane(result, lane, { tenant: lane.tenantId })),
    ]);
    // Likewise: no point rather than a zero that would say nobody waits for a decision.
    if (held !== null) result.observe(pending, held);
  };
  const instruments = [used, free, open, count, pending];
  meter.addBatchObservableCallback(observe, instruments);
  return () => meter.removeBatchObservableCallback(observe, instruments);
}
