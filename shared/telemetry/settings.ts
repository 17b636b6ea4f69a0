/**
 * Whether and how this process exports telemetry, read from the two app settings Microsoft documents
 * for Application Insights with Entra ID authentication: APPLICATIONINSIGHTS_CONNECTION_STRING (where
 * to send) and APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`Authorization=AAD`, with `ClientId=` for a
 * user-assigned identity), https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication
 * and https://learn.microsoft.com/azure/azure-functions/functions-app-settings#applicationinsights_authentication_string.
 * docs/decisions/0025-opentelemetry-exporter-at-app-start.md
 */
import { GUID } from '../kernel/ids';

type Env = Readonly<Record<string, string | undefined>>;

export const TELEMETRY_SETTINGS = {
  connectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
  authentication: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
} as const;

export interface TelemetrySettings {
  connectionString: string;
  /**
   * Entra ID sign-in with the app's managed identity (`clientId` null: system-assigned), or null: the
   * connection string's instrumentation key alone, which ingestion refuses once local auth is off.
   */
  managedIdentity: { clientId: string | null } | null;
}

export class TelemetrySettingsError extends Error {}

/** `Key=value;Key=value`, keys compared without case, as the connection and authentication strings are written. */
function pairsOf(text: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) pairs.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return pairs;
}

/**
 * The settings, or null when no connection string is set (a local run, the CLI, the tests): nothing
 * is exported then. Throws TelemetrySettingsError, naming the setting, for a value that cannot be
 * used, never echoing it.
 */
export function readTelemetrySettings(env: Env): TelemetrySettings | null {
  const connectionString = env[TELEMETRY_SETTINGS.connectionString]?.trim();
  if (!connectionString) return null;
  const ingestion = pairsOf(connectionString).get('ingestionendpoint');
  if (!ingestion || !/^https:\/\/[^\s/]+\/?$/i.test(ingestion))
    throw new TelemetrySettingsError(
      `${TELEMETRY_SETTINGS.connectionString} has no IngestionEndpoint=https://host: copy the connection string from the Application Insights resource`,
    );
  const authentication = env[TELEMETRY_SETTINGS.authentication]?.trim();
  if (!authentication) return { connectionString, managedIdentity: null };
  const pairs = pairsOf(authentication);
  if (pairs.get('authorization')?.toUpperCase() !== 'AAD')
    throw new TelemetrySettingsError(
      `${TELEMETRY_SETTINGS.authentication} must be Authorization=AAD, with ;ClientId=<guid> for a user-assigned identity`,
    );
  const clientId = pairs.get('clientid') || null;
  if (clientId !== null && !GUID.test(clientId))
    throw new TelemetrySettingsError(
      `${TELEMETRY_SETTINGS.authentication}: ClientId must be the identity's client id, a GUID`,
    );
  return { connectionString, managedIdentity: { clientId } };
}
