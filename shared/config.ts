/**
 * The one place that reads settings (docs/architecture.md §4.1). Every value is validated up front and every bad one
 * is reported in the same error, so an operator fixes a deployment in one round instead of one
 * setting per restart.
 */

import { DAY_MS } from './kernel/clock';
import { DURATION_FORM, parseDuration } from './kernel/duration';
import { errorMessage } from './kernel/errors';
import { GUID } from './kernel/ids';
import { parseRateLimits, type RateWindow } from './kernel/rate-windows';
import { readTextFile, TextFileError } from './kernel/text-file';
import { MANUAL_MODES, type ManualMode, POLICY_MODES, type PolicyMode } from './kernel/vocabulary';
import { apiHostsOf, CLOUD_ENDPOINTS, judgeApiUrl, MDE_CLOUDS, type MdeCloud } from './mde/clouds';
import { parseTenantList } from './tenants/parse';
import type { Tenant } from './tenants/tenant';

// Callers read the quota windows from the settings; their syntax lives in the kernel, where the
// tenant list's quota overrides are read with it.
export { parseRateLimits, type RateWindow };

/** Every setting the app reads. The infra test checks that Bicep sets exactly these. */
export const SETTINGS = {
  cloud: 'MDE_CLOUD',
  apiUrl: 'MDE_API_URL',
  clientId: 'AZURE_CLIENT_ID',
  rateLimits: 'MDE_RATE_LIMITS',
  rateHeadroom: 'MDE_RATE_HEADROOM',
  requestTimeout: 'MDE_REQUEST_TIMEOUT_MS',
  policy: 'ISOLATION_POLICY',
  mode: 'ISOLATION_MODE',
  serviceBusNamespace: 'ServiceBusConnection__fullyQualifiedNamespace',
  queue: 'ISOLATION_QUEUE',
  alertQueue: 'ALERT_QUEUE',
  maxAlertBytes: 'MAX_ALERT_BYTES',
  sentinelIncidentComments: 'SENTINEL_INCIDENT_COMMENTS',
  manualEasyAuth: 'MANUAL_EASY_AUTH',
  registerHistoryDays: 'REGISTER_HISTORY_DAYS',
  manualMode: 'MANUAL_ISOLATION_MODE',
  platformLiftDays: 'PLATFORM_LIFT_DAYS',
  reconcileSchedule: 'RECONCILE_SCHEDULE',
  /** Read by shared/notify/settings.ts: the channels hold webhook URLs and secrets. */
  notifyChannels: 'NOTIFY_CHANNELS',
  notifyDigestInterval: 'NOTIFY_DIGEST_INTERVAL',
  /** Read by shared/notify/settings.ts: where the approval page links of the cards point. */
  appPublicUrl: 'APP_PUBLIC_URL',
  tenants: 'MDE_TENANTS',
  tenantAppClientId: 'MDE_TENANT_APP_CLIENT_ID',
  queueSessions: 'ISOLATION_QUEUE_SESSIONS',
  deploymentMaxIsolations: 'MDE_DEPLOYMENT_MAX_ISOLATIONS',
} as const;

/** Every 15 minutes (NCRONTAB with seconds, as the Functions timer reads it). */
export const DEFAULT_RECONCILE_SCHEDULE = '0 */15 * * * *';

export const DEFAULT_RATE_LIMITS = '100/60s,1500/1h';

/** Microsoft's lift: "Device isolation is automatically lifted after seven days" (docs/mde-api.md §7.6). */
export const DEFAULT_PLATFORM_LIFT_DAYS = 7;

export type PolicySource =
  | { kind: 'default' }
  | { kind: 'file'; path: string; text: string }
  | { kind: 'inline'; text: string };

export interface AppConfig {
  cloud: MdeCloud;
  apiBaseUrl: string;
  tokenScope: string;
  authorityHost: string;
  /** Client id of a user-assigned managed identity; null means system-assigned. */
  managedIdentityClientId: string | null;
  rateLimits: RateWindow[];
  /** Fraction of every quota window kept free, for calls made outside this app with the same identity. */
  rateHeadroom: number;
  requestTimeoutMs: number;
  policySource: PolicySource;
  modeOverride: PolicyMode | null;
  /** Null runs the worker inline in the process (local runs, CLI, demo). */
  serviceBusNamespace: string | null;
  queueName: string;
  /** Where relays publish alert events (functions/alert-queue.ts); the same intake as POST /api/alerts. */
  alertQueueName: string;
  maxAlertBytes: number;
  /** Azure Resource Manager of the cloud: where Sentinel incident comments go, and their token audience. */
  armBaseUrl: string;
  /** Post every outcome as a comment on the Sentinel incident of its alert. */
  sentinelIncidentComments: boolean;
  /**
   * App Service authentication is on in front of the app: the manual endpoints trust its principal
   * header and require the operator role. Off, that header is ignored (any caller could send it).
   */
  manualEasyAuth: boolean;
  /** Days a device's register history keeps a transition (besides its cap per device). */
  registerHistoryDays: number;
  /** A person's isolate or release in a dry-run deployment: `follow` the mode, or `enforce` it (MANUAL_MODES). */
  manualMode: ManualMode;
  /**
   * How long MDE lets an isolation last before lifting it on its own (PLATFORM_LIFT_DAYS, default 7:
   * dispatch/steps/expiry.ts); a setting because Microsoft may change it.
   */
  platformLiftMs: number;
  /** When the reconcile timer queues a reconciliation (functions/reconcile-timer.ts). */
  reconcileSchedule: string;
  /**
   * The customer tenants a managed security provider serves (MDE_TENANTS, docs/decisions/0029-many-tenants.md); null:
   * one tenant, the identity's own, configured by the settings above.
   */
  tenants: Tenant[] | null;
  /**
   * Client id of the multi-tenant app registration each tenant consented to; its tokens come from the
   * user-assigned identity's federated credential (mde/tenant-credential.ts). Set with `tenants`.
   */
  tenantAppClientId: string | null;
  /** The request queue is session-enabled: requests are sent with their tenant as the session. */
  queueSessions: boolean;
  /**
   * The deployment-wide cap on automatic isolations across every tenant (MDE_DEPLOYMENT_MAX_ISOLATIONS,
   * docs/decisions/0035-a-deployment-wide-isolation-cap.md); null: none, each breaker caps its own.
   */
  deploymentCap: IsolationCap | null;
}

/** At most `limit` automatic isolations in any rolling `windowMs`. */
export interface IsolationCap {
  limit: number;
  windowMs: number;
}

/** The longest window of the cap: the policy's blast radius allows the same (7 days). */
const CAP_WINDOW_MAX_MS = 7 * DAY_MS;

/**
 * The isolations a breaker remembers by action id, so that one adopted again after a lost answer is
 * counted once (state/breaker-document.ts; the ids must fit one Table property). Every tenant's
 * isolations are counted in the cap's one document: a cap allowing more per window could count one
 * twice and close early, so it is refused.
 */
export const COUNTED_ISOLATIONS_KEPT = 200;

/**
 * MDE_DEPLOYMENT_MAX_ISOLATIONS as written: `COUNT/WINDOW`, `50/1h`, the window a duration (30m, 8h,
 * 2d) of at most seven days. Throws a message saying what is accepted.
 */
export function parseIsolationCap(text: string): IsolationCap {
  const accepted = `accepted: isolations/window, at most ${COUNTED_ISOLATIONS_KEPT} a window, the window ${DURATION_FORM} of at most 7d (e.g. 50/1h)`;
  const match = /^(\d{1,6})\s*\/\s*(\S+)$/.exec(text.trim());
  const limit = match ? Number(match[1]) : 0;
  const windowMs = match ? parseDuration(match[2]) : null;
  if (!match || windowMs === null)
    throw new Error(`"${text.slice(0, 40)}" is not isolations/window; ${accepted}`);
  if (limit < 1) throw new Error(`"${text.slice(0, 40)}" allows no isolation; ${accepted}`);
  if (limit > COUNTED_ISOLATIONS_KEPT)
    throw new Error(
      `"${text.slice(0, 40)}" allows more than ${COUNTED_ISOLATIONS_KEPT} isolations a window (a shorter window gives a higher rate); ${accepted}`,
    );
  if (windowMs > CAP_WINDOW_MAX_MS)
    throw new Error(`"${text.slice(0, 40)}" has a window longer than 7 days; ${accepted}`);
  return { limit, windowMs };
}

function readDeploymentCap(get: Lookup, problems: SettingProblem[]): IsolationCap | null {
  const raw = get(SETTINGS.deploymentMaxIsolations);
  if (!raw) return null;
  try {
    return parseIsolationCap(raw);
  } catch (error) {
    problems.push({ setting: SETTINGS.deploymentMaxIsolations, message: errorMessage(error) });
    return null;
  }
}

export interface SettingProblem {
  setting: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: SettingProblem[]) {
    super(
      `Invalid configuration (${problems.length} setting${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.setting}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Far more than any policy needs; a path to something else (a log, a device) is refused, not read. */
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;

function readPolicySource(value: string | undefined, problems: SettingProblem[]): PolicySource {
  const text = value?.trim();
  if (!text) return { kind: 'default' };
  if (text.startsWith('{')) return { kind: 'inline', text };
  try {
    return { kind: 'file', path: text, text: readTextFile(text, MAX_POLICY_FILE_BYTES) };
  } catch (error) {
    if (!(error instanceof TextFileError)) throw error;
    const { reason } = error;
    problems.push({
      setting: SETTINGS.policy,
      message: `cannot read policy file "${text}" (${reason}); give a readable path, inline policy JSON starting with "{", or leave it empty for the shipped default`,
    });
    return { kind: 'default' };
  }
}

function readPositiveInteger(
  env: Env,
  setting: string,
  fallback: number,
  problems: SettingProblem[],
): number {
  const raw = env[setting]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (Number.isInteger(value) && value > 0) return value;
  problems.push({ setting, message: `"${raw}" is not a positive whole number` });
  return fallback;
}

/** A setting's trimmed value, undefined when unset or blank. */
type Lookup = (name: string) => string | undefined;

/** One of `choices` (case-insensitive), `fallback` when unset; a problem says what is accepted. */
function readChoice<T extends string>(
  get: Lookup,
  setting: string,
  choices: readonly T[],
  fallback: T,
  problems: SettingProblem[],
  accepted = `one of ${choices.join(', ')}`,
): T {
  const raw = get(setting)?.toLowerCase();
  if (raw === undefined) return fallback;
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  problems.push({ setting, message: `"${raw}" is not ${accepted}` });
  return fallback;
}

/** What is wrong with an explicit API URL for `cloud` (judgeApiUrl), and the fix; null when nothing is. */
function apiUrlProblem(cloud: MdeCloud, url: URL): string | null {
  // Never echoed: the value holds a password, which every log line naming the URL would repeat.
  if (url.username || url.password)
    return 'carries a user name or password (user:password@): remove it; the app signs in to MDE with its identity';
  const verdict = judgeApiUrl(cloud, url);
  const host = url.hostname;
  switch (verdict.kind) {
    case 'ok':
      return null;
    case 'not-https':
      return `"${url.origin}" would send the bearer token over plain http: use https://${host}`;
    case 'other-cloud':
      return `host ${host} belongs to cloud "${verdict.owner}", not "${cloud}", whose token it refuses: set ${SETTINGS.cloud}=${verdict.owner}, or a host of "${cloud}" (${apiHostsOf(cloud).join(', ')})`;
    case 'unknown-host':
      return `host ${host} is no documented Defender for Endpoint API host, and the bearer token would go to it: leave ${SETTINGS.apiUrl} empty for ${CLOUD_ENDPOINTS[cloud].apiBaseUrl}, set a host of "${cloud}" (${apiHostsOf(cloud).join(', ')}), or the local simulator by address (http://127.0.0.1:<port>, http://[::1]:<port>, http://localhost:<port>)`;
  }
}

/** The API base URL: the cloud's, or one set explicitly (the simulator), which must belong to the cloud. */
function readApiBaseUrl(get: Lookup, cloud: MdeCloud, problems: SettingProblem[]): string {
  const raw = get(SETTINGS.apiUrl);
  if (!raw) return CLOUD_ENDPOINTS[cloud].apiBaseUrl;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    problems.push({ setting: SETTINGS.apiUrl, message: `"${raw}" is not an absolute http(s) URL` });
    return CLOUD_ENDPOINTS[cloud].apiBaseUrl;
  }
  const problem = apiUrlProblem(cloud, url);
  if (problem) problems.push({ setting: SETTINGS.apiUrl, message: problem });
  // The client adds `/api/...` itself; accept a base given with or without it.
  return url
    .toString()
    .replace(/\/+$/, '')
    .replace(/\/api$/, '');
}

/** The tenant list, and the identity it needs: a user-assigned identity federated with a multi-tenant app. */
function readTenants(
  get: Lookup,
  problems: SettingProblem[],
): Pick<AppConfig, 'tenants' | 'tenantAppClientId'> {
  const appClientId = get(SETTINGS.tenantAppClientId) ?? null;
  if (appClientId && !GUID.test(appClientId))
    problems.push({
      setting: SETTINGS.tenantAppClientId,
      message: `"${appClientId.slice(0, 60)}" is not a GUID (application id of the multi-tenant app registration)`,
    });
  const raw = get(SETTINGS.tenants);
  if (!raw) return { tenants: null, tenantAppClientId: appClientId };
  const reading = parseTenantList(raw);
  for (const problem of reading.problems) problems.push({ setting: SETTINGS.tenants, message: problem });
  if (!appClientId)
    problems.push({
      setting: SETTINGS.tenantAppClientId,
      message: `is required with ${SETTINGS.tenants}: the application (client) id of the multi-tenant app registration every tenant consented to`,
    });
  if (!get(SETTINGS.clientId))
    problems.push({
      setting: SETTINGS.clientId,
      message: `is required with ${SETTINGS.tenants}: the client id of the user-assigned identity federated with the app registration (a system-assigned identity cannot be federated)`,
    });
  return { tenants: reading.tenants, tenantAppClientId: appClientId };
}

function readClientId(get: Lookup, problems: SettingProblem[]): string | null {
  const clientId = get(SETTINGS.clientId) ?? null;
  if (clientId && !GUID.test(clientId))
    problems.push({
      setting: SETTINGS.clientId,
      message: `"${clientId}" is not a GUID (client id of a user-assigned identity)`,
    });
  return clientId;
}

function readRateLimits(get: Lookup, problems: SettingProblem[]): RateWindow[] {
  const raw = get(SETTINGS.rateLimits);
  if (raw)
    try {
      return parseRateLimits(raw);
    } catch (error) {
      problems.push({
        setting: SETTINGS.rateLimits,
        message: `${errorMessage(error)}; accepted: a comma-separated count/window list such as ${DEFAULT_RATE_LIMITS}`,
      });
    }
  return parseRateLimits(DEFAULT_RATE_LIMITS);
}

function readHeadroom(get: Lookup, problems: SettingProblem[]): number {
  const raw = get(SETTINGS.rateHeadroom);
  if (!raw) return 0;
  const value = Number(raw);
  if (Number.isFinite(value) && value >= 0 && value < 0.5) return value;
  problems.push({
    setting: SETTINGS.rateHeadroom,
    message: `"${raw}" is not a fraction from 0 to 0.5 (e.g. 0.05)`,
  });
  return 0;
}

function readServiceBusNamespace(get: Lookup, problems: SettingProblem[]): string | null {
  const namespace = get(SETTINGS.serviceBusNamespace) ?? null;
  if (namespace && !/^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+$/i.test(namespace))
    problems.push({
      setting: SETTINGS.serviceBusNamespace,
      message: `"${namespace}" is not a namespace host name such as myns.servicebus.windows.net (connection strings are not accepted: the app uses its managed identity)`,
    });
  return namespace;
}

function readQueueName(get: Lookup, setting: string, fallback: string, problems: SettingProblem[]): string {
  const name = get(setting) ?? fallback;
  if (!/^[a-z0-9][a-z0-9._/-]{0,259}$/i.test(name))
    problems.push({ setting, message: `"${name}" is not a valid queue name` });
  return name;
}

/**
 * The reconcile timer's schedule: six NCRONTAB fields (second minute hour day month weekday) of digits
 * and `*`, `/`, `,`, `-`; the host refuses anything else at start-up, so it is refused here first.
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
 */
export function readReconcileSchedule(env: Env, problems: SettingProblem[]): string {
  const schedule = env[SETTINGS.reconcileSchedule]?.trim() || DEFAULT_RECONCILE_SCHEDULE;
  const fields = schedule.split(/\s+/);
  if (fields.length !== 6 || !fields.every((f) => /^[0-9*/,-]{1,40}$/.test(f)))
    problems.push({
      setting: SETTINGS.reconcileSchedule,
      message: `"${schedule.slice(0, 80)}" is not a six-field NCRONTAB schedule such as ${DEFAULT_RECONCILE_SCHEDULE} (every 15 minutes)`,
    });
  return schedule;
}

/** Reads and validates every setting; throws one ConfigError listing every bad one. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: SettingProblem[] = [];
  const get: Lookup = (name) => env[name]?.trim() || undefined;
  const cloud = readChoice(get, SETTINGS.cloud, MDE_CLOUDS, 'commercial', problems);
  const endpoints = CLOUD_ENDPOINTS[cloud];
  const config: AppConfig = {
    cloud,
    apiBaseUrl: readApiBaseUrl(get, cloud, problems),
    tokenScope: endpoints.tokenScope,
    authorityHost: endpoints.authorityHost,
    managedIdentityClientId: readClientId(get, problems),
    rateLimits: readRateLimits(get, problems),
    rateHeadroom: readHeadroom(get, problems),
    requestTimeoutMs: readPositiveInteger(env, SETTINGS.requestTimeout, 30_000, problems),
    policySource: readPolicySource(env[SETTINGS.policy], problems),
    modeOverride: get(SETTINGS.mode)
      ? readChoice<PolicyMode>(get, SETTINGS.mode, POLICY_MODES, 'dry-run', problems)
      : null,
    serviceBusNamespace: readServiceBusNamespace(get, problems),
    queueName: readQueueName(get, SETTINGS.queue, 'isolation-requests', problems),
    alertQueueName: readQueueName(get, SETTINGS.alertQueue, 'alerts', problems),
    maxAlertBytes: readPositiveInteger(env, SETTINGS.maxAlertBytes, 1024 * 1024, problems),
    armBaseUrl: endpoints.armBaseUrl,
    sentinelIncidentComments:
      readChoice(
        get,
        SETTINGS.sentinelIncidentComments,
        ['on', 'off'] as const,
        'off',
        problems,
        'on or off (on posts each outcome as a comment on the Sentinel incident)',
      ) === 'on',
    manualEasyAuth:
      readChoice(
        get,
        SETTINGS.manualEasyAuth,
        ['on', 'off'] as const,
        'off',
        problems,
        'on or off (on only when App Service authentication is enabled for the app)',
      ) === 'on',
    registerHistoryDays: readPositiveInteger(env, SETTINGS.registerHistoryDays, 90, problems),
    manualMode: readChoice(
      get,
      SETTINGS.manualMode,
      MANUAL_MODES,
      'follow',
      problems,
      'follow or enforce (enforce lets people isolate and release through the manual API in a dry-run deployment)',
    ),
    platformLiftMs:
      readPositiveInteger(env, SETTINGS.platformLiftDays, DEFAULT_PLATFORM_LIFT_DAYS, problems) * DAY_MS,
    reconcileSchedule: readReconcileSchedule(env, problems),
    ...readTenants(get, problems),
    queueSessions:
      readChoice(
        get,
        SETTINGS.queueSessions,
        ['on', 'off'] as const,
        'off',
        problems,
        'on or off (on only when the request queue was created with sessions: infra queueSessions)',
      ) === 'on',
    deploymentCap: readDeploymentCap(get, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
