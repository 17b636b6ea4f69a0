/**
 * The OpenTelemetry set-up Microsoft documents for the Node worker with `telemetryMode: OpenTelemetry`
 * (https://learn.microsoft.com/azure/azure-functions/opentelemetry-howto): trace, log and metric
 * providers exporting to Azure Monitor, and the Azure Functions instrumentation, which tells the host
 * that the worker sends its own logs and runs each handler in the trace context the host gives the
 * invocation. Signed in with the app's managed identity, since local authentication is off on the
 * Application Insights resource (infra/modules/monitoring.bicep). Wiring only: what is counted is in
 * shared/dispatch/metrics.ts and gauges.ts, through the API's global meter this registers.
 * docs/decisions/0025-opentelemetry-exporter-at-app-start.md
 */
import { AzureFunctionsInstrumentation } from '@azure/functions-opentelemetry-instrumentation';
import type { TokenCredential } from '@azure/identity';
import {
  type AzureMonitorExporterOptions,
  AzureMonitorLogExporter,
  AzureMonitorMetricExporter,
  AzureMonitorTraceExporter,
} from '@azure/monitor-opentelemetry-exporter';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { TelemetrySettings } from './settings';

/** How often metrics are exported: the Azure Monitor exporter's own default interval. */
export const METRIC_EXPORT_INTERVAL_MS = 60_000;

export interface TelemetryOptions {
  /** Replaces the managed identity (tests: the simulator's identity endpoint does the same job). */
  credential?: TokenCredential;
  /** Default: keep telemetry that failed to send on disk and send it again, as the exporter does. */
  disableOfflineStorage?: boolean;
  exportIntervalMs?: number;
}

export interface Telemetry {
  /** Exports what is pending now (tests; a process about to end). */
  flush(): Promise<void>;
  /** Flushes, stops the instrumentation and unregisters the providers from the API. */
  shutdown(): Promise<void>;
}

/**
 * The credential the authentication string names, or none: the connection string's key alone. Made on
 * the first export (a minute after start), not while the host loads the app: @azure/identity is a
 * large share of what a cold start would pay for telemetry (docs/architecture.md §8).
 */
function credentialOf(settings: TelemetrySettings): TokenCredential | undefined {
  const identity = settings.managedIdentity;
  if (!identity) return undefined;
  let credential: TokenCredential | undefined;
  return {
    getToken(scopes, options) {
      credential ??= (require('../mde/credential') as typeof import('../mde/credential')).createCredential({
        managedIdentityClientId: identity.clientId,
        // Serves only a developer login (no identity endpoint), where the public cloud's is right.
        authorityHost: 'https://login.microsoftonline.com',
      });
      return credential.getToken(scopes, options);
    },
  };
}

export function startAzureMonitorTelemetry(
  settings: TelemetrySettings,
  options: TelemetryOptions = {},
): Telemetry {
  const exporter: AzureMonitorExporterOptions = {
    connectionString: settings.connectionString,
    credential: options.credential ?? credentialOf(settings),
    disableOfflineStorage: options.disableOfflineStorage,
  };
  const resource = resourceFromAttributes({ 'service.name': 'mde-isolator' });
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new AzureMonitorTraceExporter(exporter))],
  });
  // The context manager and the W3C propagator: the instrumentation runs each handler in its trace.
  tracerProvider.register();
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor(new AzureMonitorLogExporter(exporter))],
  });
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new AzureMonitorMetricExporter(exporter),
        exportIntervalMillis: options.exportIntervalMs ?? METRIC_EXPORT_INTERVAL_MS,
      }),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  const instrumentation = new AzureFunctionsInstrumentation();
  instrumentation.setTracerProvider(tracerProvider);
  instrumentation.setLoggerProvider(loggerProvider);
  instrumentation.enable();
  const flush = async () => {
    await Promise.all([tracerProvider.forceFlush(), loggerProvider.forceFlush(), meterProvider.forceFlush()]);
  };
  return {
    flush,
    async shutdown() {
      instrumentation.disable();
      await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown(), meterProvider.shutdown()]);
      metrics.disable();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
