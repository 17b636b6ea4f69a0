// The function app on the Flex Consumption plan (Linux, Node 22), its identity and its app settings.
// Every value the code reads is set here; none of them is a secret. Storage, Service Bus, Application
// Insights and the MDE API are all reached with the app's managed identity.

param location string
param tags object
param planName string
param functionAppName string
// Host storage (AzureWebJobsStorage) service endpoints, as the storage account reports them.
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
param deploymentContainerUrl string
param appInsightsName string
param serviceBusFullyQualifiedNamespace string
param queueName string
param alertQueueName string

@description('Use a user-assigned identity (created here) instead of the system-assigned one.')
param useUserAssignedIdentity bool
param userAssignedIdentityName string

@description('Application settings read by shared/config.ts (names from SETTINGS).')
param mdeCloud string
param mdeApiUrl string
param mdeRateLimits string
param mdeRateHeadroom string
param mdeRequestTimeoutMs int
param isolationPolicy string
param isolationMode string
@allowed([
  'follow'
  'enforce'
])
param manualIsolationMode string
param maxAlertBytes int
param registerHistoryDays int
param platformLiftDays int
param reconcileSchedule string
@allowed([
  'on'
  'off'
])
param sentinelIncidentComments string
@allowed([
  'on'
  'off'
])
param manualEasyAuth string
@description('NOTIFY_CHANNELS: empty, or a Key Vault reference to the secret holding the channels.')
param notifyChannels string
param notifyDigestInterval string
@description('APP_PUBLIC_URL: empty, or the base URL the approval page links start with.')
param appPublicUrl string

@allowed([2048, 4096])
param instanceMemoryMB int = 2048

@description('The customer tenants a managed security provider serves (MDE_TENANTS, JSON); empty: one tenant, the identity\'s own.')
param tenantList string = ''
@description('Application (client) id of the multi-tenant app registration the tenants consented to (MDE_TENANT_APP_CLIENT_ID).')
param tenantAppClientId string = ''
@allowed([
  'on'
  'off'
])
@description('The request queue is session-enabled (ISOLATION_QUEUE_SESSIONS): the worker reads it with a session receiver.')
param queueSessions string = 'off'
@description('Cap on automatic isolations across every tenant, isolations/window (MDE_DEPLOYMENT_MAX_ISOLATIONS); empty: none.')
param deploymentMaxIsolations string = ''

// One instance owns the MDE quota. The limits (isolate 100/min and 1,500/h, the same for machines and
// machineactions) are per application and tenant, and the worker's quota budget (a sliding-window log per
// API family, shared/dispatch/quota/) only knows the calls made in its own process: two worker instances
// would each spend the full budget and earn 429s (docs/decisions/0001-one-worker-instance.md).
// On Flex Consumption, Service Bus triggered functions scale on their own instances (per-function scaling),
// and maximumInstanceCount applies to the on-demand instances of each scale group, not to the app as a
// whole, so 1 gives the worker group (and the HTTP intake group) one instance each. There is no per-group
// setting for non-HTTP triggers, so this app-level value is the cap. Always-ready instances are not counted
// against the maximum, which is why none are configured. host.json's maxConcurrentCalls (16) only runs messages
// side by side inside that one process, where the throttle and the per-machine lock are shared.
// A managed security provider raises it with a session-enabled request queue (queueSessions): each instance
// then holds other tenants' sessions, and one tenant still has one consumer (docs/decisions/0029-many-tenants.md).
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 1

resource userIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (useUserAssignedIdentity) {
  name: userAssignedIdentityName
  location: location
  tags: tags
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// The identity exists whenever these are read (same condition), which the compiler cannot see: hence `!`.
var identityClientId = useUserAssignedIdentity ? userIdentity!.properties.clientId : ''

resource functionApp 'Microsoft.Web/sites@2023-12-01' = {
  name: functionAppName
  location: location
  // azd deploys the code of service `api` (azure.yaml) to the resource carrying this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: useUserAssignedIdentity
    ? {
        type: 'UserAssigned'
        userAssignedIdentities: {
          '${userIdentity.id}': {}
        }
      }
    : {
        type: 'SystemAssigned'
      }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references (NOTIFY_CHANNELS) resolve with the app's own identity, user-assigned or not.
    keyVaultReferenceIdentity: useUserAssignedIdentity ? userIdentity.id : 'SystemAssigned'
    clientAffinityEnabled: false
    // No ftpsState here: Flex Consumption has no FTP, and ARM rejects Site.SiteConfig.FtpsState on Flex sites
    // (error 51021; "properties.ftpsState: FTPS not supported" in the Flex Consumption plan deprecations of
    // the Functions app settings reference). The 'ftp' publishing policy below still turns FTP credentials off.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: useUserAssignedIdentity
            ? {
                type: 'UserAssignedIdentity'
                userAssignedIdentityResourceId: userIdentity.id
              }
            : {
                type: 'SystemAssignedIdentity'
              }
        }
      }
      // No siteUpdateStrategy: the default, Recreate, restarts every instance on the new version, so old
      // and new never run side by side; RollingUpdate (preview) would overlap them. Processes of this
      // version share one MDE quota budget in the state store whatever overlaps, but a version before it
      // spends outside that budget (docs/decisions/0014-one-budget-across-processes.md). Keep Recreate.
      // It is not pinned because no Bicep type of Microsoft.Web/sites declares it (up to 2025-03-01 the
      // compiler reports BCP037, newer versions have no types: BCP081); test/infra refuses any other value.
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Node 20 left Azure Functions support on 2026-04-30. ARM accepts a version the region's Flex catalog
      // lacks and the host then fails at start with a generic error: check the region first with
      // `az functionapp list-flexconsumption-runtimes --location <region> --runtime node`.
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Publishing with a user name and password (FTP, or basic auth on the SCM site) is off. Deployments use Entra
// ID: for Flex apps Core Tools posts the package to the SCM site's api/Deploy/Zip with the signed-in Azure CLI
// account's bearer token (basic auth only for Kubernetes apps), so `func azure functionapp publish` works.
// ARM rejects these policies without a location ("The parameter location has an invalid value"), although
// no API version of the generated types declares it (Azure/bicep-types-az#1317, #1526): hence the allowed
// warning BCP187 in scripts/infra-check.sh.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: functionApp
  name: 'ftp'
  location: location
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: functionApp
  name: 'scm'
  location: location
  properties: {
    allow: false
  }
}

// A user-assigned identity must be named wherever an SDK would otherwise pick the system-assigned one.
var userAssignedIdentitySettings = {
  AzureWebJobsStorage__clientId: identityClientId
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
}

var appSettings = {
  // Functions host: identity-based host storage (no account key) and Entra-authenticated telemetry. The
  // Application Insights connection string is not a secret (it only locates the resource; ingestion
  // needs a token because local auth is off), but it still only lives here, never in a parameter file.
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  // Values as the app settings reference gives them for system- and user-assigned identities.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: useUserAssignedIdentity
    ? 'Authorization=AAD;ClientId=${identityClientId}'
    : 'Authorization=AAD'
  // The app (shared/config.ts SETTINGS).
  MDE_CLOUD: mdeCloud
  MDE_API_URL: mdeApiUrl
  AZURE_CLIENT_ID: identityClientId
  MDE_RATE_LIMITS: mdeRateLimits
  MDE_RATE_HEADROOM: mdeRateHeadroom
  MDE_REQUEST_TIMEOUT_MS: string(mdeRequestTimeoutMs)
  ISOLATION_POLICY: isolationPolicy
  ISOLATION_MODE: isolationMode
  MANUAL_ISOLATION_MODE: manualIsolationMode
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
  ISOLATION_QUEUE: queueName
  ALERT_QUEUE: alertQueueName
  MAX_ALERT_BYTES: string(maxAlertBytes)
  REGISTER_HISTORY_DAYS: string(registerHistoryDays)
  PLATFORM_LIFT_DAYS: string(platformLiftDays)
  RECONCILE_SCHEDULE: reconcileSchedule
  MDE_TENANTS: tenantList
  MDE_TENANT_APP_CLIENT_ID: tenantAppClientId
  ISOLATION_QUEUE_SESSIONS: queueSessions
  MDE_DEPLOYMENT_MAX_ISOLATIONS: deploymentMaxIsolations
  SENTINEL_INCIDENT_COMMENTS: sentinelIncidentComments
  MANUAL_EASY_AUTH: manualEasyAuth
  NOTIFY_CHANNELS: notifyChannels
  NOTIFY_DIGEST_INTERVAL: notifyDigestInterval
  APP_PUBLIC_URL: appPublicUrl
}

resource functionAppSettings 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(appSettings, useUserAssignedIdentity ? userAssignedIdentitySettings : {})
}

output functionAppName string = functionApp.name
output functionAppUrl string = 'https://${functionApp.properties.defaultHostName}'
output principalId string = useUserAssignedIdentity
  ? userIdentity!.properties.principalId
  : functionApp.identity.principalId
output identityClientId string = identityClientId
