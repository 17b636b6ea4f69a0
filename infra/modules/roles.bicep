// Data-plane roles of the function app identity, each on the narrowest scope that works:
// each queue (not the namespace) for Service Bus, the host storage account, the Application Insights resource.

import { serviceBusDataSenderRoleId, serviceBusDataReceiverRoleId } from 'role-ids.bicep'
import { storageBlobDataOwnerRoleId, storageTableDataContributorRoleId } from 'role-ids.bicep'
import { monitoringMetricsPublisherRoleId } from 'role-ids.bicep'

@description('Object (principal) id of the function app identity.')
param principalId string
param storageAccountName string
param serviceBusNamespaceName string
param queueName string
@description('Queue of dead-letter records (shared/dispatch/service-bus-queue.ts deadLetterQueueName).')
param deadLetterQueueName string
@description('Queue of alert events (ALERT_QUEUE): the app receives from it.')
param alertQueueName string
@description('Object ids of the relays (Logic App or Power Automate identities, forwarders) that send alert events; each gets Azure Service Bus Data Sender on the alert queue only.')
param alertSenderPrincipalIds array = []
param appInsightsName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: queueName
}

resource deadLetterQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: deadLetterQueueName
}

resource alertQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: alertQueueName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Intake sends isolation requests; the worker receives them and sends tracking follow-ups.
resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, principalId, serviceBusDataSenderRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSenderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, principalId, serviceBusDataReceiverRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiverRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The alert queue function receives alert events; it never sends to that queue.
resource alertQueueReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(alertQueue.id, principalId, serviceBusDataReceiverRoleId)
  scope: alertQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiverRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Relays may only send alert events: not isolation requests, which would skip intake's policy decision.
resource alertQueueSenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for sender in alertSenderPrincipalIds: {
    name: guid(alertQueue.id, sender, serviceBusDataSenderRoleId)
    scope: alertQueue
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSenderRoleId)
      principalId: sender
      principalType: 'ServicePrincipal'
    }
  }
]

// The worker only writes dead-letter records; operators read them with their own Entra role
// (docs/guide/deploying.md "Watching failures"), so the app gets no Receiver role there.
resource deadLetterSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterQueue.id, principalId, serviceBusDataSenderRoleId)
  scope: deadLetterQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSenderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Host storage with an identity: Blob Data Owner is what the Functions host needs for AzureWebJobsStorage
// (and the Flex deployment container); Table Data Contributor covers the host's diagnostic events and the
// app's state store (shared/state). No Storage Queue role: only blob triggers and Durable Functions use host
// queues, and this app has neither (its queues are Service Bus). The role table of "Connecting to host
// storage with an identity": https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      storageTableDataContributorRoleId
    )
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Local auth is off on Application Insights, so telemetry is only accepted from this role.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      monitoringMetricsPublisherRoleId
    )
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
