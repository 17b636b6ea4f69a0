/**
 * The runtime's gauges with a tenant list (docs/decisions/0031-a-worker-per-tenant.md): each listed
 * tenant's lane reports its quota and its own breaker with a `tenant` attribute, beside the
 * deployment's lane, which keeps the series it always had.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { GAUGES } from '../../shared/dispatch/gauges';
import { createRuntime, type Runtime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import { silentReporter } from '../support/reporter';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';

const env = {
  ISOLATION_MODE: 'enforce',
  AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444',
  MDE_TENANT_APP_CLIENT_ID: '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5',
  MDE_TENANTS: JSON.stringify([
    { tenantId: CONTOSO, displayName: 'Contoso' },
    { tenantId: FABRIKAM, displayName: 'Fabrikam' },
  ]),
};

describe("a runtime's gauges with a tenant list", () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported only when the test collects (forceFlush), never on a timer of its own.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  let runtime: Runtime;

  beforeEach(() => {
    runtime = createRuntime({
      env,
      startWorker: false,
      reporter: silentReporter,
      meter: provider.getMeter('test'),
      store: new InMemoryStateStore(),
      tenantStore: () => new InMemoryStateStore(),
    });
  });
  afterEach(() => runtime.close());
  afterAll(() => provider.shutdown());

  const collect = async (name: string) => {
    await reader.forceFlush();
    return (exporter.getMetrics().at(-1)?.scopeMetrics ?? [])
      .flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === name)
      .flatMap((metric) => metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })));
  };

  it("reports a tenant's own breaker and quota under its tenant, once its lane exists", async () => {
    await runtime.tenant(CONTOSO).store.breaker.trip('over the blast radius in Contoso');
    expect(await collect(GAUGES.breakerOpen)).toEqual(
      expect.arrayContaining([
        { attributes: {}, value: 0 },
        { attributes: { tenant: CONTOSO }, value: 1 },
      ]),
    );
    // Fabrikam has had no work here yet: no lane, no series.
    expect(await collect(GAUGES.breakerOpen)).toHaveLength(2);
    const tenantsOfQuota = new Set((await collect(GAUGES.quotaFree)).map((p) => p.attributes.tenant));
    expect(tenantsOfQuota).toEqual(new Set([undefined, CONTOSO]));
  });
});
