# Sourced by the azd hooks (azure.yaml): finds this azd environment's function app and its identity. Two azd
# environments may share a resource group, so resources are found by their tags: `environment` (the
# environmentName parameter, which infra/main.bicepparam takes from AZURE_ENV_NAME) and, for the app,
# `azd-service-name: api`.

# The environment name as infra/main.bicepparam reads it; checked, since it goes into a query.
azd_environment() {
  local name=${MDE_ISOLATOR_ENVIRONMENT_NAME:-${AZURE_ENV_NAME:-soc}}
  if [[ ! $name =~ ^[A-Za-z0-9-]{2,12}$ ]]; then
    echo "error: azd environment name '$name' is not 2 to 12 letters, digits and hyphens (it goes into resource names)" >&2
    return 2
  fi
  echo "$name"
}

# azd_app <resource group>: the name of the function app.
azd_app() {
  local env app
  env=$(azd_environment) || return
  app=$(az resource list --resource-group "$1" --resource-type Microsoft.Web/sites \
    --query "[?tags.\"azd-service-name\"=='api' && tags.environment=='$env'].name | [0]" --output tsv)
  if [[ -z $app ]]; then
    echo "error: no function app of azd environment '$env' in $1 (tags azd-service-name=api, environment=$env)" >&2
    return 1
  fi
  echo "$app"
}

# azd_principal <resource group> <app>: the object id of its identity (system-assigned, else the user-assigned).
azd_principal() {
  local principal
  principal=$(az functionapp identity show --resource-group "$1" --name "$2" \
    --query 'principalId || values(userAssignedIdentities)[0].principalId' --output tsv)
  if [[ ! $principal =~ ^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$ ]]; then
    echo "error: no managed identity found on function app '$2' in $1" >&2
    return 1
  fi
  echo "$principal"
}

# azd_storage <resource group>: the resource id of the app's storage account (host storage and packages).
azd_storage() {
  local env
  env=$(azd_environment) || return
  az resource list --resource-group "$1" --resource-type Microsoft.Storage/storageAccounts \
    --query "[?tags.application=='mde-isolator' && tags.environment=='$env'].id | [0]" --output tsv
}
