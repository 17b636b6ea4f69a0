// Grants the function app identity the Defender for Endpoint application permissions it calls the API
// with: Machine.Isolate (isolate / release) and Machine.Read.All (resolve devices, read pending actions).
// Needs a deployer who may assign app roles in Entra ID (Privileged Role Administrator, or Application
// Administrator / Cloud Application Administrator); main.bicep skips it when grantMdePermissions is false,
// and infra/scripts/grant-mde-permissions.sh does the same grant for an administrator later.

extension microsoftGraphV1

@description('Object (principal) id of the function app identity.')
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
