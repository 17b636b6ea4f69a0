#!/usr/bin/env bash
# azd pre-deploy hook of service `api` (azure.yaml). On a new app, the platform writes the uploaded package to
# the deployment container with the app's own identity, and its Storage Blob Data Owner role, created by the
# provisioning minutes earlier, can take up to 10 minutes to apply
# (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting): until then the upload fails
# with 403. azd uploads once and has no retry (Azure/azure-dev#8026), so while that role is younger than 10
# minutes this hook waits out the rest; later deployments find it older and go straight on.
# (`npm run publish:azure` retries the upload instead: scripts/retry-upload.sh.)
#
# Env from azd: AZURE_RESOURCE_GROUP, AZURE_ENV_NAME.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=infra/scripts/azd-app.sh
source "$root/infra/scripts/azd-app.sh"
rg=${AZURE_RESOURCE_GROUP:?AZURE_RESOURCE_GROUP is not set (azd sets it for a resource-group deployment)}
readonly STORAGE_BLOB_DATA_OWNER=b7e6dc6d-f1e8-4753-8033-0f276bb0955b
readonly PROPAGATION_SECONDS=600

if ! command -v az >/dev/null; then
  echo "deploy: the Azure CLI (az) is not installed, so the age of the app identity's storage role is unknown."
  echo 'A first deployment within 10 minutes of provisioning may fail with 403: run `azd deploy` again then.'
  exit 0
fi

app=$(azd_app "$rg")
principal=$(azd_principal "$rg" "$app")
storage=$(azd_storage "$rg")
created=$(az role assignment list --scope "$storage" \
  --query "[?principalId=='$principal' && ends_with(roleDefinitionId, '$STORAGE_BLOB_DATA_OWNER')].createdOn | [0]" \
  --output tsv)
if [[ -z $created ]]; then
  echo "deploy: warning: no Storage Blob Data Owner role for $principal on $storage; the upload will be refused" >&2
  exit 0
fi
age=$(node -e 'process.stdout.write(String(Math.floor((Date.now() - Date.parse(process.argv[1])) / 1000)))' "$created")
if [[ ! $age =~ ^-?[0-9]+$ ]]; then
  echo "deploy: warning: cannot read the storage role's creation time '$created'; not waiting" >&2
  exit 0
fi
if ((age >= PROPAGATION_SECONDS)); then exit 0; fi
wait=$((PROPAGATION_SECONDS - age))
echo "deploy: the app identity's storage role was created ${age} s ago and can take up to 10 minutes to apply;"
echo "an upload before then fails with 403. Waiting ${wait} s (or stop now and run \`azd deploy\` later)."
sleep "$wait"
