#!/usr/bin/env bash
# azd post-provision hook (azure.yaml): the MDE permission grant, infra/permissions.bicep, as a deployment of
# its own after main.bicep. It runs when the signed-in user holds an Entra role that may assign app roles;
# otherwise it prints the one command an administrator runs, and `azd up` goes on (the app starts in
# dry-run, and without the grant MDE only answers 403).
#
# Env from azd: AZURE_RESOURCE_GROUP, AZURE_ENV_NAME. MDE_GRANT_RETRY_SECONDS (default 30) spaces the retries below.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=infra/scripts/azd-app.sh
source "$root/infra/scripts/azd-app.sh"
rg=${AZURE_RESOURCE_GROUP:?AZURE_RESOURCE_GROUP is not set (azd sets it for a resource-group deployment)}
retry_seconds=${MDE_GRANT_RETRY_SECONDS:-30}
readonly ATTEMPTS=5

# Directory roles that may assign app roles to a service principal, by role template id (the same in every
# tenant): Global Administrator, Privileged Role Administrator, Cloud Application Administrator,
# Application Administrator. Only active assignments count (an eligible PIM role must be activated first).
readonly GRANTING_ROLES=(
  62e90394-69f5-4237-9190-012177145e10
  e8611ab8-c189-46e8-94e1-60213ab1f814
  158c047a-c907-4556-b7ef-446551a6b5f7
  9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3
)

if ! command -v az >/dev/null; then
  echo 'MDE permissions: not granted (the Azure CLI, az, is needed for the grant). See docs/guide/deploying.md, "3. Grant the MDE permissions".'
  exit 0
fi

app=$(azd_app "$rg")
principal=$(azd_principal "$rg" "$app")

grant=(az deployment group create --resource-group "$rg" --name mde-permissions
  --template-file "$root/infra/permissions.bicep" --parameters "principalId=$principal" --output none)
admin_command="az deployment group create --resource-group $rg --template-file infra/permissions.bicep --parameters principalId=$principal"
tell_admin() {
  echo "MDE permissions: not granted. $1 An administrator (Privileged Role Administrator, or Cloud"
  echo 'Application Administrator / Application Administrator) runs, from this repository:'
  echo "  $admin_command"
  echo "or: infra/scripts/grant-mde-permissions.sh $principal"
}

graph=$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)
graph=${graph%/}
# Fails for a service principal (no /me) or without directory read rights: then nobody here can tell.
held=$(az rest --method get \
  --url "$graph/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?\$select=roleTemplateId" \
  --query 'value[].roleTemplateId' --output tsv 2>/dev/null || true)
can_grant=false
for role in "${GRANTING_ROLES[@]}"; do
  grep -qix "$role" <<<"$held" && can_grant=true
done
if [[ $can_grant != true ]]; then
  tell_admin 'The signed-in account holds no active Entra role that may assign app roles.'
  exit 0
fi

# A service principal created minutes ago may not have replicated across Entra ID yet; Graph then refuses
# the assignment ("Not a valid reference update"). That one error is retried, with growing pauses.
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
  if "${grant[@]}" 2>"$errors"; then
    echo "MDE permissions: Machine.Isolate and Machine.Read.All granted to $principal."
    echo 'New roles reach the app with its next token, which can take up to 24 hours (tokens are cached).'
    exit 0
  fi
  if ! grep -q 'Not a valid reference update' "$errors" || ((attempt == ATTEMPTS)); then break; fi
  echo "MDE permissions: the new identity has not replicated in Entra ID yet; retrying in $((attempt * retry_seconds)) s"
  sleep $((attempt * retry_seconds))
done
cat "$errors" >&2
tell_admin 'The grant deployment failed (error above).' >&2
exit 1
