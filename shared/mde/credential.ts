/**
 * The one token source of a process. Tokens are cached and refreshed by @azure/identity (MSAL), so
 * callers ask it before every request and never keep a token themselves.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { AppConfig } from '../config';

export type CredentialConfig = Pick<AppConfig, 'managedIdentityClientId' | 'authorityHost'>;

/**
 * A user-assigned identity (AZURE_CLIENT_ID) goes straight to ManagedIdentityCredential, so a
 * developer's Azure CLI login can never stand in for it. Otherwise DefaultAzureCredential picks the
 * system-assigned identity in Azure (IDENTITY_ENDPOINT/IDENTITY_HEADER) or a developer login locally,
 * signing in at the authority of the configured cloud.
 */
export function createCredential(config: CredentialConfig): TokenCredential {
  if (config.managedIdentityClientId) {
    return new ManagedIdentityCredential({ clientId: config.managedIdentityClientId });
  }
  return new DefaultAzureCredential({ authorityHost: config.authorityHost });
}
