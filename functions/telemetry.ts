/**
 * Telemetry set up once per process, before any function registers: package.json `main` lists this
 * file first, as Microsoft's OpenTelemetry set-up for the Node worker has it
 * (https://learn.microsoft.com/azure/azure-functions/opentelemetry-howto), so the Azure Functions
 * instrumentation is in place when the host starts the app. Only with
 * APPLICATIONINSIGHTS_CONNECTION_STRING set (Azure): otherwise nothing is loaded, and a cold start
 * pays for one settings read (docs/architecture.md §8). A setting that cannot be used leaves telemetry
 * off, never the app: the host still writes the logs then.
 * docs/decisions/0025-opentelemetry-exporter-at-app-start.md
 */
import { writeRecord } from '../shared/kernel/invocation-log';
import {
  readTelemetrySettings,
  type TelemetrySettings,
  TelemetrySettingsError,
} from '../shared/telemetry/settings';

function settingsOrNone(env: NodeJS.ProcessEnv): TelemetrySettings | null {
  try {
    return readTelemetrySettings(env);
  } catch (error) {
    if (!(error instanceof TelemetrySettingsError)) throw error;
    writeRecord('error', { level: 'error', event: 'telemetry-not-started', why: error.message });
    return null;
  }
}

const settings = settingsOrNone(process.env);
if (settings)
  (
    require('../shared/telemetry/azure-monitor') as typeof import('../shared/telemetry/azure-monitor')
  ).startAzureMonitorTelemetry(settings);
