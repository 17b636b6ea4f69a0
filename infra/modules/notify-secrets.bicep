// The notification channels (NOTIFY_CHANNELS: webhook URLs and signing secrets, docs/notifications.md) as
// one Key Vault secret that the app setting references, readable by the app identity alone. Deployed only
// when the operator supplies channels.

import { keyVaultSecretsUserRoleId } from 'role-ids.bicep'

param location string
param tags object
param keyVaultName string
@description('Object (principal) id of the function app identity.')
param principalId string
@secure()
@description('The NOTIFY_CHANNELS JSON (shared/notify/settings.ts).')
param notifyChannels string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Access by Azure RBAC only: the app reads one secret; nobody gets a vault-wide access policy.
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource channels 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'notify-channels'
  properties: {
    value: notifyChannels
    contentType: 'application/json'
  }
}

resource appReadsChannels 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(channels.id, principalId, keyVaultSecretsUserRoleId)
  scope: channels
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

