// Service Bus namespace and the isolation-request queue. Standard tier because duplicate detection (the
// mechanism that collapses an alert storm into one request per device) is not offered on Basic.
// Shared access keys are disabled: senders and receivers authenticate with Entra ID only.

param location string
param tags object
param namespaceName string
param queueName string

@description('Window in which a second request with the same messageId (device + action) is dropped. Alert storms arrive within minutes; a longer window would also swallow a legitimate re-isolation after a release.')
param duplicateDetectionWindow string = 'PT10M'

@description('Deliveries before a request is dead-lettered. Quota waits (429) are rescheduled by the worker, not redelivered, so this counts real failures only.')
@minValue(3)
param maxDeliveryCount int = 5

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: queueName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    maxDeliveryCount: maxDeliveryCount
    // Lock long enough for one full per-minute quota wait (60 s) plus one MDE request at its 30 s timeout
    // without relying on renewal; the host renews it up to host.json maxAutoLockRenewalDuration (5 min).
    // Kept short so a message held by a crashed instance comes back within two minutes.
    lockDuration: 'PT2M'
    // An isolation request nobody processed within a day goes to the dead-letter queue, never silently away.
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
    requiresSession: false
    enablePartitioning: false
  }
}

output namespaceName string = namespace.name
// Taken from the endpoint rather than built from a suffix, so sovereign clouds get their own host name.
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]
output queueName string = queue.name
