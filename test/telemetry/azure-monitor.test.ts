/**
 * The telemetry set-up (shared/telemetry/, functions/telemetry.ts) with the real Azure Monitor
 * exporter: the runtime's metrics reach a loopback stand-in of the ingestion endpoint, sent with a
 * token the real @azure/identity got from the managed identity endpoint (the simulator's, as
 * IDENTITY_ENDPOINT names it in Azure). Without a connection string nothing is set up.
 */
import { metrics } from '@opentelemetry/api';
import { GAUGES } from '../../shared/dispatch/gauges';
import { METRICS } from '../../shared/dispatch/metrics';
import { contractProblems } from '../../shared/kernel/record-fields';
import { createRuntime, type Runtime } from '../../shared/runtime';
import { startAzureMonitorTelemetry, type Telemetry } from '../../shared/telemetry/azure-monitor';
import { readTelemetrySettings, TelemetrySettingsError } from '../../shared/telemetry/settings';
import type { RunningSimulator } from '../../simulator';
import { mdeAlert } from '../support/alert-payloads';
import { pointIdentityAt } from '../support/identity';
import { type IngestionEndpoint, startIngestionEndpoint } from '../support/ingestion-endpoint';
import { silentReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';
import { trustLoopback } from '../support/trust-loopback';

const KEY = '1c0ffee0-1111-4222-8333-444444444444';
const CONNECTION = (host: string) => `InstrumentationKey=${KEY};IngestionEndpoint=${host}/`;

describe('telemetry settings', () => {
  it('sets nothing up without a connection string', () => {
    expect(readTelemetrySettings({})).toBeNull();
    jest.isolateModules(() => require('../../functions/telemetry'));
    expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
  });

  it('leaves telemetry off on a setting it cannot use, with one record naming the setting', () => {
    const written = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    process.env.APPLICATIONINSIGHTS_CONNECTION_STRING = 'InstrumentationKey=s3cr3t';
    let lines: unknown[][];
    try {
      jest.isolateModules(() => require('../../functions/telemetry'));
      lines = [...written.mock.calls];
    } finally {
      delete process.env.APPLICATIONINSIGHTS_CONNECTION_STRING;
      written.mockRestore();
    }
    expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(String(lines[0][0]));
    expect(record).toMatchObject({ event: 'telemetry-not-started', level: 'error' });
    expect(record.why).toMatch(/^APPLICATIONINSIGHTS_CONNECTION_STRING /);
    expect(JSON.stringify(record)).not.toContain('s3cr3t');
    expect(contractProblems(record)).toEqual([]);
  });

  it('signs in with the managed identity the authentication string names', () => {
    const env = {
      APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION(
        'https://westeurope-5.in.applicationinsights.azure.com',
      ),
    };
    expect(readTelemetrySettings(env)?.managedIdentity).toBeNull();
    expect(
      readTelemetrySettings({ ...env, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' })
        ?.managedIdentity,
    ).toEqual({ clientId: null });
    expect(
      readTelemetrySettings({
        ...env,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `Authorization=AAD;ClientId=${KEY}`,
      })?.managedIdentity,
    ).toEqual({ clientId: KEY });
  });

  it('refuses a value it cannot use, naming the setting without echoing the value', () => {
    const cases = [
      { APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${KEY}` },
      { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION('http://in.example') },
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION('https://in.example'),
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=Key;Secret=s3cr3t',
      },
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION('https://in.example'),
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=s3cr3t',
      },
    ];
    for (const env of cases) {
      expect(() => readTelemetrySettings(env)).toThrow(TelemetrySettingsError);
      expect(() => readTelemetrySettings(env)).toThrow(/^APPLICATIONINSIGHTS_/);
      expect(() => readTelemetrySettings(env)).not.toThrow(/s3cr3t|in\.example|1c0ffee0/);
    }
  });
});

describe('metrics exported to Azure Monitor', () => {
  // The exporter's own usage reports go to Microsoft's endpoints and ask the VM metadata service:
  // neither exists here.
  const quiet = {
    APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
    APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
    APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
  };
  let sim: RunningSimulator;
  let ingestion: IngestionEndpoint;
  let restoreIdentity: () => void;
  let telemetry: Telemetry;
  let runtime: Runtime;

  beforeAll(async () => {
    Object.assign(process.env, quiet);
    sim = await startSimulatorWithIdentity();
    restoreIdentity = pointIdentityAt(sim);
    ingestion = await startIngestionEndpoint();
    trustLoopback(ingestion.certificate);
    const settings = readTelemetrySettings({
      APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION(ingestion.host),
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
    });
    if (!settings) throw new Error('no telemetry settings');
    telemetry = startAzureMonitorTelemetry(settings, { disableOfflineStorage: true });
    // The default meter: the global one the set-up registered.
    runtime = createRuntime({ env: { ...sim.env(), ISOLATION_MODE: 'dry-run' }, reporter: silentReporter });
  });
  afterAll(async () => {
    await runtime.close();
    await telemetry.shutdown();
    await ingestion.close();
    await sim.close();
    restoreIdentity();
    for (const name of Object.keys(quiet)) delete process.env[name];
  });

  it('sends the counters and the gauges with the managed identity’s token', async () => {
    await runtime.receiveAlerts(mdeAlert({ dnsName: 'ws-finance-01.contoso.local' }));
    expect(await runtime.waitForIdle(30_000)).toBe(true);
    await telemetry.flush();

    const names = ingestion.received.flatMap(({ envelope }) =>
      (envelope.data?.baseData?.metrics ?? []).map((metric) => metric.name),
    );
    expect([...new Set(names)]).toEqual(
      expect.arrayContaining([METRICS.requests, GAUGES.quotaFree, GAUGES.breakerOpen]),
    );
    const authorizations = new Set(ingestion.received.map(({ authorization }) => authorization));
    expect(authorizations.size).toBe(1);
    const [authorization] = authorizations;
    expect(authorization).toMatch(/^Bearer \S+$/);
    // The token the simulator's identity endpoint issued for Azure Monitor's audience.
    const claims = JSON.parse(
      Buffer.from(String(authorization).split(' ')[1].split('.')[1], 'base64url').toString(),
    ) as { aud: string };
    expect(claims.aud).toBe('https://monitor.azure.com');
  });
});
