// Built-in Azure role definition ids. They are the same in every tenant; the infra test checks each one
// against the id Microsoft documents, so a typo cannot silently grant the wrong role.

@export()
@description('Azure Service Bus Data Sender: send to the queue (intake enqueues, worker re-enqueues tracking).')
var serviceBusDataSenderRoleId = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'

@export()
@description('Azure Service Bus Data Receiver: receive and settle queue messages (worker trigger).')
var serviceBusDataReceiverRoleId = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'

@export()
@description('Storage Blob Data Owner: host storage (leases, keys) and the Flex deployment package container.')
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'

@export()
@description('Storage Table Data Contributor: the state store of the app (shared/state) and the diagnostic events of the host.')
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

@export()
@description('Monitoring Metrics Publisher: Entra-authenticated telemetry ingestion into Application Insights.')
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

@export()
@description('Microsoft Sentinel Responder: read incidents and add incident comments.')
var sentinelResponderRoleId = '3e150937-b8fe-4cfb-8069-0eaf05ecd056'

@export()
@description('Key Vault Secrets User: read the notification channels secret through its Key Vault reference.')
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
