/**
 * The one token source of a process. Tokens are cached and refreshed by @azure/identity (MSAL); the
 * JSON client reuses the token it was last handed only until the credential would renew it
 * (shared/http/json-client.ts), and no other caller keeps one.
 */
import {
  type AccessToken,
  DefaultAzureCredential,
  EnvironmentCredential,
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

/** Which identity signs this process's tokens; see `signInOf`. */
export type SignIn =
  | 'platform-managed-identity'
  | 'app-registration'
  | 'user-assigned-managed-identity'
  | 'developer-login';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The one rule, decided from the environment and never by trying credentials in turn (docs/mde-api.md
 * §14). Where the platform gives an identity endpoint (App Service and Functions set IDENTITY_ENDPOINT
 * and IDENTITY_HEADER), its managed identity, whatever else is set: a stray AZURE_CLIENT_SECRET app
 * setting must never change who isolates devices. Elsewhere, AZURE_CLIENT_ID with a client secret or
 * certificate is an app registration (a workstation), AZURE_CLIENT_ID alone a user-assigned identity
 * (an Azure VM's IMDS), and nothing the developer's own login. MSAL reads the endpoint variables from
 * process.env itself, so the platform check always looks there.
 */
export function signInOf(config: Pick<AppConfig, 'managedIdentityClientId'>, env: Env = process.env): SignIn {
  if (managedIdentityApplication(null).getManagedIdentitySource() !== NO_MANAGED_IDENTITY_ENDPOINT)
    return 'platform-managed-identity';
  if (config.managedIdentityClientId)
    return env.AZURE_CLIENT_SECRET || env.AZURE_CLIENT_CERTIFICATE_PATH
      ? 'app-registration'
      : 'user-assigned-managed-identity';
  return 'developer-login';
}

function isManagedIdentity(signIn: SignIn): boolean {
  return signIn === 'platform-managed-identity' || signIn === 'user-assigned-managed-identity';
}

/**
 * The credential of `signInOf`. DefaultAzureCredential would put a client secret,
 * AZURE_TOKEN_CREDENTIALS or a developer login ahead of a managed identity, so it serves only where no
 * identity is named. The app registration signs in at the configured cloud's authority, which is
 * known, so MSAL's instance discovery (a call to the public cloud's login host) adds nothing.
 */
function libraryCredential(config: CredentialConfig): TokenCredential {
  const clientId = config.managedIdentityClientId;
  switch (signInOf(config)) {
    case 'platform-managed-identity':
    case 'user-assigned-managed-identity':
      return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
    case 'app-registration':
      return new EnvironmentCredential({
        authorityHost: config.authorityHost,
        disableInstanceDiscovery: true,
      });
    case 'developer-login':
      return new DefaultAzureCredential({ authorityHost: config.authorityHost });
  }
}

/**
 * @azure/identity 4.x passes neither `claims` nor `forceRefresh` to MSAL for a managed identity, and
 * MSAL keeps the managed identity token cache in static state, so neither a retry nor a new
 * credential instance asks the endpoint again: only MSAL's own `forceRefresh` does. A developer
 * login or an app registration has no such shared cache, and a new credential instance starts without
 * one.
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
    if (!isManagedIdentity(signInOf(this.config))) return libraryCredential(this.config).getToken(scope);
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
