/**
 * Tokens for the customer tenants of a multi-tenant deployment, without a secret (docs/mde-api.md §18):
 * the app's user-assigned managed identity is a federated credential of one multi-tenant app
 * registration, and each tenant consented to that app. A tenant's token is the app's, asked of that
 * tenant's authority with the managed identity's own token as the client assertion
 * (`ClientAssertionCredential`). One credential per tenant, each with its own MSAL cache, so a token of
 * one tenant can never answer for another.
 */
import { ClientAssertionCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { Tenant } from '../tenants/tenant';
import type { AppCredential } from './credential';

/**
 * The audience of the managed identity's token that Entra exchanges (the federated credential's
 * `audiences`): one per Entra cloud, US Government's for the .us authority.
 * https://learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity
 */
export function tokenExchangeAudience(authorityHost: string): string {
  return new URL(authorityHost).hostname.endsWith('.us')
    ? 'api://AzureADTokenExchangeUSGov'
    : 'api://AzureADTokenExchange';
}

export interface TenantCredentialConfig {
  /** Application (client) id of the multi-tenant app registration (MDE_TENANT_APP_CLIENT_ID). */
  appClientId: string;
  /** Client id of the user-assigned identity federated with it (AZURE_CLIENT_ID). */
  managedIdentityClientId: string;
}

export class TenantCredentials {
  private readonly byTenant = new Map<string, AppCredential>();
  /** The managed identity's tokens, the assertions; MSAL caches them per audience. */
  private readonly identity: TokenCredential;

  constructor(private readonly config: TenantCredentialConfig) {
    this.identity = new ManagedIdentityCredential({ clientId: config.managedIdentityClientId });
  }

  /**
   * The credential of `tenant`: made once, then the same one, with its own token cache. Its
   * `getFreshToken` is its `getToken`: @azure/identity offers no way past a confidential client's
   * cache, so after a refused token the tenant's calls fail until that token expires (an hour at most).
   */
  forTenant(tenant: Tenant): AppCredential {
    let credential = this.byTenant.get(tenant.tenantId);
    if (!credential) {
      const audience = `${tokenExchangeAudience(tenant.authorityHost)}/.default`;
      const assertionCredential = new ClientAssertionCredential(
        tenant.tenantId,
        this.config.appClientId,
        async () => {
          const assertion = await this.identity.getToken(audience);
          if (!assertion) throw new Error('the managed identity gave no token to present as the assertion');
          return assertion.token;
        },
        // The tenant's cloud authority is known: MSAL's instance discovery (a call to the public
        // cloud) adds nothing.
        { authorityHost: tenant.authorityHost, disableInstanceDiscovery: true },
      );
      credential = {
        getToken: (scopes, options) => assertionCredential.getToken(scopes, options),
        getFreshToken: (scope) => assertionCredential.getToken(scope),
      };
      this.byTenant.set(tenant.tenantId, credential);
    }
    return credential;
  }
}
