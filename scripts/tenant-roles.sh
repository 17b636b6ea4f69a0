#!/usr/bin/env bash
# Adds to the sign-in app registration (infra/scripts/create-operator-app.sh, `manualAuthClientId`) the
# app roles that let a person act in one tenant of a managed security provider's list (MDE_TENANTS):
# Isolation.Tenant.<tenant id> per tenant and Isolation.Tenant.All for every tenant
# (docs/decisions/0033-operator-authorization-per-tenant.md). The roles already there stay as they are,
# with their ids (assignments hang on them); only missing ones are added, so it is safe to run again
# after a tenant joins the list. Prints one line per role added; assign them in Enterprise applications.
#
#   scripts/tenant-roles.sh <sign-in-app-client-id> [tenant-list.json]   # without a file: $MDE_TENANTS
#
# https://learn.microsoft.com/entra/identity-platform/howto-add-app-roles-in-apps
set -euo pipefail

usage() {
  echo 'usage: tenant-roles.sh <sign-in-app-client-id> [tenant-list.json]   (without a file: $MDE_TENANTS)' >&2
  exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
readonly guid='^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'
[[ $1 =~ $guid ]] || { echo "tenant-roles.sh: \"$1\" is not an application (client) id (GUID)" >&2; exit 2; }
if [[ $# -eq 2 ]]; then
  list=$(cat -- "$2")
else
  list=${MDE_TENANTS:-}
fi
[[ -n $list ]] || { echo 'tenant-roles.sh: no tenant list: give a file or set MDE_TENANTS' >&2; exit 2; }

roles=$(mktemp)
trap 'rm -f "$roles"' EXIT
az ad app show --id "$1" --query appRoles --output json >"$roles"

# Writes the merged roles back to the file and prints the values added; exit 2 on a bad list.
added=$(ROLES_FILE=$roles TENANT_LIST=$list node -e '
const fs = require("node:fs");
const crypto = require("node:crypto");
const guid = /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i;
let tenants;
try {
  tenants = JSON.parse(process.env.TENANT_LIST);
} catch (error) {
  console.error(`tenant-roles.sh: the tenant list is not JSON (${error.message})`);
  process.exit(2);
}
if (!Array.isArray(tenants)) {
  console.error("tenant-roles.sh: the tenant list is not a JSON array");
  process.exit(2);
}
const bad = tenants.findIndex((tenant) => !guid.test(String(tenant?.tenantId ?? "")));
if (bad >= 0) {
  console.error(`tenant-roles.sh: [${bad}] needs a tenantId (GUID); nothing was changed`);
  process.exit(2);
}
const roles = JSON.parse(fs.readFileSync(process.env.ROLES_FILE, "utf8")) ?? [];
// The portal shows a role by its display name: one line, bounded.
const named = (text) => String(text).replace(/[\t\n\r]+/g, " ").slice(0, 80);
const wanted = [
  ["Isolation.Tenant.All", "Isolate in every tenant"],
  ...tenants.map((t) => [`Isolation.Tenant.${t.tenantId.toLowerCase()}`, `Isolate in ${named(t.displayName ?? t.tenantId)}`]),
];
const values = new Set(roles.map((role) => role.value));
for (const [value, displayName] of wanted) {
  if (values.has(value)) continue;
  values.add(value);
  roles.push({
    allowedMemberTypes: ["User", "Application"],
    displayName,
    description: `${displayName} through mde-isolator (with Isolation.Operator or Isolation.Approver)`,
    isEnabled: true,
    value,
    id: crypto.randomUUID(),
  });
  console.log(value);
}
fs.writeFileSync(process.env.ROLES_FILE, JSON.stringify(roles));
')

if [[ -z $added ]]; then
  echo 'tenant-roles.sh: every tenant role is there already; nothing changed' >&2
  exit 0
fi
az ad app update --id "$1" --app-roles "@$roles"
echo "$added"
