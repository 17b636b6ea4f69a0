import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APPROVAL_FUNCTIONS } from '../../functions/approvals';
import { AUDIT_FUNCTION } from '../../functions/audit';
import { DRIFT_FUNCTION } from '../../functions/drift';
import { MANUAL_FUNCTIONS } from '../../functions/manual';
import { DEFAULT_RATE_LIMITS, parseRateLimits, SETTINGS } from '../../shared/config';
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';
import { deadLetterQueueName } from '../../shared/dispatch/transport/service-bus-queue';
import {
  MESSAGES_AT_ONCE,
  REQUEST_QUEUE_SETTINGS,
} from '../../shared/dispatch/transport/service-bus-settings';
import openapi from '../../shared/openapi.json';
import {
  type BicepFile,
  declarations,
  literal,
  loadBicepFiles,
  modules,
  objectKeys,
  parseBicep,
  property,
  renderString,
  resources,
  syntaxProblems,
} from './bicep-tree';
import {
  DOCUMENTED_ROLE_IDS,
  isoDurationMs,
  PERMISSIONS_FILE,
  ruleAlertQueue,
  ruleApiVersions,
  ruleAppSettings,
  ruleDeadLetterQueue,
  ruleDryRunByDefault,
  ruleFunctionApp,
  ruleKeysOnlyInSecureParameters,
  ruleLocalAuthOff,
  ruleManualSignIn,
  ruleMdePermissions,
  ruleNoSecretOutputs,
  ruleParamFile,
  ruleQueue,
  ruleQueueFitsWorker,
  ruleQueueMatchesStandIn,
  ruleRoleAssignments,
  ruleSyntax,
  timeSpanMs,
  type WorkerTimes,
} from './infra-rules';

const repoRoot = join(__dirname, '..', '..');
const infra = loadBicepFiles(join(repoRoot, 'infra'), repoRoot);
const settingsReadByCode = Object.values(SETTINGS);

const hostJson = JSON.parse(readFileSync(join(repoRoot, 'host.json'), 'utf8'));
/** What the worker holds and schedules, from host.json and the dispatch defaults. */
const workerTimes: WorkerTimes = {
  lockRenewalMs: timeSpanMs(hostJson.extensions.serviceBus.maxAutoLockRenewalDuration) ?? 0,
  functionTimeoutMs: timeSpanMs(hostJson.functionTimeout) ?? Number.POSITIVE_INFINITY,
  longestScheduleMs: Math.max(
    DEFAULT_TIMING.trackMaxPendingMs,
    DEFAULT_TIMING.transientMaxMs,
    DEFAULT_TIMING.defaultRetryAfterMs,
    ...parseRateLimits(DEFAULT_RATE_LIMITS).map((w) => w.windowMs),
  ),
};

/** Parses snippets as if they were files of infra/, so rules see them like real files. */
const snippet = (text: string, path = 'infra/modules/bad.bicep'): BicepFile => parseBicep(text, path);
/** The real files with one replaced by a bad version of it. */
const replacing = (path: string, edit: (text: string) => string): BicepFile[] =>
  infra.map((f) => (f.path === path ? parseBicep(edit(f.root.text), f.path) : f));

describe('infra/ parses', () => {
  it('finds main.bicep, its parameter file and the modules', () => {
    const paths = infra.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'infra/main.bicep',
        'infra/main.bicepparam',
        'infra/modules/functionapp.bicep',
        'infra/modules/roles.bicep',
        'infra/permissions.bicep',
        'infra/modules/sentinel-playbook.bicep',
      ]),
    );
  });

  it('has no syntax error in any .bicep or .bicepparam file', () => {
    expect(ruleSyntax(infra)).toEqual([]);
  });

  it('reports a syntax error with file and line', () => {
    const bad = snippet(
      "param ok string\n\nresource x 'Microsoft.Web/sites@2023-12-01' = {\n  name: 'a'\n  properties: {\n",
    );
    expect(syntaxProblems(bad)).toEqual([expect.stringMatching(/^infra\/modules\/bad\.bicep:\d+:\d+: /)]);
    const stray = snippet("param ok string\nvar = 'x'\n");
    expect(syntaxProblems(stray)[0]).toMatch(/^infra\/modules\/bad\.bicep:2:/);
  });

  it('forgives only the documented grammar gaps (extension statement, bicepparam assignment)', () => {
    expect(syntaxProblems(snippet('extension microsoftGraphV1\nparam a string\n'))).toEqual([]);
    expect(syntaxProblems(snippet('extension microsoftGraphV1 extra\nparam a string\n'))).not.toEqual([]);
    expect(syntaxProblems(snippet("using './main.bicep'\nparam a = 'x'\n", 'infra/x.bicepparam'))).toEqual(
      [],
    );
    expect(syntaxProblems(snippet("param a = 'x'\n"))).not.toEqual([]);
    expect(
      syntaxProblems(snippet("using './main.bicep'\nparam a = = 'x'\n", 'infra/x.bicepparam')),
    ).not.toEqual([]);
  });
});

describe('bicep-tree helper', () => {
  const file = snippet(`
var base = { A: 'a', B: 'b' }
var extra = { C: 'c' }
resource s 'Microsoft.Web/sites@2023-12-01' = if (on) {
  name: 'x'
  properties: { siteConfig: { minTlsVersion: '1.2' }, 'quoted-key': true }
}
resource l 'Microsoft.Foo/bars@2020-01-01' = [for i in items: { name: i }]
`);

  it('finds resources with their type, API version, condition and loop', () => {
    const found = resources(file).map((r) => [
      r.symbol,
      r.type,
      r.apiVersion,
      r.condition?.text ?? null,
      r.loop,
    ]);
    expect(found).toEqual([
      ['s', 'Microsoft.Web/sites', '2023-12-01', '(on)', false],
      ['l', 'Microsoft.Foo/bars', '2020-01-01', null, true],
    ]);
  });

  it('reads property values by path, quoted keys included', () => {
    const [site] = resources(file);
    expect(literal(property(site.body, 'properties', 'siteConfig', 'minTlsVersion'))).toBe('1.2');
    expect(literal(property(site.body, 'properties', 'quoted-key'))).toBe(true);
    expect(property(site.body, 'properties', 'nothing')).toBeNull();
  });

  it('renders interpolated names through vars, and refuses what it cannot fill in', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Bicep interpolation inside Bicep source text
    const names = snippet("param q string\nvar dl = '${q}-dead\\'letter'\nvar other = '${zone}-x'\n");
    const value = (name: string) => declarations(names).find((d) => d.name === name)?.value ?? null;
    expect(renderString(names, value('dl'), { q: 'requests' })).toBe("requests-dead'letter");
    expect(renderString(names, value('other'), { q: 'requests' })).toBeUndefined();
    expect(renderString(names, null, {})).toBeUndefined();
  });

  it('collects the keys of union(...) and ternaries of objects through vars', () => {
    const withUnion = snippet(`${file.root.text}\nvar all = union(base, on ? extra : {})\n`);
    const all = declarations(withUnion).find((d) => d.name === 'all');
    expect(objectKeys(withUnion, all?.value ?? null).map((k) => k.key)).toEqual(['A', 'B', 'C']);
    expect(objectKeys(withUnion, null)).toEqual([]);
  });
});

describe('resources and modules', () => {
  it('every resource pins an API version and every module file exists', () => {
    expect(ruleApiVersions(infra, repoRoot)).toEqual([]);
  });

  it('fails on a resource without API version or a missing module', () => {
    const bad = snippet(
      "resource a 'Microsoft.Web/sites' = {\n  name: 'a'\n}\nmodule m 'nowhere.bicep' = {\n  name: 'm'\n}\n",
    );
    expect(ruleApiVersions([bad], repoRoot)).toEqual([
      expect.stringContaining('resource a'),
      expect.stringContaining('missing file nowhere.bicep'),
    ]);
  });
});

describe('function app', () => {
  it('has a managed identity, HTTPS only, TLS 1.2, basic publishing off, Node 22 on one instance', () => {
    expect(ruleFunctionApp(infra)).toEqual([]);
  });

  it.each([
    ["type: 'SystemAssigned'", "type: 'None'", 'identity type'],
    ['httpsOnly: true', 'httpsOnly: false', 'httpsOnly'],
    ["minTlsVersion: '1.2'", "minTlsVersion: '1.0'", 'minTlsVersion'],
    [
      'http20Enabled: true',
      "http20Enabled: true\n      ftpsState: 'Disabled'",
      'which Flex Consumption rejects',
    ],
    ["version: '22'", "version: '20'", 'runtime.version'],
    ['param maximumInstanceCount int = 1', 'param maximumInstanceCount int = 40', 'maximumInstanceCount'],
    ["type: 'SystemAssignedIdentity'", "type: 'StorageAccountConnectionString'", 'deployment storage'],
  ])('fails when %s becomes %s', (good, bad, message) => {
    const files = replacing('infra/modules/functionapp.bicep', (t) => t.replace(good, bad));
    expect(ruleFunctionApp(files)).toEqual([expect.stringContaining(message)]);
  });

  it('fails when the site update strategy becomes a rolling update', () => {
    const files = replacing('infra/modules/functionapp.bicep', (t) =>
      t.replace(
        'scaleAndConcurrency: {',
        "siteUpdateStrategy: {\n        type: 'RollingUpdate'\n      }\n      scaleAndConcurrency: {",
      ),
    );
    expect(ruleFunctionApp(files)).toEqual([expect.stringContaining('site update strategy is not Recreate')]);
  });

  it('fails when FTP publishing is allowed', () => {
    const files = replacing('infra/modules/functionapp.bicep', (t) =>
      t.replace('allow: false', 'allow: true'),
    );
    expect(ruleFunctionApp(files)).toEqual([expect.stringContaining('properties.allow')]);
  });

  it('fails when a publishing credentials policy has no location', () => {
    const files = replacing('infra/modules/functionapp.bicep', (t) =>
      t.replace("name: 'scm'\n  location: location\n", "name: 'scm'\n"),
    );
    expect(ruleFunctionApp(files)).toEqual([expect.stringContaining('scmPublishing has no location')]);
  });
});

describe('local authentication', () => {
  it('is off on storage, Service Bus, Application Insights and Log Analytics', () => {
    expect(ruleLocalAuthOff(infra)).toEqual([]);
  });

  it.each([
    ['infra/modules/storage.bicep', 'allowSharedKeyAccess: false', 'allowSharedKeyAccess: true'],
    ['infra/modules/servicebus.bicep', 'disableLocalAuth: true', 'disableLocalAuth: false'],
    ['infra/modules/servicebus.bicep', "name: 'Standard'", "name: 'Basic'"],
    ['infra/modules/monitoring.bicep', 'DisableLocalAuth: true', 'DisableLocalAuth: false'],
  ])('fails when %s says %s → %s', (path, good, bad) => {
    expect(ruleLocalAuthOff(replacing(path, (t) => t.replace(good, bad)))).toHaveLength(1);
  });
});

describe('app settings', () => {
  it('sets every setting of shared/config.ts SETTINGS and only those plus the host ones, without secrets', () => {
    expect(settingsReadByCode.length).toBeGreaterThan(5);
    expect(ruleAppSettings(infra, settingsReadByCode)).toEqual([]);
  });

  it('fails when the code reads a setting Bicep does not set', () => {
    expect(ruleAppSettings(infra, [...settingsReadByCode, 'NEW_SETTING'])).toEqual([
      expect.stringContaining('NEW_SETTING is read by the code but not set'),
    ]);
  });

  it('fails when Bicep sets a setting nobody reads', () => {
    const files = replacing('infra/modules/functionapp.bicep', (t) =>
      t.replace('  MDE_CLOUD: mdeCloud', "  MDE_CLOUD: mdeCloud\n  LEFTOVER_SETTING: 'x'"),
    );
    expect(ruleAppSettings(files, settingsReadByCode)).toEqual([
      expect.stringContaining('LEFTOVER_SETTING is set but'),
    ]);
  });

  it.each([
    ["'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc'", 'looks like a secret'],
    [
      "'Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=b'",
      'looks like a secret',
    ],
    ['storageAccount.listKeys().keys[0].value', 'reads a secret with listKeys()'],
  ])('fails on a secret value %s', (value, message) => {
    const files = replacing('infra/modules/functionapp.bicep', (t) =>
      t.replace(
        'AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint',
        `AzureWebJobsStorage__blobServiceUri: ${value}`,
      ),
    );
    expect(ruleAppSettings(files, settingsReadByCode)).toEqual(
      expect.arrayContaining([expect.stringContaining(message)]),
    );
  });
});

describe('secrets', () => {
  it('no output exposes a key, and keys only feed SecureString workflow parameters', () => {
    expect(ruleNoSecretOutputs(infra)).toEqual([]);
    expect(ruleKeysOnlyInSecureParameters(infra)).toEqual([]);
  });

  it('fails on an output of a key or connection string', () => {
    const bad = snippet(
      'output functionKey string = app.listKeys().default\noutput cs string = appInsights.properties.ConnectionString\n',
    );
    expect(ruleNoSecretOutputs([bad])).toEqual([
      expect.stringContaining('output functionKey is named like a secret'),
      expect.stringContaining('exposes the result of listKeys()'),
      expect.stringContaining('output cs exposes .ConnectionString'),
    ]);
  });

  it('fails when the function key goes into a plain String workflow parameter', () => {
    const files = replacing('infra/modules/sentinel-playbook.bicep', (t) =>
      t.replace("type: 'SecureString'", "type: 'String'"),
    );
    expect(ruleKeysOnlyInSecureParameters(files)).toEqual([
      expect.stringContaining('listKeys() result is used outside'),
    ]);
  });
});

describe('isolation queue', () => {
  const servicebus = 'infra/modules/servicebus.bicep';

  it('has duplicate detection shorter than 10 minutes but longer than the lock, dead-lettering, bounded deliveries', () => {
    expect(ruleQueue(infra, deadLetterQueueName)).toEqual([]);
  });

  it.each([
    ['requiresDuplicateDetection: true', 'requiresDuplicateDetection: false', 'requiresDuplicateDetection'],
    ['deadLetteringOnMessageExpiration: true', 'deadLetteringOnMessageExpiration: false', 'deadLetteringOn'],
    ["var lockDuration = 'PT2M'", "var lockDuration = 'PT30S'", 'lockDuration'],
    ['param maxDeliveryCount int = 5', 'param maxDeliveryCount int = 100', 'maxDeliveryCount'],
    [
      "duplicateDetectionWindow string = 'PT5M'",
      "duplicateDetectionWindow string = 'PT1H'",
      'at most 10 minutes',
    ],
    [
      "duplicateDetectionWindow string = 'PT5M'",
      "duplicateDetectionWindow string = 'PT2M'",
      'does not outlast',
    ],
  ])('fails when %s becomes %s', (good, bad, message) => {
    expect(
      ruleQueue(
        replacing(servicebus, (t) => t.replace(good, bad)),
        deadLetterQueueName,
      ),
    ).toEqual([expect.stringContaining(message)]);
  });

  it('deploys the duplicate window, delivery count and lock the stand-in and the AMQP peer take', () => {
    expect(ruleQueueMatchesStandIn(infra, deadLetterQueueName, REQUEST_QUEUE_SETTINGS)).toEqual([]);
    const other = replacing(servicebus, (t) =>
      t
        .replace("duplicateDetectionWindow string = 'PT5M'", "duplicateDetectionWindow string = 'PT10M'")
        .replace('param maxDeliveryCount int = 5', 'param maxDeliveryCount int = 10')
        .replace("var lockDuration = 'PT2M'", "var lockDuration = 'PT1M'"),
    );
    expect(ruleQueueMatchesStandIn(other, deadLetterQueueName, REQUEST_QUEUE_SETTINGS)).toEqual([
      expect.stringContaining("is not the peer's 120000 ms"),
      expect.stringContaining("is not the stand-in's 300000 ms"),
      expect.stringContaining("is not the stand-in's 5"),
    ]);
  });

  it('handles as many messages at once in inline mode as the Functions host does', () => {
    expect(hostJson.extensions.serviceBus.maxConcurrentCalls).toBe(MESSAGES_AT_ONCE);
  });

  it('fits the worker: lock renewed for the whole function timeout, messages outlive the longest schedule', () => {
    expect(workerTimes.lockRenewalMs).toBe(10 * 60_000);
    expect(ruleQueueFitsWorker(infra, deadLetterQueueName, workerTimes)).toEqual([]);
  });

  it('fails when host.json renews the lock for less than a function may run, or messages expire too soon', () => {
    expect(
      ruleQueueFitsWorker(infra, deadLetterQueueName, { ...workerTimes, lockRenewalMs: 5 * 60_000 }),
    ).toEqual([expect.stringContaining('a slow step would be redelivered')]);
    const shortLived = replacing(servicebus, (t) =>
      t.replace("defaultMessageTimeToLive: 'P1D'", "defaultMessageTimeToLive: 'PT30M'"),
    );
    expect(ruleQueueFitsWorker(shortLived, deadLetterQueueName, workerTimes)).toEqual([
      expect.stringContaining('does not outlast the longest schedule'),
    ]);
  });

  it('reads the ISO 8601 durations and TimeSpans the rules compare', () => {
    expect(isoDurationMs('PT2M')).toBe(120_000);
    expect(isoDurationMs('P14D')).toBe(14 * 86_400_000);
    expect(isoDurationMs('P1DT1H30M15S')).toBe(86_400_000 + 5_415_000);
    expect(isoDurationMs('PT')).toBeUndefined();
    expect(isoDurationMs('2 minutes')).toBeUndefined();
    expect(timeSpanMs('00:10:00')).toBe(600_000);
    expect(timeSpanMs('00:00:00.80')).toBe(800);
    expect(timeSpanMs('10m')).toBeUndefined();
  });
});

describe('alert queue', () => {
  const servicebus = 'infra/modules/servicebus.bicep';

  it('drops resends, dead-letters what expires, and the app may receive from it', () => {
    expect(ruleAlertQueue(infra)).toEqual([]);
  });

  it.each([
    [
      'requiresDuplicateDetection: true\n    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow\n    maxDeliveryCount: 10',
      'requiresDuplicateDetection: false\n    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow\n    maxDeliveryCount: 10',
      'without duplicate detection',
    ],
  ])('fails when %s becomes %s', (good, bad, message) => {
    expect(ruleAlertQueue(replacing(servicebus, (t) => t.replace(good, bad)))).toEqual([
      expect.stringContaining(message),
    ]);
  });

  it('fails when the app may not receive from it', () => {
    const files = replacing('infra/modules/roles.bicep', (t) =>
      t.replace(/resource alertQueueReceiver[\s\S]*?\n}\n/, ''),
    );
    expect(ruleAlertQueue(files)).toEqual([expect.stringContaining('may not receive from the alert queue')]);
  });
});

describe('dead-letter record queue', () => {
  const servicebus = 'infra/modules/servicebus.bicep';

  it('exists under the name the code sends to, keeps records for two weeks, and the app may only send to it', () => {
    expect(ruleDeadLetterQueue(infra, deadLetterQueueName)).toEqual([]);
    const file = infra.find((f) => f.path === servicebus) as BicepFile;
    const names = resources(file)
      .filter((r) => r.type === 'Microsoft.ServiceBus/namespaces/queues')
      .map((r) => renderString(file, property(r.body, 'name'), { queueName: 'isolation-requests' }));
    expect(names).toEqual(['isolation-requests', 'alerts', deadLetterQueueName('isolation-requests')]);
  });

  it('fails when the code names the queue differently', () => {
    expect(ruleDeadLetterQueue(infra, (q) => `${q}-dlq`)).toEqual([
      expect.stringContaining('expected one queue named like <queue>-dlq'),
    ]);
  });

  it.each([
    ["deadLetterRecordTimeToLive = 'P14D'", "deadLetterRecordTimeToLive = 'P1D'", 'less than a week'],
    ['requiresDuplicateDetection: false', 'requiresDuplicateDetection: true', 'has duplicate detection'],
    [
      'output deadLetterQueueName string = deadLetterQueue.name',
      "output deadLetterQueueName string = 'x'",
      'no output gives',
    ],
  ])('fails when %s becomes %s', (good, bad, message) => {
    expect(
      ruleDeadLetterQueue(
        replacing(servicebus, (t) => t.replace(good, bad)),
        deadLetterQueueName,
      ),
    ).toEqual([expect.stringContaining(message)]);
  });

  it('fails when the app cannot send to it, or may also receive from it', () => {
    const noSender = replacing('infra/modules/roles.bicep', (t) =>
      t.replace('scope: deadLetterQueue\n', 'scope: queue\n'),
    );
    expect(ruleDeadLetterQueue(noSender, deadLetterQueueName)).toEqual([
      expect.stringContaining('may not send to the dead-letter queue'),
    ]);
    const receiver = replacing('infra/modules/roles.bicep', (t) =>
      t.replace(
        /(resource queueReceiver [\s\S]*?)scope: queue\n/,
        (_, head: string) => `${head}scope: deadLetterQueue\n`,
      ),
    );
    expect(ruleDeadLetterQueue(receiver, deadLetterQueueName)).toEqual([
      expect.stringContaining('may receive from the dead-letter queue'),
    ]);
    const notPassed = replacing('infra/main.bicep', (t) =>
      t.replace('deadLetterQueueName: serviceBus.outputs.deadLetterQueueName', "deadLetterQueueName: 'x'"),
    );
    expect(ruleDeadLetterQueue(notPassed, deadLetterQueueName)).toEqual([
      expect.stringContaining('does not pass deadLetterQueueName to the roles module'),
    ]);
  });
});

describe('role assignments', () => {
  it('use the named constants of the documented built-in roles, on the right scopes', () => {
    expect(ruleRoleAssignments(infra)).toEqual([]);
  });

  it('checks the constants against the ids Microsoft documents', () => {
    const roleIds = infra.find((f) => f.path === 'infra/modules/role-ids.bicep');
    expect(roleIds).toBeDefined();
    const files = replacing('infra/modules/role-ids.bicep', (t) =>
      t.replace(DOCUMENTED_ROLE_IDS.storageBlobDataOwnerRoleId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'),
    );
    expect(ruleRoleAssignments(files)).toEqual([
      expect.stringContaining('storageBlobDataOwnerRoleId is ba92f5b4'),
    ]);
  });

  it('fails on a role nothing in the app uses: Storage Queue Data Contributor', () => {
    const files = replacing('infra/modules/role-ids.bicep', (t) =>
      t.concat(
        "\n@export()\nvar storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'\n",
      ),
    );
    expect(ruleRoleAssignments(files)).toEqual([
      expect.stringContaining(
        'storageQueueDataContributorRoleId grants Storage Queue Data Contributor: nothing in the app uses Storage queues',
      ),
    ]);
  });

  it('fails on a hard-coded role id, a missing grant or a wrong scope', () => {
    const hardCoded = replacing('infra/modules/roles.bicep', (t) =>
      t.replace(
        "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSenderRoleId)",
        "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')",
      ),
    );
    expect(ruleRoleAssignments(hardCoded)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          'queueSender does not use subscriptionResourceId with an imported role constant',
        ),
        expect.stringContaining('no role assignment grants serviceBusDataSenderRoleId'),
      ]),
    );
    const namespaceScope = replacing('infra/modules/roles.bicep', (t) =>
      t.replace(/scope: queue\n/g, 'scope: namespace\n'),
    );
    expect(ruleRoleAssignments(namespaceScope)).toEqual([
      expect.stringContaining('serviceBusDataSenderRoleId on a Microsoft.ServiceBus/namespaces/queues'),
      expect.stringContaining('serviceBusDataReceiverRoleId on a Microsoft.ServiceBus/namespaces/queues'),
    ]);
  });
});

describe('MDE application permissions', () => {
  const permissions = PERMISSIONS_FILE;

  it('are granted with the Graph extension, looked up by value, in a deployment of their own', () => {
    expect(ruleMdePermissions(infra)).toEqual([]);
    const main = infra.find((f) => f.path === 'infra/main.bicep') as BicepFile;
    expect(modules(main).map((m) => m.path)).not.toContain('permissions.bicep');
  });

  it('fails on a hard-coded app role id', () => {
    const files = replacing(permissions, (t) =>
      t.replace(
        /appRoleId: filter\([\s\S]*?\)\[0\]\.id/,
        "appRoleId: '93489bf5-0fbc-4f2d-b901-33f2fe08ff05'",
      ),
    );
    expect(ruleMdePermissions(files)).toEqual([
      expect.stringContaining('appRoleId is not looked up by value'),
    ]);
  });

  it('fails when a permission is dropped', () => {
    const dropped = replacing(permissions, (t) => t.replace("  'Machine.Read.All'\n", ''));
    expect(ruleMdePermissions(dropped)).toEqual([expect.stringContaining('Machine.Read.All is not granted')]);
  });

  it('fails when main.bicep deploys the grant or another file uses the Graph extension', () => {
    const asModule = replacing('infra/main.bicep', (t) =>
      t.replace(
        "module roles 'modules/roles.bicep' = {",
        "module grant 'permissions.bicep' = {\n  name: 'grant'\n  params: { principalId: functionApp.outputs.principalId }\n}\n\nmodule roles 'modules/roles.bicep' = {",
      ),
    );
    expect(ruleMdePermissions(asModule)).toEqual([
      expect.stringContaining('deploys permissions.bicep as a module'),
    ]);
    const inModule = replacing('infra/modules/roles.bicep', (t) => `extension microsoftGraphV1\n${t}`);
    expect(ruleMdePermissions(inModule)).toEqual([
      expect.stringContaining('infra/modules/roles.bicep: uses an extension (microsoftGraphV1)'),
    ]);
    const moved = infra.map((f) =>
      f.path === permissions ? parseBicep(f.root.text, 'infra/modules/mde-permissions.bicep') : f,
    );
    expect(ruleMdePermissions(moved)).toEqual(
      expect.arrayContaining([expect.stringContaining(`belongs in ${permissions} only`)]),
    );
  });
});

describe('main.bicep', () => {
  const main = infra.find((f) => f.path === 'infra/main.bicep') as BicepFile;

  it('outputs the function app name and URL, both queues and the identity', () => {
    const outputs = declarations(main)
      .filter((d) => d.kind === 'output')
      .map((d) => d.name);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'functionAppName',
        'functionAppUrl',
        'isolationQueue',
        'deadLetterQueue',
        'identityPrincipalId',
      ]),
    );
  });

  it('deploys the Sentinel playbook only when asked to', () => {
    const playbook = modules(main).find((m) => m.path === 'modules/sentinel-playbook.bicep');
    expect(playbook?.condition?.descendantsOfType('identifier').map((n) => n.text)).toContain(
      'deploySentinelPlaybook',
    );
    const flag = declarations(main).find((d) => d.name === 'deploySentinelPlaybook');
    expect(literal(flag?.value ?? null)).toBe(false);
  });
});

describe('deployment defaults and parameter file', () => {
  it('defaults to dry-run and the parameter file matches main.bicep', () => {
    expect(ruleDryRunByDefault(infra)).toEqual([]);
    expect(ruleParamFile(infra)).toEqual([]);
  });

  it('fails when a deployment would enforce by default', () => {
    const files = replacing('infra/main.bicepparam', (t) =>
      t.replace("isolationMode = 'dry-run'", "isolationMode = 'enforce'"),
    );
    expect(ruleDryRunByDefault(files)).toEqual([
      expect.stringContaining('isolationMode defaults to "enforce"'),
    ]);
  });

  it('fails on a parameter main.bicep does not declare or a missing required one', () => {
    const files = replacing('infra/main.bicepparam', (t) =>
      t.replace('param environmentName =', 'param environmentNam ='),
    );
    expect(ruleParamFile(files)).toEqual([
      expect.stringContaining('environmentNam is not a parameter of main.bicep'),
      expect.stringContaining('required parameter environmentName is not set'),
    ]);
  });

  it('fails when the environment name is fixed, so two azd environments would collide', () => {
    const files = replacing('infra/main.bicepparam', (t) =>
      t.replace("readEnvironmentVariable('AZURE_ENV_NAME', 'soc')", "'soc'"),
    );
    expect(ruleParamFile(files)).toEqual([
      expect.stringContaining("environmentName must be readEnvironmentVariable('AZURE_ENV_NAME', …)"),
    ]);
  });

  it('fails when an override falls back to anything but the azd environment name', () => {
    const files = replacing('infra/main.bicepparam', (t) =>
      t.replace(
        "readEnvironmentVariable('AZURE_ENV_NAME', 'soc')",
        "readEnvironmentVariable('OTHER', 'soc')",
      ),
    );
    expect(ruleParamFile(files)).toEqual([
      expect.stringContaining("environmentName must be readEnvironmentVariable('AZURE_ENV_NAME', …)"),
    ]);
  });
});

describe('Entra ID sign-in for the manual endpoints', () => {
  // Every documented route that is not a manual operation (or their audit, or the drift report): the alerts relays' key, the
  // anonymous probes.
  const manualRoutes = [
    ...Object.values(MANUAL_FUNCTIONS),
    AUDIT_FUNCTION,
    DRIFT_FUNCTION,
    ...Object.values(APPROVAL_FUNCTIONS),
  ].map((fn) => `/api/${fn.route}`);
  const withoutSignIn = Object.keys(openapi.paths).filter((path) => !manualRoutes.includes(path));

  it('is optional, sets MANUAL_EASY_AUTH with it, and asks no token of the alerts and health routes', () => {
    expect(withoutSignIn).toEqual(expect.arrayContaining(['/api/alerts', '/api/health']));
    expect(ruleManualSignIn(infra, withoutSignIn)).toEqual([]);
  });

  it('fails when a manual route is excluded from sign-in, or an alerts route is not', () => {
    const files = replacing('infra/main.bicep', (t) => t.replace("  '/api/alerts'\n", "  '/api/isolate'\n"));
    expect(ruleManualSignIn(files, withoutSignIn)).toEqual([
      expect.stringContaining('routesWithoutSignIn is'),
    ]);
  });

  it('fails when MANUAL_EASY_AUTH does not follow the sign-in, or a caller without a token gets through', () => {
    const unbound = replacing('infra/main.bicep', (t) =>
      t.replace("manualEasyAuth: empty(manualAuthClientId) ? 'off' : 'on'", "manualEasyAuth: 'on'"),
    );
    expect(ruleManualSignIn(unbound, withoutSignIn)).toEqual([
      expect.stringContaining('does not follow manualAuthClientId'),
    ]);
    const open = replacing('infra/modules/entra-auth.bicep', (t) =>
      t.replace("unauthenticatedClientAction: 'Return401'", "unauthenticatedClientAction: 'AllowAnonymous'"),
    );
    expect(ruleManualSignIn(open, withoutSignIn)).toEqual([
      expect.stringContaining('unauthenticatedClientAction is "AllowAnonymous"'),
    ]);
  });
});
