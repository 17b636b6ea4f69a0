/**
 * The one token source of a process. Tokens are cached and refreshed by @azure/identity (MSAL), so
 * callers ask it before every request and never keep a token themselves.
 */
import {
  type AccessToken,
  DefaultAzureCredential,
  type GetTokenOptions,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { ManagedIdentityApplication } from '@azure/msal-node';
import type { AppConfig } from '../config';

export type CredentialConfig = Pick<AppConfig, 'managedIdentityClientId' | 'authorityHost'>;

/** A credential that can also fetch a token past every cache. */
export interface AppCredential extends TokenCredential {
  /**
   * A token asked of the identity endpoint itself, for the one resend after MDE refused a token
   * (401). For a managed identity it also replaces the cached token, so later `getToken` calls hand
   * out the new one.
   */
  getFreshToken(scope: string): Promise<AccessToken | null>;
}

/** What MSAL reports when no managed identity endpoint is configured (a developer machine). */
const NO_MANAGED_IDENTITY_ENDPOINT = 'DefaultToImds';

function managedIdentityApplication(clientId: string | null): ManagedIdentityApplication {
  return new ManagedIdentityApplication({
    managedIdentityIdParams: clientId ? { userAssignedClientId: clientId } : undefined,
    // The caller retries on its own schedule; one request here.
    system: { disableInternalRetries: true },
  });
}

/**
 * Whether this process runs where a managed identity is its identity: the platform gave it an
 * identity endpoint (App Service and Functions set IDENTITY_ENDPOINT and IDENTITY_HEADER), or the
 * deployment named a user-assigned identity (AZURE_CLIENT_ID).
 */
function hasManagedIdentity(config: CredentialConfig): boolean {
  if (config.managedIdentityClientId) return true;
  return managedIdentityApplication(null).getManagedIdentitySource() !== NO_MANAGED_IDENTITY_ENDPOINT;
}

/**
 * Chosen once from the environment, never by trying credentials in turn. Where a managed identity is
 * the process's identity (in Azure), ManagedIdentityCredential alone: DefaultAzureCredential would
 * put a client secret (AZURE_CLIENT_SECRET), AZURE_TOKEN_CREDENTIALS or a developer login ahead of it
 * or in its place, so a stray app setting could change who isolates devices (docs/mde-api.md §14).
 * Elsewhere (a workstation running the CLI), DefaultAzureCredential finds the developer's login,
 * signing in at the authority of the configured cloud.
 */
function libraryCredential(config: CredentialConfig): TokenCredential {
  if (hasManagedIdentity(config)) {
    const clientId = config.managedIdentityClientId;
    return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential({ authorityHost: config.authorityHost });
}

/**
 * @azure/identity 4.x passes neither `claims` nor `forceRefresh` to MSAL for a managed identity, and
 * MSAL keeps the managed identity token cache in static state, so neither a retry nor a new
 * credential instance asks the endpoint again: only MSAL's own `forceRefresh` does. A developer
 * login has no such shared cache, and a new credential instance starts without one.
 */
class ProcessCredential implements AppCredential {
  private readonly cached: TokenCredential;

  constructor(private readonly config: CredentialConfig) {
    this.cached = libraryCredential(config);
  }

  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    return this.cached.getToken(scopes, options);
  }

  async getFreshToken(scope: string): Promise<AccessToken | null> {
    if (!hasManagedIdentity(this.config)) return libraryCredential(this.config).getToken(scope);
    const managedIdentity = managedIdentityApplication(this.config.managedIdentityClientId);
    const result = await managedIdentity.acquireToken({ resource: scope, forceRefresh: true });
    return {
      token: result.accessToken,
      expiresOnTimestamp: result.expiresOn?.getTime() ?? Date.now(),
      tokenType: 'Bearer',
    };
  }
}

export function createCredential(config: CredentialConfig): AppCredential {
  return new ProcessCredential(config);
}
