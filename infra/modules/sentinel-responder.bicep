// Microsoft Sentinel Responder on the Sentinel workspace for the given identities. Deployed into the
// workspace's own resource group (which may be in another subscription), hence a module of its own.

import { sentinelResponderRoleId } from 'role-ids.bicep'

param workspaceName string

@description('Object (principal) ids of service principals / managed identities to grant.')
param principalIds array

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource responder 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in principalIds: {
    name: guid(workspace.id, principalId, sentinelResponderRoleId)
    scope: workspace
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sentinelResponderRoleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]
