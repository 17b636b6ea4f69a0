/**
 * The quota and breaker gauges (shared/dispatch/gauges.ts) read back from a real OpenTelemetry
 * MeterProvider with an in-memory reader: quota used and free per API window from a throttle on a
 * fixed clock, the breaker from the store, and no breaker point (rather than "closed") when the store
 * does not answer; each listed tenant's lane with its `tenant`. The drift counter (metrics.ts) counts
 * by kind only.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { parseRateLimits } from '../../shared/config';
import { GAUGES, observeGauges } from '../../shared/dispatch/gauges';
import { METRICS, withMetrics } from '../../shared/dispatch/metrics';
import type { Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import { silentReporter } from '../support/reporter';

type Point = { attributes: Record<string, unknown>; value: unknown };

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';

function points(collected: ResourceMetrics | undefined, name: string): Point[] {
  return (collected?.scopeMetrics ?? [])
    .flatMap((scope) => scope.metrics)
    .filter((metric) => metric.descriptor.name === name)
    .flatMap((metric) => metric.dataPoints as Point[]);
}

function meterWithReader() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported only when the test collects (forceFlush), never on a timer of its own.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    meter: provider.getMeter('test'),
    async collect(): Promise<ResourceMetrics | undefined> {
      await reader.forceFlush();
      return exporter.getMetrics().at(-1);
    },
    shutdown: () => provider.shutdown(),
  };
}

describe('gauges', () => {
  const now = 10_000;
  let throttle: MdeThrottle;
  let otel: ReturnType<typeof meterWithReader>;

  beforeEach(() => {
    throttle = new MdeThrottle({
      rateLimits: parseRateLimits('5/60s,20/1h'),
      headroom: 0,
      clock: { now: () => now },
    });
    otel = meterWithReader();
  });
  afterEach(async () => {
    await throttle.stop();
    await otel.shutdown();
  });

  it('shows the quota used and free per API window, and the breaker from the store', async () => {
    const reservation = throttle.reserve({ machines: 1, isolate: 2 }, 1) as Reservation;
    await reservation.call('machines', async () => 'looked up');
    await reservation.call('isolate', async () => 'posted');
    await reservation.call('isolate', async () => 'posted again');
    reservation.close();
    const quota = jest.fn(() => throttle.usage());
    const stop = observeGauges(otel.meter, {
      quota,
      breaker: async () => ({ open: true, count: 7 }),
      approvalsPending: async () => 3,
    });
    const collected = await otel.collect();
    const value = (name: string, api: string, window: string) =>
      points(collected, name).find((p) => p.attributes.api === api && p.attributes.window === window)?.value;
    expect(value(GAUGES.quotaUsed, 'isolate', '60s')).toBe(2);
    expect(value(GAUGES.quotaFree, 'isolate', '60s')).toBe(3);
    expect(value(GAUGES.quotaUsed, 'isolate', '3600s')).toBe(2);
    expect(value(GAUGES.quotaFree, 'isolate', '3600s')).toBe(18);
    expect(value(GAUGES.quotaUsed, 'machines', '60s')).toBe(1);
    expect(value(GAUGES.quotaFree, 'machineactions', '60s')).toBe(5);
    // Low-cardinality only: the API and the window.
    for (const point of points(collected, GAUGES.quotaUsed))
      expect(Object.keys(point.attributes).sort()).toEqual(['api', 'window']);
    expect(points(collected, GAUGES.breakerOpen).map((p) => p.value)).toEqual([1]);
    expect(points(collected, GAUGES.breakerCount).map((p) => p.value)).toEqual([7]);
    expect(points(collected, GAUGES.approvalsPending)).toEqual([
      expect.objectContaining({ attributes: {}, value: 3 }),
    ]);

    stop();
    quota.mockClear();
    await otel.collect();
    expect(quota).not.toHaveBeenCalled();
  });

  it("shows each listed tenant's lane with its tenant, the deployment's lane as before", async () => {
    const reservation = throttle.reserve({ isolate: 1 }, 1) as Reservation;
    await reservation.call('isolate', async () => 'posted in Contoso');
    reservation.close();
    const idle = new MdeThrottle({
      rateLimits: parseRateLimits('5/60s'),
      headroom: 0,
      clock: { now: () => now },
    });
    observeGauges(otel.meter, {
      quota: () => idle.usage(),
      breaker: async () => ({ open: false, count: 0 }),
      approvalsPending: async () => 0,
      tenantLanes: () => [
        { tenantId: CONTOSO, quota: () => throttle.usage(), breaker: async () => ({ open: true, count: 4 }) },
        // A tenant's store that does not answer leaves its breaker out, and no other lane's.
        { tenantId: FABRIKAM, quota: () => idle.usage(), breaker: () => Promise.reject(new Error('down')) },
      ],
    });
    const collected = await otel.collect();
    const isolateUsed = points(collected, GAUGES.quotaUsed).filter(
      (p) => p.attributes.api === 'isolate' && p.attributes.window === '60s',
    );
    expect(isolateUsed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ attributes: { api: 'isolate', window: '60s' }, value: 0 }),
        expect.objectContaining({ attributes: { tenant: CONTOSO, api: 'isolate', window: '60s' }, value: 1 }),
        expect.objectContaining({
          attributes: { tenant: FABRIKAM, api: 'isolate', window: '60s' },
          value: 0,
        }),
      ]),
    );
    expect(isolateUsed).toHaveLength(3);
    expect(points(collected, GAUGES.breakerOpen)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ attributes: {}, value: 0 }),
        expect.objectContaining({ attributes: { tenant: CONTOSO }, value: 1 }),
      ]),
    );
    expect(points(collected, GAUGES.breakerCount).map((p) => [p.attributes.tenant, p.value])).toEqual(
      expect.arrayContaining([
        [undefined, 0],
        [CONTOSO, 4],
      ]),
    );
    expect(points(collected, GAUGES.breakerOpen)).toHaveLength(2);
    // The approvals are the deployment's, for every tenant: one series.
    expect(points(collected, GAUGES.approvalsPending)).toEqual([
      expect.objectContaining({ attributes: {}, value: 0 }),
    ]);
    await idle.stop();
  });

  it('counts the approvals pending in the store, and leaves them out when only that read fails', async () => {
    observeGauges(otel.meter, {
      quota: () => throttle.usage(),
      breaker: async () => ({ open: false, count: 0 }),
      approvalsPending: () => Promise.reject(new Error('approvals table unreadable')),
    });
    const collected = await otel.collect();
    expect(points(collected, GAUGES.approvalsPending)).toEqual([]);
    expect(points(collected, GAUGES.breakerOpen).map((p) => p.value)).toEqual([0]);
  });

  it('leaves the breaker out, never shown closed, when the store does not answer', async () => {
    observeGauges(otel.meter, {
      quota: () => throttle.usage(),
      breaker: () => Promise.reject(new Error('store down')),
      approvalsPending: () => Promise.reject(new Error('store down')),
    });
    const collected = await otel.collect();
    expect(points(collected, GAUGES.breakerOpen)).toEqual([]);
    expect(points(collected, GAUGES.approvalsPending)).toEqual([]);
    expect(points(collected, GAUGES.quotaFree).length).toBeGreaterThan(0);
  });

  it('counts drift by kind, nothing else', async () => {
    const reporter = withMetrics(silentReporter, otel.meter);
    reporter.note('warn', {
      event: 'isolation-drift',
      kind: 'lifted-by-platform',
      machineId: 'a'.repeat(40),
    });
    reporter.note('warn', {
      event: 'isolation-drift',
      kind: 'lifted-by-platform',
      machineId: 'b'.repeat(40),
    });
    reporter.note('info', { event: 'reconciliation' });
    const drift = points(await otel.collect(), METRICS.driftFound);
    expect(drift).toEqual([
      expect.objectContaining({ attributes: { kind: 'lifted-by-platform' }, value: 2 }),
    ]);
  });
});
