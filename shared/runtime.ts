/**
 * The composition root: the one place that builds the pipeline (settings, one credential, one MDE
 * client, one throttle, the policy, the queue, the dispatcher) and the one entry every way in uses:
 * the functions, the CLI, the demo, the bench and the test harness. Everything that counts MDE
 * calls is one per process and tenant, and every process spends one quota budget per tenant in the
 * state store with its holder lease (docs/decisions/0014-one-budget-across-processes.md). With a
 * tenant list each listed tenant's work has a lane of its own beside the deployment's
 * (docs/decisions/0031-a-worker-per-tenant.md).
 *
 * Two modes (docs/architecture.md §2.1):
 * - `service-bus`: requests go to Service Bus and the Functions host delivers them to
 *   functions/worker.ts, which calls `handle`;
 * - `inline` (CLI, demo, local runs without a namespace): the in-memory Service Bus stand-in
 *   delivers them to the same `handle` inside this process, and `waitForIdle` tells when all ended.
 */
import type { TokenCredential } from '@azure/identity';
import { type Meter, metrics } from '@opentelemetry/api';
import type { ApprovalDeps } from './approvals/deps';
import type { ApprovalEvents } from './approvals/events';
import { expireApproval, expireOverdueApprovals } from './approvals/expiry';
import { StoreApprovalGate } from './approvals/gate';
import { heldTenant } from './approvals/views';
import { type VoteOrder, type VoteResult, voteOnApproval } from './approvals/vote';
import { type AppConfig, ConfigError, loadConfig } from './config';
import { ClaimKeeper, DEFAULT_CLAIM_LEASE_MS } from './dispatch/claim-keeper';
import { Dispatcher, type ManualOrder, tenantNamedBy } from './dispatch/dispatcher';
import { observeGauges } from './dispatch/gauges';
import { withMetrics } from './dispatch/metrics';
import { type DispatchReporter, jsonLinesReporter, notingTenant } from './dispatch/outcome';
import { OutcomeFeed, type OutcomeWatch } from './dispatch/outcome-feed';
import { MdeThrottle, noteLearnedCeilings } from './dispatch/quota/throttle';
import { reconcileMessage, reconcileOrder } from './dispatch/reconcile-order';
import type { IsolationRequest } from './dispatch/request';
import type { DecisionSink } from './dispatch/sink';
import { breakerLimits, type DeploymentCap } from './dispatch/steps/blast-radius';
import { releaseDueTimeBoxes } from './dispatch/steps/time-box';
import { DEFAULT_TIMING, type DispatchTiming } from './dispatch/timing';
import { InProcessQueue } from './dispatch/transport/in-process-queue';
import type { DeadLetterRecord, Delivery, RequestQueue } from './dispatch/transport/queue';
import type { ServiceBusEndpoint } from './dispatch/transport/service-bus-queue';
import { MESSAGES_AT_ONCE } from './dispatch/transport/service-bus-settings';
import { tenantQueue } from './dispatch/transport/tenant-queue';
import { type IntakeLogLine, type IntakeResult, receiveAlerts } from './intake/receive-alerts';
import { cachedFor } from './kernel/cached';
import { type Clock, DAY_MS, systemClock } from './kernel/clock';
import { errorMessage } from './kernel/errors';
import type { MdeApi } from './mde/api';
import { AppIdentity } from './mde/app-identity';
import { createMdeClient } from './mde/client';
import { type AppCredential, createCredential } from './mde/credential';
import { TenantCredentials } from './mde/tenant-credential';
import type { NotifyEvent } from './notify/events';
import { eventOfApproval, eventOfBreakGlass } from './notify/from-approvals';
import { eventOfExpiry } from './notify/from-records';
import { Notifier } from './notify/notifier';
import { type NotifySettings, readNotifySettings } from './notify/settings';
import { notifyingSink } from './notify/sink';
import type { Timers } from './notify/timers';
import { loadPolicy } from './policy/load';
import type { IsolationPolicy } from './policy/types';
import { PolicyError } from './policy/validate';
import { Reconciler } from './reconcile/reconciler';
import { withIncidentComments } from './report/sentinel-comments';
import { createIncidentReader, type IncidentReader } from './sentinel/incidents';
import { openStateStore, readStateStorage, type StateStorage } from './state/settings';
import { LIST_MAX, type StateStore, StoreUnavailableError } from './state/store';
import { tenantTablePrefix } from './state/table';
import { type TenantDirectory, tenantDirectory } from './tenants/lookup';
import { type DeploymentPolicy, policyForTenant } from './tenants/policy';
import type { Tenant } from './tenants/tenant';

export type RuntimeMode = 'inline' | 'service-bus';

export interface Runtime {
  readonly mode: RuntimeMode;
  readonly config: AppConfig;
  readonly policy: IsolationPolicy;
  /** The throttled MDE client (tests drive the simulator through it; the CLI reads with it). */
  readonly api: MdeApi;
  /** Who this app is to MDE (the `requestor` of what it posts): what ownership asks. */
  readonly identity: AppIdentity;
  readonly throttle: MdeThrottle;
  /** The register, breaker and ledgers (docs/architecture.md §6); `storage`: where the settings put them. */
  readonly store: StateStore;
  readonly storage: StateStorage['kind'];
  /** Inline mode's queue, for tests that inspect it (pending messages, dead-letter records); null with Service Bus. */
  readonly inline: InProcessQueue | null;
  /** The tenants this deployment serves (MDE_TENANTS), or its one tenant. */
  readonly tenants: TenantDirectory;
  /** What a listed tenant's work runs on (its client, budget, store, policy); throws for any other. */
  tenant(tenantId: string): TenantView;
  /** Parses, decides (stage 1) and queues the isolation requests of one request body. */
  receiveAlerts(body: unknown, log?: (line: IntakeLogLine) => void): Promise<IntakeResult>;
  /** Queues the isolation requests of an alert already decided (what `receiveAlerts` ends with). */
  submit: DecisionSink['submit'];
  /** A person's isolate or release (CLI, manual call): the same queue and worker as automatic ones. */
  submitManual(order: ManualOrder): Promise<IsolationRequest>;
  /** The outcome records this process reports from now on (the manual API's wait ends on its own). */
  watchOutcomes(): OutcomeWatch;
  /**
   * Tells the SOC's channels an event no outcome record carries (an approval pending, a break-glass
   * isolation): shared/notify/. Never throws, never waits.
   */
  notify(event: NotifyEvent): void;
  /** A dead-letter record's request sent again by an operator, decided as it was. */
  resubmit(request: IsolationRequest): Promise<{ duplicate: boolean }>;
  /**
   * Writes a record to the dead-letter record queue (and the log): a message this app will never
   * retry, with its reason, for an operator.
   */
  deadLetter(record: DeadLetterRecord): Promise<void>;
  /**
   * Queues one reconciliation for the worker (shared/reconcile/): the timer's and the CLI's way to
   * ask, never a reconciliation in the caller's process. Answers the order's id.
   */
  requestReconciliation(requestedBy: string): Promise<string>;
  /**
   * A person's approve or deny of a held isolation (shared/approvals/vote.ts): approved, the request
   * goes on to the worker, which decides it again; denied, its outcome says so.
   */
  voteOnApproval(order: VoteOrder): Promise<VoteResult>;
  /** One delivery of a queue message (the Service Bus function; the in-memory queue calls it itself). */
  handle(body: unknown, delivery: Delivery): Promise<void>;
  /**
   * Inline mode: true once every request queued in this process ended, false when `maxWaitMs` passed
   * first. With Service Bus the deployed worker handles the requests: there is nothing to wait for here.
   */
  waitForIdle(maxWaitMs: number): Promise<boolean>;
  /**
   * Whether the state store answers (health). The answer is kept for STORE_CHECK_MS, so anonymous
   * probes cost the store at most one read per interval.
   */
  storeAnswers(): Promise<boolean>;
  /**
   * Each listed tenant's breaker and whether its store answers (health details), in the list's order;
   * none without a list. Kept STORE_CHECK_MS, as `storeAnswers` is.
   */
  tenantHealth(): Promise<readonly TenantHealth[]>;
  close(): Promise<void>;
}

/** A listed tenant's state as health details show it: never its tokens, ids of identities or policy. */
export interface TenantHealth {
  tenantId: string;
  /** `unknown` when its store did not answer. */
  breaker: 'open' | 'closed' | 'unknown';
  store: 'ok' | 'down';
}

/** One listed tenant's side of the runtime, as `Runtime` shows the deployment's. */
export interface TenantView {
  readonly api: MdeApi;
  readonly identity: AppIdentity;
  readonly throttle: MdeThrottle;
  readonly store: StateStore;
  readonly policy: IsolationPolicy;
}

export const STORE_CHECK_MS = 10_000;

export interface RuntimeOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * `inline` whatever the settings say: a CLI run is a whole pipeline in its process, and its
   * requests must not land in a queue that a deployed worker drains. Default: `service-bus` when a
   * namespace is configured.
   */
  mode?: RuntimeMode;
  /** Replaces the policy from settings (CLI `--policy`, `--dry-run`). */
  policy?: IsolationPolicy;
  reporter?: DispatchReporter;
  /** Where dispatch's metrics go (tests: a provider with an in-memory reader); default: the global meter. */
  meter?: Meter;
  timing?: DispatchTiming;
  /** Inline mode: messages handled at once (the throttle still counts every call); MESSAGES_AT_ONCE by default. */
  concurrency?: number;
  /** MDE calls in flight at once, per API. */
  maxConcurrentCalls?: number;
  /**
   * Inline mode: false queues requests without handling them, like Service Bus with no worker
   * running (tests of the HTTP intake, which ends at the queue).
   */
  startWorker?: boolean;
  /** Wraps the MDE client (the CLI watches for a refused token; tests reproduce API behaviour). */
  decorateApi?: (api: MdeApi) => MdeApi;
  /**
   * Where the Sentinel incident calls (comments, status reads) go instead of the cloud's ARM (tests:
   * the simulator's ARM stand-in, or a loopback fake).
   */
  armUrl?: string;
  /** Replaces the store the storage settings name (tests share one between two runtimes). */
  store?: StateStore;
  /** Replaces a listed tenant's store (tests share them between two runtimes), as `store` does the deployment's. */
  tenantStore?: (tenantId: string) => StateStore;
  /**
   * Inline with a tenant list: the tenants whose lanes start with the runtime, resuming their tracking
   * and sending again what a stopped run left (a CLI verb about one tenant names it); default: all.
   */
  tenantsAtStart?: readonly string[];
  /** Where listed tenants' tokens are asked instead of their cloud's Entra host (tests: a loopback authority). */
  authorityHost?: string;
  /** The time of the throttle, the queue, the worker and the claims (tests move it by hand). */
  clock?: Clock;
  /** How long this process's claims outlive it (docs/decisions/0013-claims-with-leases.md). */
  claimLeaseMs?: number;
  /** Service Bus mode: where the queue is instead of the settings' namespace (tests: the AMQP peer). */
  serviceBus?: ServiceBusEndpoint;
  /** The time notifications wait by: the digest interval, a retry's backoff (tests move it by hand). */
  notifyTimers?: Timers;
  /** Where "approval pending" and "break-glass" go; default: the notification channels. */
  approvalEvents?: ApprovalEvents;
}

/**
 * The settings, the credential, a throttled MDE client and the state store: what every runtime,
 * even a read-only one, needs.
 */
interface MdeAccess {
  config: AppConfig;
  /** The process's holder lease: its claims and its slots of the quota budget live by it. */
  claims: ClaimKeeper;
  credential: TokenCredential;
  identity: AppIdentity;
  throttle: MdeThrottle;
  api: MdeApi;
  store: StateStore;
  storage: StateStorage['kind'];
}

function openMdeAccess(
  options: RuntimeOptions,
  /** Whether the process holds its own queue (its holder id says so, claim-keeper.ts). */
  queueKind: (config: AppConfig) => RuntimeMode,
  /** The listed tenant it acts in (docs/decisions/0031-a-worker-per-tenant.md); null: the deployment's own. */
  scope: TenantScope | null = null,
): MdeAccess {
  const env = options.env ?? process.env;
  const tenant = scope?.tenant ?? null;
  const deployment = loadConfig(env);
  const config = tenant ? tenantConfig(deployment, tenant) : deployment;
  const storage = readStateStorage(env);
  const credential = scope ? scope.tokens(scope.tenant) : createCredential(config);
  const store =
    scope?.store ??
    options.store ??
    openStateStore(storage, credential, { historyRetentionMs: config.registerHistoryDays * DAY_MS });
  const reporter = options.reporter ?? jsonLinesReporter;
  const clock = options.clock ?? systemClock;
  const claims = new ClaimKeeper(
    store,
    clock,
    reporter,
    queueKind(config),
    options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS,
  );
  const throttle = new MdeThrottle({
    rateLimits: config.rateLimits,
    headroom: config.rateHeadroom,
    maxConcurrent: options.maxConcurrentCalls,
    clock,
    share: { ledger: store.quota, leases: store.holders, holder: claims, reporter },
  });
  const client = createMdeClient(config, { credential, schedule: throttle.scheduler() });
  const api = options.decorateApi ? options.decorateApi(client) : client;
  const identity = new AppIdentity(credential, config.tokenScope);
  return { config, claims, credential, identity, throttle, api, store, storage: storage.kind };
}

/** A listed tenant's credential. */
type TenantTokens = (tenant: Tenant) => AppCredential;

/** A listed tenant's work: its tokens for MDE, and its tables (opened with the deployment's credential). */
interface TenantScope {
  tenant: Tenant;
  tokens: TenantTokens;
  store: StateStore;
}

/**
 * A listed tenant's tables: the provider's, in its own storage account, opened with the deployment's
 * credential, never the customer's token.
 */
function openTenantStore(
  options: RuntimeOptions,
  deployment: AppConfig,
  tenant: Tenant,
  credential: TokenCredential,
): StateStore {
  return (
    options.tenantStore?.(tenant.tenantId) ??
    openStateStore(readStateStorage(options.env ?? process.env), credential, {
      historyRetentionMs: deployment.registerHistoryDays * DAY_MS,
      tablePrefix: tenantTablePrefix(tenant.tenantId),
    })
  );
}

/** The settings as one tenant's work reads them: its API, its cloud's token audience, its quota. */
function tenantConfig(deployment: AppConfig, tenant: Tenant): AppConfig {
  return {
    ...deployment,
    cloud: tenant.cloud,
    apiBaseUrl: tenant.apiBaseUrl,
    tokenScope: tenant.tokenScope,
    authorityHost: tenant.authorityHost,
    rateLimits: tenant.rateLimits ?? deployment.rateLimits,
  };
}

/**
 * The tokens of listed tenants through the federated identity (mde/tenant-credential.ts): one set per
 * runtime, each tenant's credential with its own token cache.
 */
function openTenantCredentials(deployment: AppConfig, options: RuntimeOptions): TenantTokens {
  const appClientId = deployment.tenantAppClientId;
  const managedIdentityClientId = deployment.managedIdentityClientId;
  // loadConfig refuses a tenant list without either; this keeps the types honest.
  if (!appClientId || !managedIdentityClientId)
    throw new Error('a tenant list needs MDE_TENANT_APP_CLIENT_ID and AZURE_CLIENT_ID');
  const credentials = new TenantCredentials({ appClientId, managedIdentityClientId });
  return (tenant) =>
    credentials.forTenant(
      options.authorityHost ? { ...tenant, authorityHost: options.authorityHost } : tenant,
    );
}

/**
 * The Service Bus adapter, required only in service-bus mode: its SDK is the heaviest module of the
 * app (docs/architecture.md §8) and inline runs never need it.
 */
function serviceBusQueue(
  config: AppConfig,
  credential: TokenCredential,
  endpoint: ServiceBusEndpoint = { namespace: config.serviceBusNamespace as string, credential },
): RequestQueue {
  const { ServiceBusRequestQueue } =
    require('./dispatch/transport/service-bus-queue') as typeof import('./dispatch/transport/service-bus-queue');
  return new ServiceBusRequestQueue(endpoint, config.queueName, { sessions: config.queueSessions });
}

/**
 * Counts what the other processes, running or ended, spent of the shared quota budget before this one
 * makes its first call. With the store unreadable the first call waits on it anyway: a call is sent
 * only in a slot held in the store.
 */
async function readQuotaShares(throttle: MdeThrottle, reporter: DispatchReporter): Promise<void> {
  try {
    await throttle.refreshShares();
  } catch (error) {
    reporter.note('warn', {
      event: 'quota-budget-unreadable',
      why: `${errorMessage(error)}; each MDE call waits until the store grants it a slot`,
    });
  }
}

/**
 * Inline mode: queues again the tracking of every action the ledger shows open (a previous run
 * stopped before they ended). With the store unreadable they stay in the ledger for the next start.
 */
/** Overdue approvals expired with each reconciliation; a store outage leaves them to the next one. */
async function expireOverdue(approvals: ApprovalDeps): Promise<void> {
  try {
    const expired = await expireOverdueApprovals(approvals);
    if (expired > 0)
      approvals.reporter.note('warn', {
        event: 'approvals-expired-late',
        why: `${expired} pending approvals were past their deadline: their deadline messages were lost`,
      });
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    approvals.reporter.note('warn', { event: 'approvals-not-expired', why: error.message });
  }
}

async function resumeTracking(dispatcher: Dispatcher, reporter: DispatchReporter): Promise<void> {
  try {
    const resumed = await dispatcher.resumeOpenActions();
    if (resumed > 0)
      reporter.note('info', {
        event: 'isolation-tracking-resumed',
        why: `${resumed} open action(s) from the ledger`,
      });
  } catch (error) {
    reporter.note('warn', {
      event: 'isolation-tracking-not-resumed',
      why: `${errorMessage(error)}; the ledger keeps them for the next start`,
    });
  }
}

/**
 * Inline mode: sends again the requests an inline process left in the store when it died
 * (steps/claim-sweep.ts). With the store unreadable, their entries lapse with that process's lease.
 */
async function sweepLeftClaims(dispatcher: Dispatcher, reporter: DispatchReporter): Promise<void> {
  try {
    await dispatcher.sweepLeftClaims();
  } catch (error) {
    reporter.note('warn', {
      event: 'open-requests-not-swept',
      why: `${errorMessage(error)}; entries left by a stopped process hold nothing once its lease lapsed`,
    });
  }
}

/** The settings or the policy cannot be used: the caller answers "misconfigured", never a 500. */
export function isMisconfiguration(error: unknown): error is ConfigError | PolicyError {
  return error instanceof ConfigError || error instanceof PolicyError;
}

/**
 * What one tenant's work runs on (docs/decisions/0031-a-worker-per-tenant.md): its MDE client and
 * quota budget, its store (register, ledgers, claims, breaker), its policy, its worker and reconciler.
 * A single-tenant deployment has one, the deployment's; a multi-tenant one has one per listed tenant,
 * made on first use, beside the deployment's.
 */
interface Lane {
  readonly access: MdeAccess;
  readonly policy: IsolationPolicy;
  readonly dispatcher: Dispatcher;
  /** Intake's sink for this tenant's decided alerts. */
  readonly sink: DecisionSink;
  /** The queue as this tenant's work sends to it (every message names the tenant). */
  readonly queue: RequestQueue;
  /** Start-up reads done: the worker may handle messages. */
  readonly ready: Promise<void>;
  /** Start-up work done (inline: tracking resumed, left claims swept). */
  readonly started: Promise<void>;
  /** After its start-up, stops bringing deferred requests forward (before the queue closes). */
  stopWork(): Promise<void>;
  /** Gives its quota slots back and ends its lease (after the queue closed). */
  close(): Promise<void>;
}

/** What every lane of a runtime shares: one queue, one reporter, one notifier, one set of approvals. */
interface LaneContext {
  options: RuntimeOptions;
  queue: RequestQueue;
  inline: InProcessQueue | null;
  reporter: DispatchReporter;
  clock: Clock;
  timing: DispatchTiming;
  approvals: ApprovalDeps;
  notifier: Notifier;
  incidents: IncidentReader;
  /** The cap across tenants in the deployment's store, which every lane reserves in; undefined: none. */
  deploymentCap: DeploymentCap | undefined;
}

function openLane(
  context: LaneContext,
  access: MdeAccess,
  policy: IsolationPolicy,
  tenantId: string | undefined,
): Lane {
  const { options, inline, reporter, clock, timing, approvals, notifier } = context;
  const { config, claims, identity, throttle, api, store } = access;
  const queue = tenantId === undefined ? context.queue : tenantQueue(context.queue, tenantId);
  const reconciler = new Reconciler({
    api,
    store,
    throttle,
    queue,
    reporter: tenantId === undefined ? reporter : notingTenant(reporter, tenantId),
    clock,
    identity,
    platformLiftMs: config.platformLiftMs,
    releaseDueIsolations: (now) => releaseDueTimeBoxes(store, queue, now),
    expiringSoon: (record, now) => notifier.notify(eventOfExpiry(record, now), tenantId),
  });
  const dispatcher = new Dispatcher({
    api,
    policy,
    queue,
    throttle,
    store,
    reporter,
    identity,
    timing,
    claims,
    platformLiftMs: config.platformLiftMs,
    incidents: context.incidents,
    reconcile: async (order) => {
      await reconciler.run(order);
      await expireOverdue(approvals);
    },
    approvals: new StoreApprovalGate(approvals),
    approvalDeadline: (deadline) => expireApproval(approvals, deadline),
    tenantId,
    deploymentCap: context.deploymentCap,
  });
  const stopNoting = throttle.subscribe(noteLearnedCeilings(reporter));
  const restored = readQuotaShares(throttle, reporter);
  // Only the quota budget holds MDE calls back; resuming reads the store alone.
  throttle.holdUntil(restored);
  const working = inline !== null && options.startWorker !== false;
  // Inline, nobody else holds the tracking of what a previous run posted: the ledger does.
  const ready = restored.then(() => (working ? resumeTracking(dispatcher, reporter) : undefined));
  // Inline, nobody else sends again the requests a stopped inline run left: their entries keep them.
  // Not in the way of this run's first POST, but part of its work before it is idle.
  const started = Promise.all([ready, claims.start()]).then(() =>
    working ? sweepLeftClaims(dispatcher, reporter) : undefined,
  );
  return {
    access,
    policy,
    dispatcher,
    sink: notifyingSink(dispatcher, (event) => notifier.notify(event, tenantId), clock),
    queue,
    ready,
    started,
    async stopWork() {
      // Start-up reads the store (bounded by its deadline): nothing of it may outlive the runtime.
      await started;
      dispatcher.close();
    },
    async close() {
      // The throttle gives its slots back under the lease, then the lease ends.
      await throttle.stop();
      await claims.stop();
      stopNoting();
    },
  };
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const modeOf = (config: AppConfig): RuntimeMode =>
    options.mode ?? (config.serviceBusNamespace ? 'service-bus' : 'inline');
  const access = openMdeAccess(options, modeOf);
  const { config, credential, store } = access;
  // Read before anything starts: a bad channel fails the runtime like any bad setting, leaving nothing running.
  const notifySettings = readNotifySettings(options.env ?? process.env, config.cloud);
  const policy = options.policy ?? loadPolicy(config.policySource, config.modeOverride, config.manualMode);
  const mode = modeOf(config);
  if (mode === 'service-bus' && !config.serviceBusNamespace)
    throw new Error('service-bus mode needs a Service Bus namespace in the settings');
  const clock = options.clock ?? systemClock;
  const inline = mode === 'inline' ? new InProcessQueue({ clock }) : null;
  const queue: RequestQueue = inline ?? serviceBusQueue(config, credential, options.serviceBus);
  const meter = options.meter ?? metrics.getMeter('mde-isolator');
  const baseReporter = withMetrics(options.reporter ?? jsonLinesReporter, meter);
  const comments = config.sentinelIncidentComments
    ? withIncidentComments(baseReporter, {
        credential,
        armBaseUrl: config.armBaseUrl,
        endpointUrl: options.armUrl,
        timeoutMs: config.requestTimeoutMs,
      })
    : null;
  const tenants = tenantDirectory(config.tenants);
  const notifier = openNotifier(notifySettings, options, baseReporter, tenants);
  const outcomes = new OutcomeFeed();
  // Outcomes are written (and commented) before they are told: a notification never comes first.
  const reporter = outcomes.reporting(notifier.reporting(comments ?? baseReporter));
  const waits = new IdleWaits();
  const storeAnswers = cachedFor(STORE_CHECK_MS, () =>
    store.ping().then(
      () => true,
      () => false,
    ),
  );
  const tenantTokens = tenants.mode === 'multi' ? openTenantCredentials(config, options) : null;
  // One approval page for every tenant: the approvals live in the deployment's store, each held
  // request's history in its own tenant's register.
  const approvals: ApprovalDeps = {
    store,
    queue,
    reporter,
    clock,
    events: options.approvalEvents ?? approvalNotices(notifier, notifySettings.appUrl, config.manualEasyAuth),
    tenantRegister: (tenantId) => {
      const lane = laneOf(tenantId);
      return lane === deployment ? null : lane.access.store.register;
    },
  };
  const context: LaneContext = {
    options,
    queue,
    inline,
    reporter,
    clock,
    timing: options.timing ?? DEFAULT_TIMING,
    approvals,
    notifier,
    incidents: createIncidentReader({
      credential,
      armBaseUrl: config.armBaseUrl,
      endpointUrl: options.armUrl,
      timeoutMs: config.requestTimeoutMs,
    }),
    // In the deployment's store, where the approvals are: every process and every lane counts in one.
    deploymentCap: config.deploymentCap
      ? { breaker: store.deploymentCap, limits: config.deploymentCap }
      : undefined,
  };
  const deployment = openLane(context, access, policy, undefined);
  const lanes = new Map<string, Lane>();
  /**
   * The base of every tenant's policy: the one this runtime decides with (the settings', or the
   * caller's, as the CLI's --policy and --enforce make it), so a tenant's override, its dry-run hold
   * included, applies whatever the caller chose for the deployment.
   */
  const tenantPolicyBase: DeploymentPolicy = {
    document: policy.document,
    modeOverride: policy.mode,
    manualMode: policy.manualMode,
  };
  let closing = false;
  // One store and one policy per listed tenant, its lane's and what health reads, made on first use.
  const tenantStores = new Map<string, StateStore>();
  const tenantPolicies = new Map<string, IsolationPolicy>();
  const storeOf = (tenant: Tenant) =>
    mapOnce(tenantStores, tenant.tenantId, () => openTenantStore(options, config, tenant, credential));
  const policyOf = (tenant: Tenant) =>
    mapOnce(tenantPolicies, tenant.tenantId, () => policyForTenant(tenantPolicyBase, tenant));
  /**
   * Each listed tenant's breaker, read from its store without making its lane (a lane keeps a lease
   * alive): the read is also whether the store answers. Kept STORE_CHECK_MS, as the deployment's
   * answer is: a probe costs at most one read per tenant (MAX_TENANTS) per interval.
   */
  const tenantHealth = cachedFor(STORE_CHECK_MS, () =>
    Promise.all(
      [...(tenants.mode === 'multi' ? tenants.byId.values() : [])].map(async (tenant) => {
        try {
          const { open } = await storeOf(tenant).breaker.status(breakerLimits(policyOf(tenant)));
          return { tenantId: tenant.tenantId, breaker: open ? 'open' : 'closed', store: 'ok' } as const;
        } catch {
          return { tenantId: tenant.tenantId, breaker: 'unknown', store: 'down' } as const;
        }
      }),
    ),
  );
  /** The lane of a listed tenant, made on its first message; the deployment's for any other. */
  function laneOf(tenantId: string | undefined): Lane {
    const tenant =
      tenantId !== undefined && tenants.mode === 'multi' ? tenants.byId.get(tenantId) : undefined;
    if (!tenant || !tenantTokens) return deployment;
    let lane = lanes.get(tenant.tenantId);
    if (!lane) {
      // A lane made now would outlive the runtime: the message goes back to the queue instead.
      if (closing)
        throw new Error(`the runtime is closing; tenant ${tenant.tenantId}'s work waits for the next`);
      lane = openLane(
        context,
        openMdeAccess(options, modeOf, { tenant, tokens: tenantTokens, store: storeOf(tenant) }),
        policyOf(tenant),
        tenant.tenantId,
      );
      lanes.set(tenant.tenantId, lane);
    }
    return lane;
  }
  const gaugesOf = (lane: Lane) => ({
    quota: () => lane.access.throttle.usage(),
    breaker: () => lane.access.store.breaker.status(breakerLimits(lane.policy)),
  });
  const stopGauges = observeGauges(meter, {
    ...gaugesOf(deployment),
    tenantLanes: () => [...lanes].map(([tenantId, lane]) => ({ tenantId, ...gaugesOf(lane) })),
    // A page of the store at most: past LIST_MAX pending approvals the gauge stays at LIST_MAX.
    approvalsPending: async () => (await store.approvals.list({ state: 'pending', limit: LIST_MAX })).length,
  });
  const handle = async (body: unknown, delivery: Delivery) => {
    const lane = laneOf(tenantNamedBy(body));
    await lane.ready;
    return lane.dispatcher.handle(body, delivery);
  };
  if (options.startWorker !== false) {
    inline?.start((message, delivery) => handle(message.body, delivery), {
      concurrency: options.concurrency ?? MESSAGES_AT_ONCE,
    });
    // Inline, each tenant's tracking and left claims are resumed at start, as the deployment's are
    // (a CLI verb about one tenant: that tenant's alone).
    if (inline && tenants.mode === 'multi')
      for (const id of options.tenantsAtStart ?? tenants.byId.keys()) laneOf(id);
  }
  const allLanes = () => [deployment, ...lanes.values()];
  return {
    mode,
    config,
    policy,
    api: access.api,
    identity: access.identity,
    throttle: access.throttle,
    store,
    storage: access.storage,
    inline,
    tenants,
    tenant(tenantId) {
      const lane = laneOf(tenantId);
      if (lane === deployment) throw new Error(`tenant ${tenantId} is not in this deployment's tenant list`);
      const { api, identity, throttle, store: tenantStore } = lane.access;
      return { api, identity, throttle, store: tenantStore, policy: lane.policy };
    },
    receiveAlerts: (body, log = () => undefined) =>
      receiveAlerts(body, {
        policy,
        sink: deployment.sink,
        tenantLane: (tenantId) => laneOf(tenantId),
        log,
        tenants,
      }),
    submit: (alert, decisions) => laneOf(alert.tenantId).dispatcher.submit(alert, decisions),
    submitManual: (order) => laneOf(order.tenantId).dispatcher.submitManual(order),
    watchOutcomes: () => outcomes.watch(),
    notify: (event) => notifier.notify(event),
    resubmit: (request) => laneOf(request.tenantId).dispatcher.resubmit(request),
    async deadLetter(record) {
      await queue.deadLetter(record);
      reporter.note('error', { ...record });
    },
    async requestReconciliation(requestedBy) {
      const order = reconcileOrder(requestedBy, clock.now());
      // With a tenant list, the one order reconciles every listed tenant: a copy in each tenant's
      // lane (and session), each under its own message id. The deployment's own lane is reconciled
      // too while its register holds anything (isolations from before the list, replays): its time
      // boxes and drift need it; an empty one is not worth the home tenant's machineactions read.
      if (tenants.mode === 'single' || (await holdsIsolations(store)))
        await queue.send(reconcileMessage(order));
      if (tenants.mode === 'multi')
        for (const id of tenants.byId.keys())
          await tenantQueue(queue, id).send(
            reconcileMessage({ ...order, requestId: `${order.requestId}:${id}` }),
          );
      return order.requestId;
    },
    voteOnApproval: (order) => voteOnApproval(approvals, order),
    handle,
    async waitForIdle(maxWaitMs) {
      if (!inline) return true;
      // Tracking resumed from the ledger is queued during start-up: idle before that means nothing.
      return waits.until(
        Promise.all(allLanes().map((lane) => lane.started)).then(() => inline.idle()),
        maxWaitMs,
      );
    },
    storeAnswers,
    tenantHealth,
    async close() {
      // A caller that stopped waiting for another reason (the CLI on a refused token) leaves no timer.
      waits.stopAll();
      closing = true;
      await Promise.all(allLanes().map((lane) => lane.stopWork()));
      await queue.close();
      await Promise.all(allLanes().map((lane) => lane.close()));
      stopGauges();
      // Comments already started are bounded by the request timeout; let them land.
      await comments?.idle();
      // What waits for its digest interval goes now, each message with one attempt left at most.
      await notifier.close();
    },
  };
}

/** The value `map` holds for `key`, made by `make` the first time. */
function mapOnce<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** Whether the register holds any device; unreadable, it is taken to hold some (reconciling costs little). */
async function holdsIsolations(store: StateStore): Promise<boolean> {
  try {
    return (await store.register.list({ limit: 1 })).length > 0;
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    return true;
  }
}

/** The notifier of the channels in the settings (none configured: one that tells nobody). */
function openNotifier(
  settings: NotifySettings,
  options: Pick<RuntimeOptions, 'meter' | 'notifyTimers'>,
  reporter: DispatchReporter,
  tenants: TenantDirectory,
): Notifier {
  return new Notifier({
    settings,
    tenants,
    log: (level, record) => reporter.note(level, record),
    meter: options.meter ?? metrics.getMeter('mde-isolator'),
    timers: options.notifyTimers,
  });
}

/** The approvals' events told on the channels; the approval page links start at `appUrl`. */
function approvalNotices(notifier: Notifier, appUrl: string, signIn: boolean): ApprovalEvents {
  return {
    approvalPending: async (approval) =>
      notifier.notify(eventOfApproval(approval, appUrl, signIn), heldTenant(approval) ?? undefined),
    breakGlass: async (event) => notifier.notify(eventOfBreakGlass(event), event.tenantId),
  };
}

/** Waits bounded in time that `stopAll` ends at once (answering false), so no timer outlives a runtime. */
class IdleWaits {
  private readonly stops = new Set<() => void>();

  async until(idle: Promise<void>, maxWaitMs: number): Promise<boolean> {
    let stop: () => void = () => undefined;
    const timedOut = new Promise<false>((done) => {
      const timer = setTimeout(() => done(false), maxWaitMs);
      stop = () => {
        clearTimeout(timer);
        done(false);
      };
    });
    this.stops.add(stop);
    try {
      return await Promise.race([idle.then(() => true), timedOut]);
    } finally {
      stop();
      this.stops.delete(stop);
    }
  }

  stopAll(): void {
    for (const stop of this.stops) stop();
  }
}

/** What `status` and other reads need: settings, a throttled MDE client and the store; no policy and no queue. */
export interface ReadOnlyRuntime {
  readonly config: AppConfig;
  readonly api: MdeApi;
  readonly identity: AppIdentity;
  readonly store: StateStore;
  readonly storage: StateStorage['kind'];
  /** Tells the SOC's channels what an operator did (a breaker reset); `close` lets it land. */
  notify(event: NotifyEvent): void;
  close(): Promise<void>;
}

export function openReadOnly(
  options: Pick<
    RuntimeOptions,
    | 'env'
    | 'decorateApi'
    | 'store'
    | 'tenantStore'
    | 'authorityHost'
    | 'clock'
    | 'reporter'
    | 'claimLeaseMs'
    | 'meter'
    | 'notifyTimers'
  > & {
    /** The listed tenant (MDE_TENANTS) whose API and store it reads; none: the deployment's. */
    tenantId?: string;
  } = {},
): ReadOnlyRuntime {
  const scope = options.tenantId === undefined ? null : readScope(options, options.tenantId);
  // It queues nothing: its lease, renewed on use only, holds just its slots of the quota budget.
  const { config, claims, identity, throttle, api, store, storage } = openMdeAccess(
    options,
    () => 'inline',
    scope,
  );
  const notifier = openNotifier(
    readNotifySettings(options.env ?? process.env, config.cloud),
    options,
    options.reporter ?? jsonLinesReporter,
    tenantDirectory(config.tenants),
  );
  const ready = readQuotaShares(throttle, options.reporter ?? jsonLinesReporter);
  throttle.holdUntil(ready);
  return {
    config,
    api,
    identity,
    store,
    storage,
    // What an operator does in a tenant (a breaker reset) is told in its name.
    notify: (event) => notifier.notify(event, scope?.tenant.tenantId),
    async close() {
      await ready;
      await throttle.stop();
      await claims.stop();
      await notifier.close();
    },
  };
}

/** The listed tenant `tenantId` names, with its tokens; a ConfigError when the list does not name it. */
function readScope(options: RuntimeOptions, tenantId: string): TenantScope {
  const config = loadConfig(options.env ?? process.env);
  const tenant = config.tenants?.find((t) => t.tenantId === tenantId.toLowerCase());
  if (!tenant)
    throw new ConfigError([
      {
        setting: 'MDE_TENANTS',
        message: config.tenants
          ? `does not list tenant ${tenantId}: add it, or name a listed one`
          : `is not set, so this deployment serves one tenant: leave the tenant out`,
      },
    ]);
  return {
    tenant,
    tokens: openTenantCredentials(config, options),
    store: openTenantStore(options, config, tenant, createCredential(config)),
  };
}

let shared: Runtime | null = null;

/** The process's runtime, created on first use from the environment. */
export function getRuntime(): Runtime {
  shared ??= createRuntime();
  return shared;
}

/** Makes `runtime` the process's runtime (tests with their options). */
export function installRuntime(runtime: Runtime): Runtime {
  shared = runtime;
  return runtime;
}

export async function closeRuntime(): Promise<void> {
  const runtime = shared;
  shared = null;
  await runtime?.close();
}
