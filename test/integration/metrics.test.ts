/**
 * Dispatch's metrics (shared/dispatch/metrics.ts) from one storm through the whole pipeline, read back
 * from a real OpenTelemetry MeterProvider with an in-memory reader: the counts equal the outcomes.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { METRICS } from '../../shared/dispatch/metrics';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, startHarness } from './harness';

const DOMAIN = 'contoso.local';

/** Every data point of the instrument `name`, with its attributes. */
function points(collected: ResourceMetrics, name: string) {
  return collected.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .filter((metric) => metric.descriptor.name === name)
    .flatMap((metric) => metric.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]);
}

describe('metrics of a storm', () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported only when the test collects (forceFlush), never on a timer of its own.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ meter: provider.getMeter('test') });
  });
  afterAll(async () => {
    await h.close();
    await provider.shutdown();
  });

  it('counts every request by outcome, and times each isolation', async () => {
    const devices = ['ws-finance-01', 'ws-hr-02', 'dc01', 'kiosk-12'].map((name) => `${name}.${DOMAIN}`);
    const alerts = devices.flatMap((dnsName) => [mdeAlert({ dnsName }), mdeAlert({ dnsName })]);
    await h.submit(alerts);
    await h.settle();
    await reader.forceFlush();
    const [collected] = exporter.getMetrics().slice(-1);

    const byOutcome = new Map<string, number>();
    for (const outcome of h.outcomes)
      byOutcome.set(outcome.outcome, (byOutcome.get(outcome.outcome) ?? 0) + 1);
    const counted = new Map<string, number>();
    for (const point of points(collected, METRICS.requests)) {
      const outcome = String(point.attributes.outcome);
      counted.set(outcome, (counted.get(outcome) ?? 0) + Number(point.value));
    }
    expect(h.outcomes.length).toBeGreaterThanOrEqual(devices.length);
    expect(counted).toEqual(byOutcome);

    const succeeded = h.outcomes.filter((o) => o.outcome === 'succeeded' && o.action === 'isolate');
    expect(succeeded.length).toBeGreaterThan(0);
    const timed = points(collected, METRICS.timeToIsolate).map((p) => (p.value as { count: number }).count);
    expect(timed.reduce((a, b) => a + b, 0)).toBe(succeeded.length);
    // Only low-cardinality dimensions: never a device, an alert or a request.
    for (const point of points(collected, METRICS.requests))
      expect(Object.keys(point.attributes).sort()).toEqual(['action', 'mode', 'outcome', 'rule']);
  });
});
