// Parameters of one deployment. Nothing secret belongs here (and nothing here is secret): the app
// reaches every service with its managed identity.
using './main.bicep'

param environmentName = 'soc'

// Stay in dry-run until the decision log of real alerts has been reviewed; then redeploy with 'enforce'.
param isolationMode = 'dry-run'

param mdeCloud = 'commercial'

// Set false when the deployer cannot grant app roles in Entra ID; then run infra/scripts/grant-mde-permissions.sh.
param grantMdePermissions = true

// Sentinel wiring: the workspace resource id, then (after the first `func azure functionapp publish`)
// redeploy with deploySentinelPlaybook = true.
param sentinelWorkspaceId = ''
param deploySentinelPlaybook = false
