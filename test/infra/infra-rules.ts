/**
 * The rules the infrastructure must keep, each a function from parsed Bicep files to a list of problems
 * (empty = rule kept). The tests run every rule on infra/ and on small bad snippets, so each rule is seen
 * to fail as well as to pass.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type BicepFile,
  callsWithin,
  declarations,
  entries,
  extensions,
  imports,
  literal,
  memberNamesWithin,
  modules,
  objectKeys,
  possibleStrings,
  property,
  type ResourceDecl,
  renderString,
  resolve,
  resources,
  type SyntaxNode,
  syntaxProblems,
} from './bicep-tree';

/** Built-in role ids as Microsoft documents them (Azure built-in roles reference), by constant name. */
export const DOCUMENTED_ROLE_IDS: Readonly<Record<string, string>> = {
  serviceBusDataSenderRoleId: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
  serviceBusDataReceiverRoleId: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
  storageBlobDataOwnerRoleId: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageTableDataContributorRoleId: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisherRoleId: '3913510d-42f4-4e42-8a64-420c390055eb',
  sentinelResponderRoleId: '3e150937-b8fe-4cfb-8069-0eaf05ecd056',
  keyVaultSecretsUserRoleId: '4633458b-17de-408a-b874-0445c86b69e6',
};

/**
 * Built-in roles the app identity must not hold, with the reason: a role nothing uses is only a door.
 * Storage queues serve blob triggers and Durable Functions, which this app does not have (its queues are
 * Service Bus); functions-reference "Connecting to host storage with an identity".
 */
export const UNNEEDED_ROLE_IDS: Readonly<Record<string, string>> = {
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88':
    'Storage Queue Data Contributor: nothing in the app uses Storage queues',
};

/** App settings the Functions host (not the app code) reads. Anything else in Bicep must be read by config. */
export const HOST_SETTINGS: readonly string[] = [
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'ServiceBusConnection__credential',
  'ServiceBusConnection__clientId',
];

/**
 * Setting values that may carry a resource locator Microsoft documents as not secret. The App Insights
 * connection string contains `InstrumentationKey=`, but with local auth off it grants nothing.
 */
const NOT_SECRET_BY_DESIGN = new Set(['APPLICATIONINSIGHTS_CONNECTION_STRING']);

const SECRET_TEXT =
  /AccountKey=|SharedAccessKey|SharedAccessSignature|[?&]sig=|password|passwd|client.?secret|InstrumentationKey=|primaryKey|secondaryKey|functionKeys|masterKey/i;
/** list*() functions return keys and connection strings (listKeys, listConnectionStrings, listSecrets…). */
const isListCall = (name: string) => /^list[A-Z][A-Za-z]*$/.test(name);

const where = (file: BicepFile, line: number) => `${file.path}:${line}`;
const all = <T>(files: BicepFile[], pick: (f: BicepFile) => T[]) => files.flatMap(pick);
const deployed = (files: BicepFile[], type: string) =>
  all(files, resources).filter((r) => r.type.toLowerCase() === type.toLowerCase() && !r.existing);

function expectLiteral(r: ResourceDecl, path: string[], allowed: unknown[], problems: string[]) {
  const value = literal(resolve(r.file, property(r.body, ...path)));
  if (!allowed.includes(value))
    problems.push(
      `${where(r.file, r.line)}: ${r.symbol} ${path.join('.')} is ${JSON.stringify(value)}, expected ${allowed.map((a) => JSON.stringify(a)).join(' or ')}`,
    );
}

export function ruleSyntax(files: BicepFile[]): string[] {
  return all(files, syntaxProblems);
}

const API_VERSION = /^(\d{4}-\d{2}-\d{2}(-preview)?|v1\.0|beta)$/;

/** Every resource names its API version; every module path points at a file that exists. */
export function ruleApiVersions(files: BicepFile[], repoRoot: string): string[] {
  const problems = all(files, resources)
    .filter((r) => !r.apiVersion || !API_VERSION.test(r.apiVersion))
    .map(
      (r) => `${where(r.file, r.line)}: resource ${r.symbol} '${r.typeString}' does not pin an API version`,
    );
  for (const m of all(files, modules))
    if (!existsSync(join(repoRoot, dirname(m.file.path), m.path)))
      problems.push(`${where(m.file, m.line)}: module ${m.symbol} points at missing file ${m.path}`);
  return problems;
}

/**
 * Managed identity, HTTPS only, TLS 1.2+, basic publishing (FTP, SCM) off with a location (ARM rejects the
 * policies without one), Flex on Node 22, one instance, updated by restarting every instance (Recreate).
 */
export function ruleFunctionApp(files: BicepFile[]): string[] {
  const problems: string[] = [];
  const sites = deployed(files, 'Microsoft.Web/sites');
  if (sites.length === 0) problems.push('no function app (Microsoft.Web/sites) is deployed');
  for (const site of sites) {
    const identityTypes = possibleStrings(site.file, property(site.body, 'identity'));
    const managed = ['SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned'];
    if (!identityTypes.every((t) => t !== undefined && managed.includes(t)))
      problems.push(
        `${where(site.file, site.line)}: ${site.symbol} identity type is ${JSON.stringify(identityTypes)}, expected a managed identity`,
      );
    expectLiteral(site, ['properties', 'httpsOnly'], [true], problems);
    expectLiteral(site, ['properties', 'siteConfig', 'minTlsVersion'], ['1.2', '1.3'], problems);
    // Flex Consumption rejects Site.SiteConfig.FtpsState (ARM 51021): FTP is off through the 'ftp' policy.
    if (property(site.body, 'properties', 'siteConfig', 'ftpsState'))
      problems.push(
        `${where(site.file, site.line)}: ${site.symbol} sets siteConfig.ftpsState, which Flex Consumption rejects`,
      );
    expectLiteral(site, ['properties', 'functionAppConfig', 'runtime', 'name'], ['node'], problems);
    expectLiteral(site, ['properties', 'functionAppConfig', 'runtime', 'version'], ['22'], problems);
    expectLiteral(
      site,
      ['properties', 'functionAppConfig', 'scaleAndConcurrency', 'maximumInstanceCount'],
      [1],
      problems,
    );
    if (property(site.body, 'properties', 'functionAppConfig', 'scaleAndConcurrency', 'alwaysReady'))
      problems.push(
        `${where(site.file, site.line)}: always-ready instances are not counted by maximumInstanceCount`,
      );
    // No Bicep type of Microsoft.Web/sites declares it yet, so the default (Recreate) is kept by setting
    // none; a rolling update would run two versions side by side (docs/decisions/0014-one-budget-across-processes.md).
    const strategy = property(site.body, 'properties', 'functionAppConfig', 'siteUpdateStrategy', 'type');
    if (strategy && literal(strategy) !== 'Recreate')
      problems.push(
        `${where(site.file, site.line)}: ${site.symbol} site update strategy is not Recreate: old and new versions would overlap`,
      );
    const authType = possibleStrings(
      site.file,
      property(site.body, 'properties', 'functionAppConfig', 'deployment', 'storage', 'authentication'),
    );
    if (!authType.every((t) => t === 'SystemAssignedIdentity' || t === 'UserAssignedIdentity'))
      problems.push(
        `${where(site.file, site.line)}: deployment storage does not authenticate with the identity`,
      );
  }
  const policies = deployed(files, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
  for (const name of ['ftp', 'scm']) {
    const policy = policies.find((p) => literal(property(p.body, 'name')) === name);
    if (!policy) problems.push(`basic publishing credentials policy '${name}' is not set`);
    else {
      expectLiteral(policy, ['properties', 'allow'], [false], problems);
      if (!property(policy.body, 'location'))
        problems.push(
          `${where(policy.file, policy.line)}: ${policy.symbol} has no location, which ARM requires`,
        );
    }
  }
  return problems;
}

/** Storage, Service Bus, Application Insights and Log Analytics accept Entra ID only, over TLS 1.2+. */
export function ruleLocalAuthOff(files: BicepFile[]): string[] {
  const problems: string[] = [];
  const checks: [string, string[], unknown[]][] = [
    ['Microsoft.Storage/storageAccounts', ['properties', 'allowSharedKeyAccess'], [false]],
    ['Microsoft.Storage/storageAccounts', ['properties', 'minimumTlsVersion'], ['TLS1_2', 'TLS1_3']],
    ['Microsoft.Storage/storageAccounts', ['properties', 'allowBlobPublicAccess'], [false]],
    ['Microsoft.ServiceBus/namespaces', ['properties', 'disableLocalAuth'], [true]],
    ['Microsoft.ServiceBus/namespaces', ['properties', 'minimumTlsVersion'], ['1.2', '1.3']],
    ['Microsoft.ServiceBus/namespaces', ['sku', 'name'], ['Standard', 'Premium']],
    ['Microsoft.Insights/components', ['properties', 'DisableLocalAuth'], [true]],
    ['Microsoft.OperationalInsights/workspaces', ['properties', 'features', 'disableLocalAuth'], [true]],
  ];
  for (const [type, path, allowed] of checks) {
    const found = deployed(files, type);
    if (found.length === 0) problems.push(`no ${type} is deployed`);
    for (const r of found) expectLiteral(r, path, allowed, problems);
  }
  return problems;
}

function appSettingsResources(files: BicepFile[]) {
  return deployed(files, 'Microsoft.Web/sites/config').filter(
    (r) => literal(property(r.body, 'name')) === 'appsettings',
  );
}

/**
 * Bicep sets every setting the code reads and nothing the code does not read (besides the host's own),
 * and no value is or fetches a secret.
 */
export function ruleAppSettings(files: BicepFile[], settingsReadByCode: readonly string[]): string[] {
  const problems: string[] = [];
  const found = appSettingsResources(files);
  if (found.length !== 1) return [`expected one appsettings resource, found ${found.length}`];
  const [settings] = found;
  const pairs = objectKeys(settings.file, property(settings.body, 'properties'));
  const names = new Set(pairs.map((p) => p.key));
  for (const name of settingsReadByCode)
    if (!names.has(name))
      problems.push(
        `${where(settings.file, settings.line)}: app setting ${name} is read by the code but not set`,
      );
  for (const name of names)
    if (!settingsReadByCode.includes(name) && !HOST_SETTINGS.includes(name))
      problems.push(
        `${where(settings.file, settings.line)}: app setting ${name} is set but neither the code nor the host reads it`,
      );
  for (const { key, value } of pairs) {
    const at = where(settings.file, value.startPosition.row + 1);
    const listCalls = callsWithin(value).filter((c) => isListCall(c.name));
    if (listCalls.length > 0)
      problems.push(`${at}: app setting ${key} reads a secret with ${listCalls[0].name}()`);
    if (!NOT_SECRET_BY_DESIGN.has(key) && (SECRET_TEXT.test(value.text) || /secret|password|key$/i.test(key)))
      problems.push(`${at}: app setting ${key} looks like a secret or a connection string`);
  }
  return problems;
}

/** No output carries a key, secret or connection string. */
export function ruleNoSecretOutputs(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const output of all(files, declarations).filter((d) => d.kind === 'output')) {
    const at = `${where(output.file, output.line)}: output ${output.name}`;
    if (/key|secret|password|connectionString|token|sas/i.test(output.name))
      problems.push(`${at} is named like a secret`);
    if (!output.value) continue;
    const listCall = callsWithin(output.value).find((c) => isListCall(c.name));
    if (listCall) problems.push(`${at} exposes the result of ${listCall.name}()`);
    const member = memberNamesWithin(output.value).find((m) =>
      /key|secret|password|connectionstring/i.test(m),
    );
    if (member) problems.push(`${at} exposes .${member}`);
  }
  return problems;
}

/** Keys fetched with list*() may only feed a SecureString parameter of a Logic App workflow. */
export function ruleKeysOnlyInSecureParameters(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const workflows = resources(file).filter((r) => r.type === 'Microsoft.Logic/workflows' && !r.existing);
    const allowed = new Set<number>();
    for (const wf of workflows) {
      const definitionParams = property(wf.body, 'properties', 'definition', 'parameters');
      for (const [name, declared] of Object.entries(collect(definitionParams))) {
        if (literal(property(declared, 'type'))?.toString().toLowerCase() !== 'securestring') continue;
        const passed = property(wf.body, 'properties', 'parameters', name, 'value');
        if (passed) for (const call of callsWithin(passed)) allowed.add(call.node.id);
      }
    }
    for (const call of callsWithin(file.root).filter((c) => isListCall(c.name) && !allowed.has(c.node.id)))
      problems.push(
        `${where(file, call.node.startPosition.row + 1)}: ${call.name}() result is used outside a SecureString workflow parameter`,
      );
  }
  return problems;
}

function collect(obj: SyntaxNode | null): Record<string, SyntaxNode> {
  const out: Record<string, SyntaxNode> = {};
  for (const child of obj?.namedChildren ?? []) {
    if (child.type !== 'object_property') continue;
    const key = child.namedChildren[0];
    out[key.type === 'string' ? String(literal(key)) : key.text] =
      child.namedChildren[child.namedChildren.length - 1];
  }
  return out;
}

/** ISO 8601 duration as Service Bus takes it (`PT2M`, `P1D`, `P14D`, `PT1H30M`) in ms; undefined otherwise. */
export function isoDurationMs(value: unknown): number | undefined {
  const match =
    typeof value === 'string' ? /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(value) : null;
  if (!match || value === 'P' || value === 'PT') return undefined;
  const [days, hours, minutes, seconds] = match.slice(1).map((n) => Number(n ?? 0));
  return (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
}

/** .NET TimeSpan `hh:mm:ss[.fff]` as host.json writes it, in ms; undefined otherwise. */
export function timeSpanMs(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value) : null;
  if (!match) return undefined;
  return Math.round(((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000);
}

/** How the code names the dead-letter record queue of a request queue (deadLetterQueueName). */
export type DeadLetterNaming = (queueName: string) => string;

function queueProperty(q: ResourceDecl, name: string) {
  return literal(resolve(q.file, property(q.body, 'properties', name)));
}

/** A queue whose Bicep name, with `${queueName}` filled in, is what the code names the dead-letter queue. */
function isDeadLetterQueue(q: ResourceDecl, naming: DeadLetterNaming): boolean {
  const probe = 'requests';
  return renderString(q.file, property(q.body, 'name'), { queueName: probe }) === naming(probe);
}

/** The queue of alert events relays publish to (functions/alert-queue.ts), named by its own parameter. */
const isAlertQueue = (q: ResourceDecl) => property(q.body, 'name')?.text === 'alertQueueName';

const requestQueues = (files: BicepFile[], naming: DeadLetterNaming) =>
  deployed(files, 'Microsoft.ServiceBus/namespaces/queues').filter(
    (q) => !isDeadLetterQueue(q, naming) && !isAlertQueue(q),
  );

/** The roles (role-ids.bicep names) granted on the queue resource `queueSymbol` of the roles module. */
function queueRoles(rolesFile: BicepFile, queueSymbol: string | undefined): (string | undefined)[] {
  const imported = imports(rolesFile);
  return resources(rolesFile)
    .filter(
      (r) =>
        r.type === 'Microsoft.Authorization/roleAssignments' &&
        property(r.body, 'scope')?.text === queueSymbol,
    )
    .map((r) => {
      const args = property(r.body, 'properties', 'roleDefinitionId')?.childForFieldName(
        'arguments',
      )?.namedChildren;
      return imported.get(args?.[1]?.text ?? '')?.original;
    });
}

/**
 * The alert queue drops a relay's resend (duplicate detection on), dead-letters what expires, and the
 * app may receive from it; relays get Sender on it and nothing else.
 */
export function ruleAlertQueue(files: BicepFile[]): string[] {
  const queues = deployed(files, 'Microsoft.ServiceBus/namespaces/queues').filter(isAlertQueue);
  if (queues.length !== 1)
    return [`expected one alert queue named by alertQueueName, found ${queues.length}`];
  const [q] = queues;
  const problems: string[] = [];
  const at = where(q.file, q.line);
  if (queueProperty(q, 'requiresDuplicateDetection') !== true)
    problems.push(`${at}: alert queue without duplicate detection`);
  if (queueProperty(q, 'deadLetteringOnMessageExpiration') !== true)
    problems.push(`${at}: alert queue drops expired messages instead of dead-lettering them`);
  const rolesFile = files.find((f) => f.path.endsWith('modules/roles.bicep'));
  const queueSymbol =
    rolesFile &&
    resources(rolesFile).find(
      (r) =>
        r.existing &&
        r.type === 'Microsoft.ServiceBus/namespaces/queues' &&
        property(r.body, 'name')?.text === 'alertQueueName',
    )?.symbol;
  if (!rolesFile || !queueRoles(rolesFile, queueSymbol).includes('serviceBusDataReceiverRoleId'))
    problems.push('infra/modules/roles.bicep: the app may not receive from the alert queue');
  return problems;
}

/**
 * The isolation-request queue deploys the settings the in-process stand-in takes
 * (shared/dispatch/transport/service-bus-settings.ts), so tests and inline runs see what Azure does.
 */
export function ruleQueueMatchesStandIn(
  files: BicepFile[],
  naming: DeadLetterNaming,
  standIn: { duplicateWindowMs: number; maxDeliveryCount: number; lockDurationMs: number },
): string[] {
  const queues = requestQueues(files, naming);
  if (queues.length === 0) return ['no isolation-request queue is deployed'];
  return queues.flatMap((q) => {
    const at = where(q.file, q.line);
    const window = queueProperty(q, 'duplicateDetectionHistoryTimeWindow');
    const deliveries = queueProperty(q, 'maxDeliveryCount');
    const lock = queueProperty(q, 'lockDuration');
    return [
      // The tests' AMQP peer holds locks this long (test/support/service-bus-peer/queues.ts).
      ...(isoDurationMs(lock) === standIn.lockDurationMs
        ? []
        : [`${at}: lockDuration ${JSON.stringify(lock)} is not the peer's ${standIn.lockDurationMs} ms`]),
      ...(isoDurationMs(window) === standIn.duplicateWindowMs
        ? []
        : [
            `${at}: duplicate detection window ${JSON.stringify(window)} is not the stand-in's ${standIn.duplicateWindowMs} ms`,
          ]),
      ...(deliveries === standIn.maxDeliveryCount
        ? []
        : [
            `${at}: maxDeliveryCount ${JSON.stringify(deliveries)} is not the stand-in's ${standIn.maxDeliveryCount}`,
          ]),
    ];
  });
}

/**
 * The isolation-request queue collapses duplicates for a short window that outlasts the lock, dead-letters
 * what it cannot deliver, and bounds redeliveries.
 */
export function ruleQueue(files: BicepFile[], naming: DeadLetterNaming): string[] {
  const problems: string[] = [];
  const queues = requestQueues(files, naming);
  if (queues.length === 0) return ['no isolation-request queue is deployed'];
  for (const q of queues) {
    const at = where(q.file, q.line);
    expectLiteral(q, ['properties', 'requiresDuplicateDetection'], [true], problems);
    expectLiteral(q, ['properties', 'deadLetteringOnMessageExpiration'], [true], problems);
    const deliveries = queueProperty(q, 'maxDeliveryCount');
    if (typeof deliveries !== 'number' || deliveries < 3 || deliveries > 10)
      problems.push(`${at}: maxDeliveryCount ${JSON.stringify(deliveries)} is not between 3 and 10`);
    const lock = queueProperty(q, 'lockDuration');
    const lockMs = isoDurationMs(lock);
    // Service Bus allows at most 5 minutes; under one minute a slow MDE call outlives an unrenewed lock.
    if (lockMs === undefined || lockMs < 60_000 || lockMs > 5 * 60_000)
      problems.push(`${at}: lockDuration ${JSON.stringify(lock)} is not between 1 and 5 minutes`);
    const window = queueProperty(q, 'duplicateDetectionHistoryTimeWindow');
    const windowMs = isoDurationMs(window);
    // Longer than the lock, so a redelivered message's re-sends are still collapsed; at most 10 minutes,
    // which is all that needs (message ids are request ids, so no new request is ever swallowed).
    if (windowMs === undefined || windowMs > 10 * 60_000)
      problems.push(
        `${at}: duplicate detection window ${JSON.stringify(window)} is not a duration of at most 10 minutes`,
      );
    else if (lockMs !== undefined && windowMs <= lockMs)
      problems.push(`${at}: duplicate detection window ${window} does not outlast lockDuration ${lock}`);
  }
  return problems;
}

export interface WorkerTimes {
  /** host.json extensions.serviceBus.maxAutoLockRenewalDuration. */
  lockRenewalMs: number;
  /** host.json functionTimeout. */
  functionTimeoutMs: number;
  /**
   * The furthest ahead the worker schedules a message (tracking poll, quota wait, retry backoff). Service Bus
   * counts a scheduled message's time to live from its scheduled time, so requiring more is conservative.
   */
  longestScheduleMs: number;
}

/** The request queue's lock and time to live fit how long the worker holds and schedules messages. */
export function ruleQueueFitsWorker(
  files: BicepFile[],
  naming: DeadLetterNaming,
  worker: WorkerTimes,
): string[] {
  const problems: string[] = [];
  if (worker.lockRenewalMs < worker.functionTimeoutMs)
    problems.push(
      `host.json renews the message lock for ${worker.lockRenewalMs} ms but lets a function run ${worker.functionTimeoutMs} ms: a slow step would be redelivered while it runs`,
    );
  for (const q of requestQueues(files, naming)) {
    const at = where(q.file, q.line);
    const lockMs = isoDurationMs(queueProperty(q, 'lockDuration'));
    if (lockMs !== undefined && lockMs > worker.lockRenewalMs)
      problems.push(`${at}: lockDuration is longer than the host ever renews it`);
    const ttl = queueProperty(q, 'defaultMessageTimeToLive');
    const ttlMs = isoDurationMs(ttl);
    if (ttlMs === undefined || ttlMs <= worker.longestScheduleMs)
      problems.push(
        `${at}: defaultMessageTimeToLive ${JSON.stringify(ttl)} does not outlast the longest schedule (${worker.longestScheduleMs} ms)`,
      );
  }
  return problems;
}

/**
 * The queue the worker writes dead-letter records to exists under the name the code uses, keeps every record
 * long enough for an operator to see it, is an output, and the app may send to it (and only send).
 */
export function ruleDeadLetterQueue(files: BicepFile[], naming: DeadLetterNaming): string[] {
  const queues = deployed(files, 'Microsoft.ServiceBus/namespaces/queues').filter((q) =>
    isDeadLetterQueue(q, naming),
  );
  if (queues.length !== 1)
    return [
      `expected one queue named like ${naming('<queue>')} (the code's dead-letter queue), found ${queues.length}`,
    ];
  const [q] = queues;
  const at = where(q.file, q.line);
  const problems: string[] = [];
  // Every record has its own id; duplicate detection could only ever drop one.
  if (queueProperty(q, 'requiresDuplicateDetection') === true)
    problems.push(`${at}: dead-letter record queue has duplicate detection`);
  const ttl = queueProperty(q, 'defaultMessageTimeToLive');
  const ttlMs = isoDurationMs(ttl);
  if (ttlMs === undefined || ttlMs < 7 * 24 * 3_600_000)
    problems.push(`${at}: dead-letter records live ${JSON.stringify(ttl)}, less than a week`);
  expectLiteral(q, ['properties', 'deadLetteringOnMessageExpiration'], [true], problems);

  const output = declarations(q.file).find(
    (d) => d.kind === 'output' && d.value?.text === `${q.symbol}.name`,
  );
  if (!output) return [...problems, `${q.file.path}: no output gives the dead-letter queue's name`];

  // main.bicep hands that output to the roles module, which grants Sender on the queue it names.
  const main = files.find((f) => f.kind === 'bicep' && f.path.endsWith('main.bicep'));
  const sbModule = main && modules(main).find((m) => q.file.path.endsWith(m.path));
  const rolesModule = main && modules(main).find((m) => m.path.endsWith('roles.bicep'));
  const passedAs = entries(property(rolesModule?.body ?? null, 'params')).find(
    (e) => sbModule && e.value.text === `${sbModule.symbol}.outputs.${output.name}`,
  )?.key;
  if (!passedAs) return [...problems, `main.bicep does not pass ${output.name} to the roles module`];
  const rolesFile = files.find((f) => rolesModule && f.path.endsWith(rolesModule.path));
  if (!rolesFile) return [...problems, 'the roles module file is missing'];
  const queueSymbol = resources(rolesFile).find(
    (r) =>
      r.existing &&
      r.type === 'Microsoft.ServiceBus/namespaces/queues' &&
      property(r.body, 'name')?.text === passedAs,
  )?.symbol;
  const roles = queueRoles(rolesFile, queueSymbol);
  if (!queueSymbol || !roles.includes('serviceBusDataSenderRoleId'))
    problems.push(`${rolesFile.path}: the app may not send to the dead-letter queue (${passedAs})`);
  if (roles.includes('serviceBusDataReceiverRoleId'))
    problems.push(
      `${rolesFile.path}: the app may receive from the dead-letter queue, which the code never reads`,
    );
  return problems;
}

/**
 * Role assignments name their role with an imported constant whose value is the documented id, and the
 * identity gets each role it needs on the right kind of scope.
 */
export function ruleRoleAssignments(files: BicepFile[]): string[] {
  const problems: string[] = [];
  const constants = new Map<string, string | undefined>();
  for (const d of all(files, declarations).filter(
    (d) => d.kind === 'var' && d.decorators.includes('export'),
  )) {
    const value = literal(d.value);
    constants.set(d.name, typeof value === 'string' ? value : undefined);
  }
  for (const [name, id] of constants) {
    if (name in DOCUMENTED_ROLE_IDS && DOCUMENTED_ROLE_IDS[name] !== id)
      problems.push(`role constant ${name} is ${id}, documented id is ${DOCUMENTED_ROLE_IDS[name]}`);
    if (id && id in UNNEEDED_ROLE_IDS) problems.push(`role constant ${name} grants ${UNNEEDED_ROLE_IDS[id]}`);
  }
  const granted: { role: string; scopeType: string; scopeName: string }[] = [];
  for (const file of files) {
    const imported = imports(file);
    const byName = new Map(resources(file).map((r) => [r.symbol, r]));
    for (const ra of resources(file).filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')) {
      const at = `${where(file, ra.line)}: role assignment ${ra.symbol}`;
      const roleDef = property(ra.body, 'properties', 'roleDefinitionId');
      const args =
        roleDef?.type === 'call_expression'
          ? roleDef.childForFieldName('arguments')?.namedChildren
          : undefined;
      const isSubscriptionRoleId =
        roleDef?.childForFieldName('function')?.text === 'subscriptionResourceId' &&
        literal(args?.[0] ?? null) === 'Microsoft.Authorization/roleDefinitions';
      const constant = args?.[1];
      const source = constant?.type === 'identifier' ? imported.get(constant.text) : undefined;
      if (!isSubscriptionRoleId || !source) {
        problems.push(`${at} does not use subscriptionResourceId with an imported role constant`);
        continue;
      }
      if (!(source.original in DOCUMENTED_ROLE_IDS) || !constants.has(source.original))
        problems.push(`${at} uses ${source.original}, which is not a documented built-in role constant`);
      if (literal(property(ra.body, 'properties', 'principalType')) !== 'ServicePrincipal')
        problems.push(`${at} does not set principalType ServicePrincipal`);
      const scope = byName.get(property(ra.body, 'scope')?.text ?? '');
      granted.push({
        role: source.original,
        scopeType: scope?.type ?? '(none)',
        scopeName: property(scope?.body ?? null, 'name')?.text ?? '',
      });
    }
  }
  // [role, scope type, name expression of the scope resource when the type alone is ambiguous]
  const required: [string, string, string?][] = [
    ['serviceBusDataSenderRoleId', 'Microsoft.ServiceBus/namespaces/queues', 'queueName'],
    ['serviceBusDataReceiverRoleId', 'Microsoft.ServiceBus/namespaces/queues', 'queueName'],
    ['storageBlobDataOwnerRoleId', 'Microsoft.Storage/storageAccounts'],
    ['storageTableDataContributorRoleId', 'Microsoft.Storage/storageAccounts'],
    ['monitoringMetricsPublisherRoleId', 'Microsoft.Insights/components'],
    ['sentinelResponderRoleId', 'Microsoft.OperationalInsights/workspaces'],
    ['keyVaultSecretsUserRoleId', 'Microsoft.KeyVault/vaults/secrets'],
  ];
  for (const [role, scopeType, scopeName] of required)
    if (
      !granted.some(
        (g) => g.role === role && g.scopeType === scopeType && (!scopeName || g.scopeName === scopeName),
      )
    )
      problems.push(
        `no role assignment grants ${role} on a ${scopeType}${scopeName ? ` named ${scopeName}` : ''}`,
      );
  return problems;
}

const DEFENDER_APP_ID = 'fc780465-2017-40d4-a0c5-307022471b92';
/** The MDE permission grant: a deployment of its own, run after main.bicep. */
export const PERMISSIONS_FILE = 'infra/permissions.bicep';

/**
 * Machine.Isolate and Machine.Read.All are granted through the Graph extension, with role ids looked up
 * by value on the WindowsDefenderATP service principal, in infra/permissions.bicep alone. No other file uses
 * an extension and none deploys the grant as a module, so main.bicep and its modules compile offline (the
 * extension is restored from a registry) and the grant never runs in the deployment that creates the
 * identity (Graph rejects it before the new service principal has replicated).
 */
export function ruleMdePermissions(files: BicepFile[]): string[] {
  const problems: string[] = [];
  const assignments = all(files, resources).filter((r) => r.type === 'Microsoft.Graph/appRoleAssignedTo');
  if (assignments.length === 0) return ['no Microsoft.Graph/appRoleAssignedTo resource'];
  for (const a of assignments) {
    const file = a.file;
    if (file.path !== PERMISSIONS_FILE)
      problems.push(`${where(file, a.line)}: the MDE permission grant belongs in ${PERMISSIONS_FILE} only`);
    if (!extensions(file).some((e) => /^microsoftGraph/i.test(e) || e.includes('microsoftgraph')))
      problems.push(`${file.path}: no Microsoft Graph extension statement`);
    const sp = resources(file).find((r) => r.type === 'Microsoft.Graph/servicePrincipals' && r.existing);
    if (!sp || literal(resolve(file, property(sp.body, 'appId'))) !== DEFENDER_APP_ID)
      problems.push(
        `${file.path}: WindowsDefenderATP service principal is not looked up by appId ${DEFENDER_APP_ID}`,
      );
    const roleId = property(a.body, 'appRoleId');
    if (
      !roleId ||
      literal(resolve(file, roleId)) !== undefined ||
      !callsWithin(roleId).some((c) => c.name === 'filter')
    )
      problems.push(`${where(file, a.line)}: appRoleId is not looked up by value (filter over appRoles)`);
    else if (!sp || !memberNamesWithin(roleId).includes('appRoles'))
      problems.push(`${where(file, a.line)}: appRoleId is not looked up in the service principal's appRoles`);
    const values = new Set(
      declarations(file)
        .flatMap((d) => (d.value ? d.value.descendantsOfType('string') : []))
        .map((s) => literal(s)),
    );
    for (const role of ['Machine.Isolate', 'Machine.Read.All'])
      if (!values.has(role)) problems.push(`${file.path}: app role ${role} is not granted`);
  }
  for (const file of files.filter((f) => f.path !== PERMISSIONS_FILE && extensions(f).length > 0))
    problems.push(
      `${file.path}: uses an extension (${extensions(file).join(', ')}), which CI cannot restore`,
    );
  for (const m of all(files, modules).filter((m) => m.path.endsWith('permissions.bicep')))
    problems.push(
      `${where(m.file, m.line)}: deploys ${m.path} as a module; the grant is a deployment of its own, after main.bicep`,
    );
  return problems;
}

/** A first deployment never isolates: the mode parameter defaults to dry-run, in main.bicep and its param file. */
export function ruleDryRunByDefault(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const file of files.filter((f) => /main\.bicep(param)?$/.test(f.path))) {
    const mode = declarations(file).find((d) => d.name === 'isolationMode');
    if (!mode) problems.push(`${file.path}: no isolationMode parameter`);
    else {
      const value =
        file.kind === 'bicepparam' ? literal(mode.value?.namedChildren[0] ?? null) : literal(mode.value);
      if (value !== 'dry-run')
        problems.push(`${where(file, mode.line)}: isolationMode defaults to ${JSON.stringify(value)}`);
    }
  }
  return problems;
}

/** The parameter file uses main.bicep and only sets parameters main.bicep declares. */
export function ruleParamFile(files: BicepFile[]): string[] {
  const problems: string[] = [];
  const main = files.find((f) => f.kind === 'bicep' && f.path.endsWith('main.bicep'));
  const paramFiles = files.filter((f) => f.kind === 'bicepparam');
  if (!main || paramFiles.length === 0) return ['main.bicep or its .bicepparam file is missing'];
  const declared = new Set(
    declarations(main)
      .filter((d) => d.kind === 'param')
      .map((d) => d.name),
  );
  const required = declarations(main).filter((d) => d.kind === 'param' && !d.value);
  for (const file of paramFiles) {
    const using = file.root.namedChildren.find((n) => n.type === 'using_statement');
    if (literal(using?.namedChildren[0] ?? null) !== './main.bicep')
      problems.push(`${file.path}: does not use './main.bicep'`);
    const set = declarations(file).filter((d) => d.kind === 'param');
    for (const p of set)
      if (!declared.has(p.name))
        problems.push(`${where(file, p.line)}: ${p.name} is not a parameter of main.bicep`);
    for (const p of required)
      if (!set.some((s) => s.name === p.name))
        problems.push(`${file.path}: required parameter ${p.name} is not set`);
    // A fixed name would make two azd environments of one resource group update the same resources.
    const environmentName = set.find((s) => s.name === 'environmentName');
    const readsAzdName = (node: SyntaxNode | null): boolean => {
      if (node?.childForFieldName('function')?.text !== 'readEnvironmentVariable') return false;
      const [name, fallback] = node.childForFieldName('arguments')?.namedChildren ?? [];
      return literal(name ?? null) === 'AZURE_ENV_NAME' || readsAzdName(fallback ?? null);
    };
    if (environmentName && !readsAzdName(environmentName.value))
      problems.push(
        `${where(file, environmentName.line)}: environmentName must be readEnvironmentVariable('AZURE_ENV_NAME', …)`,
      );
  }
  return problems;
}

/**
 * Entra ID sign-in for the manual endpoints (issue 12): optional, on exactly when an app registration's
 * client id is given; the app trusts x-ms-client-principal (MANUAL_EASY_AUTH) under the same condition;
 * Easy Auth requires a token everywhere but on `routesWithoutSignIn`, which must be the HTTP routes that
 * are not manual operations (relays keep their function key, probes stay anonymous); a caller without a
 * token gets 401, and no token store is kept.
 */
export function ruleManualSignIn(files: BicepFile[], routesWithoutSignIn: readonly string[]): string[] {
  const problems: string[] = [];
  const main = files.find((f) => f.kind === 'bicep' && f.path.endsWith('infra/main.bicep'));
  if (!main) return ['infra/main.bicep is missing'];
  const names = (node: SyntaxNode | null) => node?.descendantsOfType('identifier').map((n) => n.text) ?? [];
  const clientId = declarations(main).find((d) => d.kind === 'param' && d.name === 'manualAuthClientId');
  if (!clientId) problems.push(`${main.path}: no manualAuthClientId parameter`);
  else if (literal(clientId.value) !== '')
    problems.push(
      `${where(main, clientId.line)}: manualAuthClientId must default to '' (sign-in is optional)`,
    );
  const auth = modules(main).find((m) => m.path === 'modules/entra-auth.bicep');
  if (!auth) problems.push(`${main.path}: modules/entra-auth.bicep is not deployed`);
  else if (!names(auth.condition).includes('manualAuthClientId'))
    problems.push(
      `${where(main, auth.line)}: entra-auth is not deployed on the condition of manualAuthClientId`,
    );
  const app = modules(main).find((m) => m.path === 'modules/functionapp.bicep');
  if (!names(property(app?.body ?? null, 'params', 'manualEasyAuth')).includes('manualAuthClientId'))
    problems.push(`${main.path}: MANUAL_EASY_AUTH (manualEasyAuth) does not follow manualAuthClientId`);
  const excluded = declarations(main).find((d) => d.kind === 'var' && d.name === 'routesWithoutSignIn');
  const listed = (excluded?.value?.namedChildren ?? []).map((n) => literal(n));
  const expected = [...routesWithoutSignIn].sort();
  if (JSON.stringify([...listed].sort()) !== JSON.stringify(expected))
    problems.push(
      `${main.path}: routesWithoutSignIn is ${JSON.stringify(listed)}, expected the routes that are not manual operations ${JSON.stringify(expected)}`,
    );
  if (auth && !names(property(auth.body, 'params', 'excludedPaths')).includes('routesWithoutSignIn'))
    problems.push(`${where(main, auth.line)}: entra-auth's excludedPaths are not routesWithoutSignIn`);
  const configs = deployed(files, 'Microsoft.Web/sites/config').filter(
    (r) => literal(property(r.body, 'name')) === 'authsettingsV2',
  );
  if (configs.length !== 1)
    problems.push(`expected one authsettingsV2 configuration, found ${configs.length}`);
  for (const config of configs) {
    expectLiteral(config, ['properties', 'platform', 'enabled'], [true], problems);
    expectLiteral(config, ['properties', 'globalValidation', 'requireAuthentication'], [true], problems);
    expectLiteral(
      config,
      ['properties', 'globalValidation', 'unauthenticatedClientAction'],
      ['Return401'],
      problems,
    );
    expectLiteral(
      config,
      ['properties', 'identityProviders', 'azureActiveDirectory', 'enabled'],
      [true],
      problems,
    );
    expectLiteral(config, ['properties', 'login', 'tokenStore', 'enabled'], [false], problems);
  }
  return problems;
}
