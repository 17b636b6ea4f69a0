#!/usr/bin/env bash
# Grants the mde-isolator identity the Microsoft Defender for Endpoint application permissions it uses,
# Machine.Isolate and Machine.Read.All: the same grant as infra/permissions.bicep, with `az rest` instead of
# the Bicep Graph extension (for a cloud without it, or an administrator without Bicep).
#
# Run it signed in (az login) as a user allowed to grant app roles: Privileged Role Administrator, or
# Cloud Application Administrator / Application Administrator. Safe to run again: existing grants are kept.
# Uses the Microsoft Graph endpoint of the active cloud (az cloud set), so it works in sovereign clouds.
set -euo pipefail

readonly DEFENDER_API_APP_ID='fc780465-2017-40d4-a0c5-307022471b92' # WindowsDefenderATP
readonly APP_ROLES=('Machine.Isolate' 'Machine.Read.All')

usage() {
  cat >&2 <<'USAGE'
usage: grant-mde-permissions.sh <principal-object-id>
       grant-mde-permissions.sh --resource-group <rg> --name <function-app>

The principal id is the identityPrincipalId output of the infra deployment.
USAGE
  exit 2
}

principal_id=''
case "${1:-}" in
  -g | --resource-group)
    [[ $# -eq 4 && ($3 == '-n' || $3 == '--name') ]] || usage
    # System-assigned first, else the (single) user-assigned identity of the app.
    principal_id=$(az functionapp identity show --resource-group "$2" --name "$4" \
      --query 'principalId || values(userAssignedIdentities)[0].principalId' --output tsv)
    ;;
  '' | -h | --help) usage ;;
  *)
    [[ $# -eq 1 ]] || usage
    principal_id=$1
    ;;
esac
if [[ ! $principal_id =~ ^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$ ]]; then
  echo "error: '$principal_id' is not a principal (object) id" >&2
  exit 2
fi

graph=$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)
graph=${graph%/}

defender_sp_id=$(az rest --method get \
  --url "$graph/v1.0/servicePrincipals(appId='$DEFENDER_API_APP_ID')" --query id --output tsv)
if [[ -z $defender_sp_id ]]; then
  echo 'error: no WindowsDefenderATP service principal in this tenant (is Defender for Endpoint set up?)' >&2
  exit 1
fi

for role in "${APP_ROLES[@]}"; do
  # Looked up by value, never hard-coded, so a renamed or missing role stops here instead of granting another.
  role_id=$(az rest --method get --url "$graph/v1.0/servicePrincipals/$defender_sp_id" \
    --query "appRoles[?value=='$role' && contains(allowedMemberTypes, 'Application')].id | [0]" --output tsv)
  if [[ -z $role_id || $role_id == 'None' ]]; then
    echo "error: WindowsDefenderATP has no application role '$role'" >&2
    exit 1
  fi
  granted=$(az rest --method get --url "$graph/v1.0/servicePrincipals/$principal_id/appRoleAssignments" \
    --query "length(value[?appRoleId=='$role_id' && resourceId=='$defender_sp_id'])" --output tsv)
  if [[ $granted != '0' ]]; then
    echo "$role: already granted"
    continue
  fi
  az rest --method post --url "$graph/v1.0/servicePrincipals/$principal_id/appRoleAssignments" \
    --headers 'Content-Type=application/json' \
    --body "{\"principalId\":\"$principal_id\",\"resourceId\":\"$defender_sp_id\",\"appRoleId\":\"$role_id\"}" \
    --output none
  echo "$role: granted"
done

# The managed identity back end caches tokens per resource for up to 24 hours and cannot be made to refresh.
echo 'Note: the app can take up to 24 hours to receive a token carrying new roles (managed identity tokens'
echo 'are cached and cannot be refreshed early). Grant before switching ISOLATION_MODE to enforce.'
