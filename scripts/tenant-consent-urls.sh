#!/usr/bin/env bash
# Prints, for each customer tenant of a managed security provider's tenant list (MDE_TENANTS), the admin
# consent URL of the multi-tenant app registration: a Global Administrator (or Privileged Role
# Administrator) of that tenant opens it and grants the app's Machine.Isolate and Machine.Read.All
# (docs/mde-api.md §18). One line per tenant, tab-separated: tenant id, display name, URL.
#
#   scripts/tenant-consent-urls.sh <app-client-id> [tenant-list.json]   # without a file: $MDE_TENANTS
#
# The sign-in host follows each tenant's cloud as shared/mde/clouds.ts says (authorityHost);
# test/infra/consent-script.test.ts holds the two to the same table.
# https://learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent
set -euo pipefail

usage() {
  echo 'usage: tenant-consent-urls.sh <app-client-id> [tenant-list.json]   (without a file: $MDE_TENANTS)' >&2
  exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
readonly guid='^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'
[[ $1 =~ $guid ]] || { echo "tenant-consent-urls.sh: \"$1\" is not an application (client) id (GUID)" >&2; exit 2; }
if [[ $# -eq 2 ]]; then
  list=$(cat -- "$2")
else
  list=${MDE_TENANTS:-}
fi
[[ -n $list ]] || { echo 'tenant-consent-urls.sh: no tenant list: give a file or set MDE_TENANTS' >&2; exit 2; }

APP_CLIENT_ID=$1 TENANT_LIST=$list node -e '
const hosts = {
  commercial: "https://login.microsoftonline.com",
  gcc: "https://login.microsoftonline.com",
  "gcc-high": "https://login.microsoftonline.us",
  dod: "https://login.microsoftonline.us",
};
const guid = /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i;
let tenants;
try {
  tenants = JSON.parse(process.env.TENANT_LIST);
} catch (error) {
  console.error(`tenant-consent-urls.sh: the tenant list is not JSON (${error.message})`);
  process.exit(2);
}
if (!Array.isArray(tenants)) {
  console.error("tenant-consent-urls.sh: the tenant list is not a JSON array");
  process.exit(2);
}
tenants.forEach((tenant, index) => {
  const id = String(tenant?.tenantId ?? "");
  const host = hosts[tenant?.cloud ?? "commercial"];
  if (!guid.test(id) || !host) {
    console.error(`tenant-consent-urls.sh: [${index}] needs a tenantId (GUID) and a cloud of ${Object.keys(hosts).join(", ")}`);
    process.exitCode = 2;
    return;
  }
  const name = String(tenant.displayName ?? "").replace(/[\t\n\r]/g, " ");
  const url = `${host}/${id.toLowerCase()}/adminconsent?client_id=${process.env.APP_CLIENT_ID.toLowerCase()}`;
  console.log(`${id.toLowerCase()}\t${name}\t${url}`);
});
'
