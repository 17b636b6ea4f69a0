// Grants the function app identity the Defender for Endpoint application permissions it calls the API
// with: Machine.Isolate (isolate / release) and Machine.Read.All (resolve devices, read pending actions).
//
// A deployment of its own, run after main.bicep (azd runs it as a post-provision hook):
//
//   az deployment group create -g <rg> -f infra/permissions.bicep -p principalId=<identityPrincipalId>
//
// - It needs a deployer who may assign app roles in Entra ID (Privileged Role Administrator, or Application
//   Administrator / Cloud Application Administrator), who is often not the resource-group owner.
// - Granted in the same deployment that creates the identity, Graph fails on first runs with "Not a valid
//   reference update": the new service principal has not replicated across Entra ID yet
//   (microsoftgraph/msgraph-bicep-types#193). A later deployment finds it.
// - The Graph extension is restored from a registry at build time, so main.bicep stays compilable offline
//   and CI compiles every other file with the Bicep CLI; this one is checked by the tree-sitter tests
//   (test/infra). infra/scripts/grant-mde-permissions.sh does the same grant with `az rest`.

extension microsoftGraphV1

@description('Object (principal) id of the function app identity: the identityPrincipalId output of main.bicep.')
param principalId string

// WindowsDefenderATP: the first-party application that exposes the MDE API in every tenant.
var defenderApiAppId = 'fc780465-2017-40d4-a0c5-307022471b92'

var mdeAppRoleValues = [
  'Machine.Isolate'
  'Machine.Read.All'
]

resource defenderApi 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: defenderApiAppId
}

// Role ids are looked up by their value on the service principal rather than hard-coded, so a wrong or
// renamed role fails the deployment instead of granting something else.
resource mdeAppRoleAssignments 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for roleValue in mdeAppRoleValues: {
    appRoleId: filter(
      defenderApi.appRoles,
      role => role.value == roleValue && contains(role.allowedMemberTypes, 'Application')
    )[0].id
    principalId: principalId
    resourceId: defenderApi.id
  }
]

output grantedAppRoles array = mdeAppRoleValues
