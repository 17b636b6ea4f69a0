// mde-isolator infrastructure (resource-group scope). One module per concern; names are derived from the
// resource group with uniqueString so a redeployment updates in place and two environments never clash.
//
//   az deployment group create -g <rg> -p infra/main.bicepparam
//   az deployment group create -g <rg> -f infra/permissions.bicep -p principalId=<identityPrincipalId>
//
// The MDE permission grant (Microsoft Graph) is a deployment of its own, infra/permissions.bicep, run after
// this one: see that file for why.

targetScope = 'resourceGroup'

@description('Short name of the environment, used in resource names and tags (e.g. soc, soc-test).')
@minLength(2)
@maxLength(12)
param environmentName string

param location string = resourceGroup().location

@description('Extra tags merged into the defaults on every resource.')
param tags object = {}

// ---------------------------------------------------------------- application settings (shared/config.ts)

@description('MDE cloud: picks API host, token scope and sign-in authority together.')
@allowed([
  'commercial'
  'gcc'
  'gcc-high'
  'dod'
])
param mdeCloud string = 'commercial'

@description('Override of the MDE API base URL (a regional host of the same cloud); empty = the cloud default.')
param mdeApiUrl string = ''

@description('MDE quota per API as a count/window list.')
param mdeRateLimits string = '100/60s,1500/1h'

@description('Share of the MDE quota rate left to other callers of the same identity (0: the identity is this app\'s alone).')
param mdeRateHeadroom string = '0'

@minValue(1000)
param mdeRequestTimeoutMs int = 30000

@description('Policy file path inside the package, or the policy JSON inline; empty = the shipped default policy.')
param isolationPolicy string = ''

@description('dry-run decides and logs but never isolates. A first deployment stays in dry-run until the decisions have been read.')
@allowed([
  'dry-run'
  'enforce'
])
param isolationMode string = 'dry-run'

@description('What a person\'s isolate or release through the manual API does while isolationMode is dry-run: follow (decide and report, post nothing) or enforce (post it, so people can isolate during a dry-run rollout while automatic decisions stay a dry run).')
@allowed([
  'follow'
  'enforce'
])
param manualIsolationMode string = 'follow'

param isolationQueueName string = 'isolation-requests'

@minValue(1024)
param maxAlertBytes int = 1048576

@description('Days a device\'s register history keeps a transition (REGISTER_HISTORY_DAYS).')
@minValue(1)
param registerHistoryDays int = 90

@description('Days after which MDE lifts an isolation on its own (PLATFORM_LIFT_DAYS): Microsoft says seven; change it only if Microsoft does.')
@minValue(1)
param platformLiftDays int = 7
@description('When the reconcile timer queues a reconciliation of the register with MDE (RECONCILE_SCHEDULE): six-field NCRONTAB, every 15 minutes by default.')
param reconcileSchedule string = '0 */15 * * * *'

// ---------------------------------------------------------------- identity and permissions

@description('Run the app as a user-assigned identity (created by this deployment) instead of the system-assigned one.')
param useUserAssignedIdentity bool = false

// ---------------------------------------------------------------- many tenants (docs/decisions/0029-many-tenants.md)

@description('Managed security providers: the customer tenants, as a JSON array of { tenantId, displayName, cloud?, apiUrl?, workspaceIds?, policy?, rateLimits? } (MDE_TENANTS). Empty: one tenant, the identity\'s own; nothing else in this section applies. A list creates the user-assigned identity, which must be a federated credential of tenantAppClientId.')
param tenantList string = ''

@description('Application (client) id of the multi-tenant app registration every listed tenant consented to (Machine.Isolate, Machine.Read.All). Required with tenantList.')
param tenantAppClientId string = ''

@description('Create the request queue with sessions (sessionId = tenant id) and read it with a session receiver: one worker instance per tenant at a time. A new deployment only: an existing queue cannot be switched.')
param queueSessions bool = false

@description('Optional cap on automatic isolations across every tenant, as isolations/window: 50/1h (MDE_DEPLOYMENT_MAX_ISOLATIONS, docs/decisions/0035-a-deployment-wide-isolation-cap.md). Empty: none; each tenant\'s breaker caps its own.')
param deploymentMaxIsolations string = ''

@description('Instances of each scale group (the worker\'s among them). Above 1 only with queueSessions, so that one tenant keeps one consumer.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 1

// ---------------------------------------------------------------- Sentinel

@description('Resource id of the Log Analytics workspace where Microsoft Sentinel runs. Empty = no Sentinel wiring. When set, the app identity gets Microsoft Sentinel Responder there (incident comments; reading incident status before a renewal or a retry-when-seen).')
// Either empty or /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>.
param sentinelWorkspaceId string = ''

@description('Deploy the Logic App playbook that forwards Sentinel incidents to /api/alerts (needs sentinelWorkspaceId; deploy after the first code publish).')
param deploySentinelPlaybook bool = false

@description('Post every isolation outcome as a comment on its Sentinel incident (needs sentinelWorkspaceId, which grants the app Microsoft Sentinel Responder). Defaults to on with the playbook.')
param sentinelIncidentComments bool = deploySentinelPlaybook

@secure()
@description('Notification channels (NOTIFY_CHANNELS, docs/notifications.md): a JSON array of { name, kind: teams | slack | webhook, url, secret, events }. Set: stored as a Key Vault secret the app setting references, readable by the app identity alone. Empty: no notifications.')
param notifyChannels string = ''

@description('At most one message per channel per interval in a storm (NOTIFY_DIGEST_INTERVAL): seconds or minutes, 1s to 60m.')
param notifyDigestInterval string = '1m'

@description('The app\'s public base URL (APP_PUBLIC_URL), where the approval page links of notification cards point: a custom domain or a gateway in front of the app. Empty: https:// and the host name App Service sets (WEBSITE_HOSTNAME).')
param appPublicUrl string = ''

@description('Object ids of the relays allowed to send alert events to the alert queue (Azure Service Bus Data Sender on that queue only).')
param alertSenderPrincipalIds array = []

@description('Application (client) id of an app registration that defines the Isolation.Operator app role. Set: App Service authentication with Entra ID is turned on for the manual endpoints (a token of that registration, holding the role, on top of the function key) and the caller is recorded by name; /api/alerts stays on its function key. Empty: the manual endpoints are on their function keys alone.')
param manualAuthClientId string = ''

// ---------------------------------------------------------------- names

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var allTags = union(
  {
    application: 'mde-isolator'
    environment: environmentName
  },
  tags
)
var functionAppName = 'func-mdeiso-${environmentName}-${token}'
var names = {
  logAnalytics: 'log-mdeiso-${environmentName}-${token}'
  appInsights: 'appi-mdeiso-${environmentName}-${token}'
  storage: take(toLower('stmdeiso${replace(environmentName, '-', '')}${token}'), 24)
  deploymentContainer: 'app-package'
  serviceBus: 'sb-mdeiso-${environmentName}-${token}'
  plan: 'asp-mdeiso-${environmentName}-${token}'
  userIdentity: 'id-mdeiso-${environmentName}-${token}'
  keyVault: 'kv-mdeiso-${token}'
  playbook: 'pb-mdeiso-sentinel-${environmentName}'
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: allTags
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
  }
}

@description('Minutes an escalation may wait for a person before the escalation alert rule fires.')
@minValue(5)
param escalationAlertMinutes int = 60

@description('Resource id of an action group the alert rules notify (e-mail, Teams, a SOAR); empty: portal only.')
param alertActionGroupId string = ''

// The workbook and the alert rules over the app's records (docs/records.md).
module observability 'modules/observability.bicep' = {
  name: 'observability'
  params: {
    location: location
    tags: allTags
    appInsightsName: monitoring.outputs.appInsightsName
    environmentName: environmentName
    escalationAlertMinutes: escalationAlertMinutes
    alertActionGroupId: alertActionGroupId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: allTags
    storageAccountName: names.storage
    deploymentContainerName: names.deploymentContainer
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    location: location
    tags: allTags
    namespaceName: names.serviceBus
    queueName: isolationQueueName
    requiresSession: queueSessions
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    tags: allTags
    planName: names.plan
    functionAppName: functionAppName
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsName: monitoring.outputs.appInsightsName
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    queueName: serviceBus.outputs.queueName
    alertQueueName: serviceBus.outputs.alertQueueName
    // A system-assigned identity cannot be a federated credential: a tenant list needs the user-assigned one.
    useUserAssignedIdentity: useUserAssignedIdentity || !empty(tenantList)
    userAssignedIdentityName: names.userIdentity
    tenantList: tenantList
    tenantAppClientId: tenantAppClientId
    queueSessions: queueSessions ? 'on' : 'off'
    deploymentMaxIsolations: deploymentMaxIsolations
    // Several instances without sessions would let two of them serve one tenant's requests at once.
    maximumInstanceCount: queueSessions ? maximumInstanceCount : 1
    mdeCloud: mdeCloud
    mdeApiUrl: mdeApiUrl
    mdeRateLimits: mdeRateLimits
    mdeRateHeadroom: mdeRateHeadroom
    mdeRequestTimeoutMs: mdeRequestTimeoutMs
    isolationPolicy: isolationPolicy
    isolationMode: isolationMode
    manualIsolationMode: manualIsolationMode
    maxAlertBytes: maxAlertBytes
    registerHistoryDays: registerHistoryDays
    platformLiftDays: platformLiftDays
    reconcileSchedule: reconcileSchedule
    // Without the workspace the identity has no Responder role there: every comment would be refused.
    sentinelIncidentComments: sentinelIncidentComments && !empty(sentinelWorkspaceId) ? 'on' : 'off'
    // The app trusts x-ms-client-principal exactly when App Service authentication sets it.
    manualEasyAuth: empty(manualAuthClientId) ? 'off' : 'on'
    // By vault and secret name: the vault grants the app identity, so it is deployed after the app.
    notifyChannels: empty(notifyChannels)
      ? ''
      : '@Microsoft.KeyVault(VaultName=${names.keyVault};SecretName=notify-channels)'
    notifyDigestInterval: notifyDigestInterval
    appPublicUrl: appPublicUrl
  }
}

module notifySecrets 'modules/notify-secrets.bicep' = if (!empty(notifyChannels)) {
  name: 'notify-secrets'
  params: {
    location: location
    tags: allTags
    keyVaultName: names.keyVault
    principalId: functionApp.outputs.principalId
    notifyChannels: notifyChannels
  }
}

// Every HTTP route that is not a manual operation (functions/*.ts): relays keep their function key, probes
// stay anonymous. test/infra checks this list against shared/openapi.json.
var routesWithoutSignIn = [
  '/api/alerts'
  '/api/health'
  '/api/health/details'
  '/api/openapi.json'
  '/api/docs'
]

module entraAuth 'modules/entra-auth.bicep' = if (!empty(manualAuthClientId)) {
  name: 'entra-auth'
  params: {
    functionAppName: functionApp.outputs.functionAppName
    clientId: manualAuthClientId
    excludedPaths: routesWithoutSignIn
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.storageAccountName
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    queueName: serviceBus.outputs.queueName
    deadLetterQueueName: serviceBus.outputs.deadLetterQueueName
    alertQueueName: serviceBus.outputs.alertQueueName
    alertSenderPrincipalIds: alertSenderPrincipalIds
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// Where the Sentinel workspace lives (it may be another resource group or subscription). ARM validates a
// module's scope even when its condition is false, so an empty id must still give a valid scope.
var sentinelWorkspaceIdParts = split(sentinelWorkspaceId, '/')
var sentinelWorkspace = empty(sentinelWorkspaceId)
  ? {
      subscriptionId: subscription().subscriptionId
      resourceGroup: resourceGroup().name
      name: ''
    }
  : {
      subscriptionId: sentinelWorkspaceIdParts[2]
      resourceGroup: sentinelWorkspaceIdParts[4]
      name: last(sentinelWorkspaceIdParts)
    }

module appSentinelResponder 'modules/sentinel-responder.bicep' = if (!empty(sentinelWorkspaceId)) {
  name: 'sentinel-responder-app'
  scope: resourceGroup(sentinelWorkspace.subscriptionId, sentinelWorkspace.resourceGroup)
  params: {
    workspaceName: sentinelWorkspace.name
    principalIds: [
      functionApp.outputs.principalId
    ]
  }
}

module sentinelPlaybook 'modules/sentinel-playbook.bicep' = if (deploySentinelPlaybook && !empty(sentinelWorkspaceId)) {
  name: 'sentinel-playbook'
  params: {
    location: location
    tags: allTags
    playbookName: names.playbook
    functionAppName: functionApp.outputs.functionAppName
    sentinelWorkspaceId: sentinelWorkspaceId
  }
}

output functionAppName string = functionApp.outputs.functionAppName
output functionAppUrl string = functionApp.outputs.functionAppUrl
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output isolationQueue string = serviceBus.outputs.queueName
// Requests the worker gave up on, with the reason: watch it (and the queues' built-in $DeadLetterQueue).
output deadLetterQueue string = serviceBus.outputs.deadLetterQueueName
// Where relays publish alert events (docs/guide/sending-alerts.md "Alert events over Service Bus").
output alertQueue string = serviceBus.outputs.alertQueueName
// Input of infra/permissions.bicep (principalId), the MDE permission grant.
output identityPrincipalId string = functionApp.outputs.principalId
output identityClientId string = functionApp.outputs.identityClientId
output sentinelPlaybookName string = deploySentinelPlaybook && !empty(sentinelWorkspaceId) ? names.playbook : ''
