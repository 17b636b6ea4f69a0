// Service Bus namespace, the isolation-request queue and the dead-letter record queue. Standard tier because
// duplicate detection (the mechanism that collapses an alert storm into one request per device) is not
// offered on Basic. Shared access keys are disabled: senders and receivers authenticate with Entra ID only.

param location string
param tags object
param namespaceName string
param queueName string
// Sessions: each request travels in its tenant's session (sessionId = tenant id), so one worker instance at
// a time serves a tenant while other instances serve other tenants (docs/decisions/0029-many-tenants.md). The app must be
// told (ISOLATION_QUEUE_SESSIONS), and Service Bus cannot switch an existing queue: changing it means a new
// queue, drained of the old one first.
@description('Create the isolation-request queue with sessions (one tenant per worker instance at a time). Only with ISOLATION_QUEUE_SESSIONS=on; an existing queue cannot be switched.')
param requiresSession bool = false
@description('Queue of alert events from relays (ALERT_QUEUE): the same payloads as POST /api/alerts, at most 256 KB per message on Standard.')
param alertQueueName string = 'alerts'

// The window drops a second message with the same messageId. A request's id is its request id (a tracking
// step's: action and request; a requeued step's: request and step), so the window drops only a message sent
// twice; alert storms are coalesced on the state store. The window must outlast lockDuration with margin: a
// message redelivered after a crash re-sends its tracking (`track:<actionId>:<requestId>`) and requeue ids,
// and only the window turns those re-sends into no-ops. The in-process stand-in takes this value and
// maxDeliveryCount from shared/dispatch/transport/service-bus-settings.ts; test/infra checks they agree.
@description('Window in which a second message with the same messageId (request id, or request and step) is dropped. Longer than lockDuration.')
param duplicateDetectionWindow string = 'PT5M'

// Deliveries count only the times the worker threw: it throws when it could not requeue (Service Bus
// unreachable after the SDK's own retries) or when the instance crashed or timed out. Quota waits and
// transient MDE failures never come back as redeliveries: the worker schedules a new message for them and
// gives up after its own attempt limit (DispatchTiming.transientMaxAttempts) with a record in the
// dead-letter record queue. Five deliveries ride out a short outage; a poison message then lands in the
// queue's built-in $DeadLetterQueue.
@description('Deliveries before Service Bus dead-letters a message the worker could not handle (built-in $DeadLetterQueue).')
@minValue(3)
param maxDeliveryCount int = 5

// Lock: a step of work is a few MDE calls of at most MDE_REQUEST_TIMEOUT_MS (30 s) each; the worker never
// holds a lock while waiting for quota. Two minutes cover a step without renewal, and the host renews the
// lock up to host.json maxAutoLockRenewalDuration (10 minutes, equal to functionTimeout). Kept short so a
// message held by a crashed instance comes back within two minutes.
var lockDuration = 'PT2M'

// Dead-letter records must stay visible until an operator has looked at them: two weeks in the queue, and
// a record nobody read by then moves to that queue's own $DeadLetterQueue instead of expiring silently.
var deadLetterRecordTimeToLive = 'P14D'

// Same naming as deadLetterQueueName() in shared/dispatch/service-bus-queue.ts (the infra test checks it).
var deadLetterQueueName = '${queueName}-deadletter'

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
    lockDuration: lockDuration
    // Every message is one step, scheduled at most an hour ahead (tracking polls of an offline device,
    // hourly quota). A step nobody processed within a day goes to the dead-letter queue, never silently away.
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
    requiresSession: requiresSession
    enablePartitioning: false
  }
}

// Alert events published by relays (a Logic App, Power Automate, Event Grid, a SIEM forwarder). Duplicate
// detection drops a relay's resend of the same message id (a retried HTTP action of a Logic App). A message
// the intake cannot carry through is redelivered after a growing pause (shared/intake/alert-message.ts): ten
// deliveries span about four minutes of an outage before Service Bus dead-letters it. A day-old alert is
// dead-lettered rather than acted on silently late.
resource alertQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: alertQueueName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    maxDeliveryCount: 10
    lockDuration: lockDuration
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
    requiresSession: false
    enablePartitioning: false
  }
}

// Where the worker records a request it gives up on (RetriesExhausted, InvalidMessage...), with the reason:
// the Functions Node model cannot dead-letter a message with a reason, so the records get a queue of their
// own. No duplicate detection: every record has its own id (message id + time), so there is nothing to
// collapse, and a record must never be dropped.
resource deadLetterQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: deadLetterQueueName
  properties: {
    requiresDuplicateDetection: false
    defaultMessageTimeToLive: deadLetterRecordTimeToLive
    deadLetteringOnMessageExpiration: true
    requiresSession: false
    enablePartitioning: false
  }
}

output namespaceName string = namespace.name
// Taken from the endpoint rather than built from a suffix, so sovereign clouds get their own host name.
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]
output queueName string = queue.name
output deadLetterQueueName string = deadLetterQueue.name
output alertQueueName string = alertQueue.name
