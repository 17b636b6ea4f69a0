// Parameters of one deployment. Nothing secret belongs here (and nothing here is secret): the app
// reaches every service with its managed identity.
using './main.bicep'

// Used by both `azd up` and a manual deployment.
param environmentName = 'soc'

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
