// Sentinel can only run Logic App playbooks from an automation rule, so this small Consumption Logic App
// is the bridge: on "incident created" (or updated, depending on the rule) it posts the incident, as the
// trigger delivers it, to the function app's /api/alerts. If the post is not accepted it leaves a comment
// on the incident so the analyst knows the incident was not processed.
//
// Deploy it after the first code publish: the function key is read with listKeys at deployment time and
// exists only once the `alerts` function is published.

param location string
param tags object
param playbookName string
param functionAppName string

@description('Name of the HTTP function serving /api/alerts; its own key is used (not the host key) so the playbook can call nothing else.')
param alertsFunctionName string = 'alerts'

@description('Resource id of the Log Analytics workspace where Microsoft Sentinel is enabled.')
param sentinelWorkspaceId string

resource functionApp 'Microsoft.Web/sites@2023-12-01' existing = {
  name: functionAppName
}

resource alertsFunction 'Microsoft.Web/sites/functions@2023-12-01' existing = {
  parent: functionApp
  name: alertsFunctionName
}

// The Sentinel connector authenticated as the playbook's managed identity: no user consent, no secret.
resource sentinelConnection 'Microsoft.Web/connections@2016-06-01' = {
  name: 'azuresentinel-${playbookName}'
  location: location
  tags: tags
  properties: {
    displayName: 'Microsoft Sentinel (${playbookName} managed identity)'
    parameterValueType: 'Alternative'
    api: {
      id: subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'azuresentinel')
    }
  }
}

var sentinelConnectionRef = '@parameters(\'$connections\')[\'azuresentinel\'][\'connectionId\']'

resource playbook 'Microsoft.Logic/workflows@2019-05-01' = {
  name: playbookName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    state: 'Enabled'
    definition: {
      '$schema': 'https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#'
      contentVersion: '1.0.0.0'
      parameters: {
        '$connections': {
          type: 'Object'
          defaultValue: {}
        }
        alertsUrl: {
          type: 'String'
        }
        // SecureString: the value is not returned when the workflow is read and not shown in run history.
        functionKey: {
          type: 'SecureString'
        }
      }
      triggers: {
        Microsoft_Sentinel_incident: {
          type: 'ApiConnectionWebhook'
          inputs: {
            host: {
              connection: {
                name: sentinelConnectionRef
              }
            }
            body: {
              callback_url: '@{listCallbackUrl()}'
            }
            path: '/incident-creation'
          }
        }
      }
      actions: {
        Post_incident_to_mde_isolator: {
          type: 'Http'
          runAfter: {}
          inputs: {
            method: 'POST'
            uri: '@parameters(\'alertsUrl\')'
            headers: {
              'Content-Type': 'application/json'
              'x-functions-key': '@parameters(\'functionKey\')'
            }
            body: '@triggerBody()'
            // Retries only transient answers (408, 429, 5xx); a 4xx verdict on the payload is final.
            retryPolicy: {
              type: 'exponential'
              count: 4
              interval: 'PT15S'
            }
          }
          // Keeps the key header out of the run history.
          runtimeConfiguration: {
            secureData: {
              properties: [
                'inputs'
              ]
            }
          }
        }
        Comment_when_not_accepted: {
          type: 'ApiConnection'
          runAfter: {
            Post_incident_to_mde_isolator: [
              'Failed'
              'TimedOut'
            ]
          }
          inputs: {
            host: {
              connection: {
                name: sentinelConnectionRef
              }
            }
            method: 'post'
            path: '/Incidents/Comment'
            body: {
              incidentArmId: '@triggerBody()?[\'object\']?[\'id\']'
              message: '<p>mde-isolator did not accept this incident (HTTP @{outputs(\'Post_incident_to_mde_isolator\')?[\'statusCode\']}). Nothing was isolated by this run; see the run history of playbook ${playbookName}.</p>'
            }
          }
        }
      }
      outputs: {}
    }
    parameters: {
      '$connections': {
        value: {
          azuresentinel: {
            connectionId: sentinelConnection.id
            connectionName: sentinelConnection.name
            id: sentinelConnection.properties.api.id
            connectionProperties: {
              authentication: {
                type: 'ManagedServiceIdentity'
              }
            }
          }
        }
      }
      alertsUrl: {
        value: 'https://${functionApp.properties.defaultHostName}/api/alerts'
      }
      functionKey: {
        value: alertsFunction.listKeys().default
      }
    }
  }
}

var workspaceIdParts = split(sentinelWorkspaceId, '/')

// The playbook identity comments on incidents through the Sentinel connector.
module playbookResponder 'sentinel-responder.bicep' = {
  name: 'sentinel-responder-${playbookName}'
  scope: resourceGroup(workspaceIdParts[2], workspaceIdParts[4])
  params: {
    workspaceName: last(workspaceIdParts)
    principalIds: [
      playbook.identity.principalId
    ]
  }
}

output playbookName string = playbook.name
output playbookPrincipalId string = playbook.identity.principalId
