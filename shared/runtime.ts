/**
 * The process-wide singletons: settings, one credential, one MDE client, one set of limiters, the
 * policy, the queue and the dispatcher. Everything that counts MDE calls must be one per process, so
 * the worker (a single instance in Azure) sees every call it makes against the quota.
 *
 * With a Service Bus namespace configured, requests go to Service Bus and the Functions host delivers
 * them to functions/worker.ts. Without one (CLI, demo, local runs), the in-memory Service Bus stand-in
 * delivers them to the same dispatcher inside this process.
 */
import type { TokenCredential } from '@azure/identity';
import { type AppConfig, loadConfig } from './config';
import { Dispatcher } from './dispatch/dispatcher';
import { InProcessQueue } from './dispatch/in-process-queue';
import { type DispatchReporter, jsonLinesReporter } from './dispatch/outcome';
import type { RequestQueue } from './dispatch/queue';
import { MdeThrottle } from './dispatch/quota/throttle';
import { ServiceBusRequestQueue } from './dispatch/service-bus-queue';
import { DEFAULT_TIMING, type DispatchTiming } from './dispatch/timing';
import type { MdeApi } from './mde/api';
import { createMdeClient } from './mde/client';
import { createCredential } from './mde/credential';
import { loadPolicy } from './policy/load';
import type { IsolationPolicy } from './policy/types';
import { withIncidentComments } from './report/sentinel-comments';
import { openStateStore, readStateStorage } from './state/settings';
import type { StateStore } from './state/store';

export interface Runtime {
  config: AppConfig;
  credential: TokenCredential;
  api: MdeApi;
  policy: IsolationPolicy;
  throttle: MdeThrottle;
  queue: RequestQueue;
  /** The in-memory queue when running inline; null with Service Bus. */
  inline: InProcessQueue | null;
  /** The shared breaker, register and ledgers (state/settings.ts says where they live). */
  store: StateStore;
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the policy from settings (CLI `--policy`, `--dry-run`). */
  policy?: IsolationPolicy;
  reporter?: DispatchReporter;
  timing?: DispatchTiming;
  /** Inline mode: messages handled at once (the throttle still counts every call). */
  concurrency?: number;
  /** MDE calls in flight at once, per API. */
  maxConcurrentCalls?: number;
  /**
   * Inline mode: false queues requests without handling them, like Service Bus with no worker
   * running (tests of the HTTP intake, which ends at the queue).
   */
  startWorker?: boolean;
  /** Wraps the MDE client (tests reproduce API behaviour the simulator cannot, e.g. a lagging list). */
  decorateApi?: (api: MdeApi) => MdeApi;
  /** Where incident comments go instead of the cloud's ARM (tests: a loopback stand-in). */
  incidentCommentsUrl?: string;
  /** Replaces the store the storage settings name (tests: a store shared by two runtimes). */
  store?: StateStore;
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const config = loadConfig(options.env ?? process.env);
  const timing = options.timing ?? DEFAULT_TIMING;
  const policy = options.policy ?? loadPolicy(config.policySource, config.modeOverride);
  const credential = createCredential(config);
  const throttle = new MdeThrottle({
    rateLimits: config.rateLimits,
    headroom: config.rateHeadroom,
    maxConcurrent: options.maxConcurrentCalls,
  });
  const client = createMdeClient(config, { credential, schedule: throttle.scheduler() });
  const api = options.decorateApi ? options.decorateApi(client) : client;
  const inline = config.serviceBusNamespace ? null : new InProcessQueue();
  const queue: RequestQueue =
    inline ?? new ServiceBusRequestQueue(config.serviceBusNamespace as string, config.queueName, credential);
  const baseReporter = options.reporter ?? jsonLinesReporter;
  const comments = config.sentinelIncidentComments
    ? withIncidentComments(baseReporter, {
        credential,
        armBaseUrl: config.armBaseUrl,
        endpointUrl: options.incidentCommentsUrl,
        timeoutMs: config.requestTimeoutMs,
      })
    : null;
  const env = options.env ?? process.env;
  const store = options.store ?? openStateStore(readStateStorage(env), credential);
  const dispatcher = new Dispatcher({
    api,
    policy,
    queue,
    throttle,
    store,
    reporter: comments ?? baseReporter,
    timing,
  });
  if (options.startWorker !== false)
    inline?.start((message, delivery) => dispatcher.handle(message.body, delivery), {
      concurrency: options.concurrency ?? 4,
    });
  return {
    config,
    credential,
    api,
    policy,
    throttle,
    queue,
    inline,
    store,
    dispatcher,
    async close() {
      await queue.close();
      await throttle.stop();
      // Comments already started are bounded by the request timeout; let them land.
      await comments?.idle();
    },
  };
}

let shared: Runtime | null = null;

/** The process's runtime, created on first use from the environment. */
export function getRuntime(): Runtime {
  shared ??= createRuntime();
  return shared;
}

/** Makes `runtime` the process's runtime (the CLI with its options, tests with theirs). */
export function installRuntime(runtime: Runtime): Runtime {
  shared = runtime;
  return runtime;
}

export async function closeRuntime(): Promise<void> {
  const runtime = shared;
  shared = null;
  await runtime?.close();
}
