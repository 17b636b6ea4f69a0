#!/usr/bin/env bash
# Creates (or completes) the app registration that Entra sign-in for the manual endpoints needs (guide,
# "Signing in with Entra ID"), and prints its application (client) id for `manualAuthClientId`:
# - the app role Isolation.Operator, for users and applications (shared/manual/caller.ts checks it);
# - the app role Isolation.Approver, for the people who approve or deny held isolations (the approval page,
#   POST /api/approvals/{id}/approve|deny); assign it to people other than the operators who ask;
# - the Application ID URI api://<appId>, the resource callers ask a token for;
# - access tokens of version 2 (api.requestedAccessTokenVersion = 2): App Service authentication is set up
#   with the v2.0 issuer (infra/modules/entra-auth.bicep), while a registration left at the default (null,
#   meaning 1) gets v1.0 tokens, whose issuer (https://sts.windows.net/<tenant>/) is not that one
#   (https://learn.microsoft.com/graph/api/resources/apiapplication,
#   https://learn.microsoft.com/entra/identity-platform/access-tokens);
# - a service principal that requires assignment, so only the people and tools assigned the role get a token.
# A deployment serving several tenants (MDE_TENANTS) also needs a role per tenant, Isolation.Tenant.<tenant id>,
# and Isolation.Tenant.All: scripts/tenant-roles.sh adds them to this registration from the tenant list.
# Safe to run again: an existing registration of that name is completed, not duplicated.
#
#   infra/scripts/create-operator-app.sh [display-name]     (default mde-isolator-operators)
set -euo pipefail

readonly ROLE=Isolation.Operator
readonly APPROVER_ROLE=Isolation.Approver
name=${1:-mde-isolator-operators}

app_id=$(az ad app list --display-name "$name" --query '[0].appId' --output tsv)
if [[ -z $app_id ]]; then
  roles=$(mktemp)
  trap 'rm -f "$roles"' EXIT
  cat >"$roles" <<JSON
[{"allowedMemberTypes":["User","Application"],"displayName":"Isolation operator",
  "description":"Isolate, release and cancel through mde-isolator's manual API",
  "isEnabled":true,"value":"$ROLE","id":"$(node -e 'process.stdout.write(crypto.randomUUID())')"},
 {"allowedMemberTypes":["User"],"displayName":"Isolation approver",
  "description":"Approve or deny isolations mde-isolator holds for approval",
  "isEnabled":true,"value":"$APPROVER_ROLE","id":"$(node -e 'process.stdout.write(crypto.randomUUID())')"}]
JSON
  app_id=$(az ad app create --display-name "$name" --app-roles "@$roles" --query appId --output tsv)
  echo "created app registration $name ($app_id)" >&2
elif [[ $(az ad app show --id "$app_id" --query "length(appRoles[?value=='$ROLE'])" --output tsv) == 0 ]]; then
  echo "error: app registration $name ($app_id) exists without the $ROLE app role; add it, or give another name" >&2
  exit 1
elif [[ $(az ad app show --id "$app_id" --query "length(appRoles[?value=='$APPROVER_ROLE'])" --output tsv) == 0 ]]; then
  echo "note: app registration $name ($app_id) has no $APPROVER_ROLE app role: add it for approvals" >&2
fi

az ad app update --id "$app_id" --identifier-uris "api://$app_id"
graph=$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)
az rest --method patch --url "${graph%/}/v1.0/applications(appId='$app_id')" \
  --headers 'Content-Type=application/json' --body '{"api":{"requestedAccessTokenVersion":2}}' --output none
az ad sp show --id "$app_id" --output none 2>/dev/null || az ad sp create --id "$app_id" --output none
az ad sp update --id "$app_id" --set appRoleAssignmentRequired=true

echo "$app_id"
