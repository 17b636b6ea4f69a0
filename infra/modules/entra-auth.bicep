// App Service authentication (Easy Auth) with Entra ID, for the manual endpoints: a caller brings a token
// for the operator-supplied app registration, App Service validates it and hands the function the signed-in
// principal in x-ms-client-principal, a header external requests cannot set while authentication is on
// (https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities). Easy Auth cannot
// require an app role per path, so the function checks the principal's roles claim for Isolation.Operator
// (shared/manual/caller.ts). The paths that stay on their function key (alerts) or anonymous (health,
// OpenAPI) are excluded: relays and probes bring no token.
// https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad

param functionAppName string

@description('Application (client) id of the app registration that defines the Isolation.Operator app role.')
param clientId string

@description('Paths Easy Auth does not ask for a token: every HTTP route that is not a manual operation.')
param excludedPaths array

resource functionApp 'Microsoft.Web/sites@2023-12-01' existing = {
  name: functionAppName
}

resource authentication 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      // An API answers 401; there is no browser to redirect to a sign-in page.
      unauthenticatedClientAction: 'Return401'
      excludedPaths: excludedPaths
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          // The cloud's own sign-in host (login.microsoftonline.us in Azure Government).
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          // v1 tokens carry the Application ID URI, v2 tokens the client id.
          allowedAudiences: [
            'api://${clientId}'
            clientId
          ]
        }
      }
    }
    login: {
      // Callers send bearer tokens; nothing is kept between calls.
      tokenStore: {
        enabled: false
      }
    }
  }
}
