// What the SOC watches: a workbook over the app's records and log alert rules on them, both reading the
// Application Insights component the function app writes to. The queries live in infra/workbook.json and
// infra/alert-rules.json, where test/infra/kql-fields.test.ts parses each one and checks every record field
// it reads against the record contract (docs/records.md).

param location string
param tags object
param appInsightsName string
param environmentName string

@description('Minutes an escalation may wait for a person before its alert rule fires.')
@minValue(5)
param escalationAlertMinutes int = 60

@description('Resource id of an action group the alert rules notify; empty: the alerts show in the portal only.')
param alertActionGroupId string = ''

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; derived, so a redeployment updates it in place.
  name: guid(resourceGroup().id, appInsightsName, 'mde-isolator-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'mde-isolator (${environmentName})'
    category: 'workbook'
    sourceId: appInsights.id
    serializedData: loadTextContent('../workbook.json')
  }
}

var rules = loadJsonContent('../alert-rules.json')

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in items(rules): {
    name: 'mdeiso-${rule.key}-${environmentName}'
    location: location
    tags: tags
    properties: {
      displayName: rule.value.displayName
      description: rule.value.description
      severity: rule.value.severity
      enabled: true
      evaluationFrequency: rule.value.evaluationFrequency
      windowSize: rule.value.windowSize
      scopes: [
        appInsights.id
      ]
      criteria: {
        allOf: [
          {
            query: replace(rule.value.query, '{escalationMinutes}', string(escalationAlertMinutes))
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: empty(alertActionGroupId) ? [] : [alertActionGroupId]
      }
    }
  }
]

output workbookId string = workbook.id
