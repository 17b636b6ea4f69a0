// Parameters of one deployment. Nothing secret belongs here (and nothing here is secret): the app
// reaches every service with its managed identity.
using './main.bicep'

// Used by both `azd up` and a manual deployment. azd passes the name of its environment (`azd env new`,
// `azd up -e <name>`) in AZURE_ENV_NAME, so two azd environments deploy two sets of resources; a manual
// deployment without it gets 'soc'. MDE_ISOLATOR_ENVIRONMENT_NAME overrides it: an azd environment that
// deployed before this name followed it was named 'soc' whatever azd called it, and keeps its resources
// with `azd env set MDE_ISOLATOR_ENVIRONMENT_NAME soc`. 2 to 12 letters, digits and hyphens.
param environmentName = readEnvironmentVariable(
  'MDE_ISOLATOR_ENVIRONMENT_NAME',
  readEnvironmentVariable('AZURE_ENV_NAME', 'soc')
)

// Stay in dry-run until the decision log of real alerts has been reviewed; then redeploy with 'enforce'.
param isolationMode = 'dry-run'

// 'enforce' lets people isolate through the manual API while automatic decisions stay a dry run.
param manualIsolationMode = 'follow'

// Entra ID sign-in for the manual endpoints: the client id of your app registration with the
// Isolation.Operator app role (docs/guide/manual-operations.md "Signing in with Entra ID (optional)");
// empty keeps them on their function keys alone.
param manualAuthClientId = ''

param mdeCloud = 'commercial'

// Sentinel wiring: the workspace resource id, then (after the first code publish)
// redeploy with deploySentinelPlaybook = true.
param sentinelWorkspaceId = ''
param deploySentinelPlaybook = false

// Notification channels (docs/notifications.md "Settings"): read from the environment, never written
// here, since the JSON holds webhook URLs and signing secrets. `azd env set NOTIFY_CHANNELS '<json>'`;
// empty: no notifications and no Key Vault.
param notifyChannels = readEnvironmentVariable('NOTIFY_CHANNELS', '')
