/**
 * Dispatch assembled: the intake side (decisions in, isolation requests onto the queue) and the
 * worker side (one queue message in, one step of work out), both over one state store (the shared
 * breaker, the register and the action ledger). The Service Bus function and the in-process queue
 * both call `handle`, so a decision takes the same path with or without Azure.
 */

import { manualAlert } from '../alerts/manual';
import type { DeviceRef, NormalizedAlert } from '../alerts/model';
import { cachedFor } from '../kernel/cached';
import type { Clock } from '../kernel/clock';
import { KeyedLanes } from '../kernel/keyed-lanes';
import type { MdeIsolationType } from '../kernel/vocabulary';
import type { MdeApi } from '../mde/api';
import type { AppIdentity } from '../mde/app-identity';
import type { OnLift } from '../policy/document';
import type { BreakerState, Decision, IsolationPolicy } from '../policy/types';
import type { IncidentReader } from '../sentinel/incidents';
import { type StateStore, StoreUnavailableError } from '../state/store';
import { type ApprovalDeadlineHandler, asApprovalDeadline } from './approval-deadline';
import { ClaimKeeper } from './claim-keeper';
import { DeferredRequests } from './deferred-requests';
import type { DispatchReporter } from './outcome';
import type { MdeThrottle } from './quota/throttle';
import { asReconcileOrder, type ReconcileHandler } from './reconcile-order';
import {
  type ActionRequest,
  decodeRequest,
  type IsolationRequest,
  isolateRequestFrom,
  manualRequest,
  requesterFor,
} from './request';
import type { DecisionSink, SubmittedRequest } from './sink';
import { ActionStatuses } from './steps/action-statuses';
import { type ApprovalGate, NO_APPROVAL_GATE } from './steps/approval-hold';
import { breakerLimits, type DeploymentCap } from './steps/blast-radius';
import { sweepLeftClaims } from './steps/claim-sweep';
import { absorbStep, heldHereAlone, keyOf, openAfterQueueingStep } from './steps/coalesce';
import { DEFAULT_PLATFORM_LIFT_MS } from './steps/expiry';
import { NO_INCIDENT_READER } from './steps/incident-open';
import { IsolationInForce } from './steps/isolation-in-force';
import { RequestLifecycle } from './steps/lifecycle';
import { RecentActions } from './steps/recent-actions';
import { DeviceResolver } from './steps/resolve';
import { resumeOpenActions } from './steps/resume';
import { ActionTracker } from './steps/tracker';
import { IsolationWorker } from './steps/worker';
import { DEFAULT_TIMING, type DispatchTiming } from './timing';
import { type Delivery, messageFor, type RequestQueue } from './transport/queue';

export interface DispatcherDeps {
  api: MdeApi;
  policy: IsolationPolicy;
  queue: RequestQueue;
  throttle: MdeThrottle;
  store: StateStore;
  reporter: DispatchReporter;
  /**
   * Who this app is to MDE, for whose isolation a release would end (steps/provenance.ts). Absent,
   * only the action ledger proves what this app posted, which errs towards "not ours".
   */
  identity?: Pick<AppIdentity, 'clientId'>;
  timing?: DispatchTiming;
  random?: () => number;
  /**
   * This process's holder lease for the claims it takes (the runtime starts and stops it); by
   * default one renewed only when used.
   */
  claims?: ClaimKeeper;
  /** How long MDE lets an isolation last (PLATFORM_LIFT_DAYS; steps/expiry.ts); default seven days. */
  platformLiftMs?: number;
  /**
   * Carries out a reconcile order (shared/reconcile/, wired by the composition root). Without one, an
   * order is an unusable message like any other.
   */
  reconcile?: ReconcileHandler;
  /**
   * Whether a Sentinel incident is still open (shared/sentinel/incidents.ts), for a renewal and a
   * TimeOut's retry. Absent, every incident is unreadable: neither goes on for a Sentinel alert.
   */
  incidents?: IncidentReader;
  /** Holds isolations for approval (shared/approvals/, wired by the composition root); none by default. */
  approvals?: ApprovalGate;
  /** Expires an approval at its deadline; without one, a deadline message is an unusable message. */
  approvalDeadline?: ApprovalDeadlineHandler;
  /**
   * The listed tenant (MDE_TENANTS) this worker acts in, with that tenant's client, store and budget
   * (docs/decisions/0031-a-worker-per-tenant.md); absent: the deployment's own.
   */
  tenantId?: string;
  /**
   * The cap on automatic isolations across every tenant, in the deployment's store
   * (docs/decisions/0035-a-deployment-wide-isolation-cap.md); absent: none.
   */
  deploymentCap?: DeploymentCap;
}

const NO_IDENTITY: Pick<AppIdentity, 'clientId'> = { clientId: async () => null };

export interface ManualOrder {
  action: 'isolate' | 'release';
  device: DeviceRef;
  comment: string;
  isolationType: MdeIsolationType;
  requestedBy: string;
  /** Protections waived, and why (the manual API's `override`); recorded in the decision. */
  overrideReason?: string;
  /** A release of an isolation this app did not make, and why (the manual API's `force`). */
  forceReason?: string;
  /** An isolation's time box (ms): released when it ends (steps/time-box.ts). */
  isolateForMs?: number;
  /** The person asks for a new isolation at MDE's lift (steps/renewal.ts). */
  onLift?: OnLift;
  /** The listed tenant the order acts in (MDE_TENANTS); absent in a single-tenant deployment. */
  tenantId?: string;
}

/** How long intake's view of the breaker is reused. */
const BREAKER_VIEW_MS = 1_000;

export class Dispatcher implements DecisionSink {
  private readonly worker: IsolationWorker;
  private readonly tracker: ActionTracker;
  private readonly lifecycle: RequestLifecycle;
  private readonly clock: Clock;
  private breakerView: () => Promise<BreakerState>;
  private readonly claims: ClaimKeeper;
  /** Intake's requests for one device key, coalesced one after the other in this process. */
  private readonly deviceLanes = new KeyedLanes();
  private readonly deferred: DeferredRequests;
  /** Requests this worker is deciding now (not tracking polls). */
  private acting = 0;

  constructor(private readonly deps: DispatcherDeps) {
    const timing = deps.timing ?? DEFAULT_TIMING;
    const random = deps.random ?? Math.random;
    this.clock = deps.throttle.clock;
    this.breakerView = this.readBreakerView();
    this.claims = deps.claims ?? new ClaimKeeper(deps.store, this.clock, deps.reporter, 'service-bus');
    this.deferred = new DeferredRequests(deps.queue, deps.throttle, this.clock, deps.reporter);
    this.lifecycle = new RequestLifecycle(
      deps.queue,
      deps.reporter,
      deps.throttle,
      this.clock,
      timing,
      random,
      deps.store,
      this.claims,
      this.deferred,
    );
    const resolver = new DeviceResolver(deps.api, this.clock, timing.machineCacheTtlMs);
    const common = {
      ...deps,
      lifecycle: this.lifecycle,
      timing,
      clock: this.clock,
      claims: this.claims,
      platformLiftMs: deps.platformLiftMs ?? DEFAULT_PLATFORM_LIFT_MS,
      incidents: deps.incidents ?? NO_INCIDENT_READER,
      deploymentCap: deps.deploymentCap ?? null,
    };
    // Company for a history read can come only from other requests this worker handles now (one
    // handled alone, as a Service Bus session hands a tenant's messages out one at a time, never
    // waits), and only while the isolate quota could grant one of them a call before the read goes.
    const recent = new RecentActions(
      deps.api,
      this.clock,
      timing.historyGatherMs,
      () => this.acting > 1 && deps.throttle.contendedFreeingWithin('isolate', timing.historyGatherMs),
    );
    this.worker = new IsolationWorker({
      ...common,
      breakerState: () => this.workerBreakerState(),
      identity: deps.identity ?? NO_IDENTITY,
      approvals: deps.approvals ?? NO_APPROVAL_GATE,
      resolver,
      recent,
      inForce: new IsolationInForce({ ...common, recent }),
    });
    this.tracker = new ActionTracker({ ...common, random, statuses: new ActionStatuses(common) });
  }

  /**
   * The breaker as intake sees it, read at most once per BREAKER_VIEW_MS (concurrent alerts share
   * one read): a storm of 20,000 alerts otherwise makes 20,000 store reads. Intake's view only
   * escalates early; the worker's reserve before each POST is the gate, so a view a second old
   * admits nothing the breaker would refuse.
   */
  async breakerState(): Promise<BreakerState> {
    return this.breakerView();
  }

  /**
   * The worker's view, one store read a second instead of one per request: a closed view may be a
   * second old, since the reserve before each POST is the gate; an open one is read again, so a
   * request right after an operator's reset is not escalated on a stale view.
   */
  private async workerBreakerState(): Promise<BreakerState> {
    const view = await this.breakerView();
    if (!view.open) return view;
    const { open, reason } = await this.deps.store.breaker.status(breakerLimits(this.deps.policy));
    return { open, reason };
  }

  /** A fresh view: the next call reads the store. */
  private readBreakerView(): () => Promise<BreakerState> {
    return cachedFor(
      BREAKER_VIEW_MS,
      async () => {
        const { open, reason } = await this.deps.store.breaker.status(breakerLimits(this.deps.policy));
        return { open, reason };
      },
      this.clock,
    );
  }

  async openBreaker(reason: string): Promise<void> {
    await this.deps.store.breaker.trip(reason);
    this.breakerView = this.readBreakerView();
  }

  /** Stops bringing deferred requests forward: their scheduled messages stay. */
  close(): void {
    this.deferred.close();
  }

  /** Inline mode after a restart: resumes tracking what the ledger shows open (resume.ts). */
  resumeOpenActions(): Promise<number> {
    return resumeOpenActions({ ...this.deps, clock: this.clock });
  }

  /**
   * Inline mode at start-up: the requests of open-request entries an inline process left when it
   * died are sent again, or their entries closed (steps/claim-sweep.ts). Answers how many.
   */
  sweepLeftClaims(): Promise<number> {
    const { store, queue, reporter } = this.deps;
    return sweepLeftClaims({ store, queue, reporter, claims: this.claims, now: () => this.clock.now() });
  }

  /**
   * Intake's sink: one isolation request per `isolate` decision. Dry-run ones are queued too, so the
   * worker resolves the device and reports what it would do; each carries its decision's mode and
   * the worker never posts one. The alert's requests take their places in their device keys' lanes
   * together, before any is coalesced, so a later alert about one of its devices never overtakes it
   * (a Selective request opening a device's key ahead of an earlier alert's Full one).
   */
  async submit(alert: NormalizedAlert, decisions: Decision[]): Promise<SubmittedRequest[]> {
    const receivedAt = new Date(this.clock.now());
    const requests = decisions.flatMap((decision, decisionIndex) =>
      decision.action === 'isolate'
        ? [
            {
              decisionIndex,
              request: withTimeBox(
                isolateRequestFrom(decision, {
                  alert,
                  receivedAt,
                  policyVersion: decision.policyVersion,
                  requestedBy: requesterFor(alert, decision.rule),
                }),
                this.deps.policy.lifetimeOf(decision.rule),
              ),
            },
          ]
        : [],
    );
    return this.deviceLanes.run(
      requests.map(({ request }) => keyOf(request)),
      async () => {
        const submitted: SubmittedRequest[] = [];
        for (const { decisionIndex, request } of requests) {
          const carriedBy = await this.coalesceNow(request);
          submitted.push({
            requestId: request.requestId,
            deviceKey: keyOf(request),
            decisionIndex,
            duplicate: carriedBy !== null,
            ...(carriedBy !== null && { carriedBy }),
          });
        }
        return submitted;
      },
    );
  }

  /**
   * Queues `request` unless the device key's open request absorbs it (coalesce.ts): then it ends
   * `coalesced` at once and the carrying request's id is answered. The key is opened only once the
   * request is queued, so a failed send never leaves an entry absorbing alerts for a request nobody
   * will decide; a store failure after the send is left to the worker, which claims the key itself.
   * Throws StoreUnavailableError when the store cannot say whether the device has a request open.
   * Requests for one key wait for each other in this process (`deviceLanes`), so alerts about one
   * device arriving together find the first one's entry rather than all opening the key; another
   * process is kept apart by the store's conditional writes.
   */
  private coalesce(request: ActionRequest): Promise<string | null> {
    return this.deviceLanes.run([keyOf(request)], () => this.coalesceNow(request));
  }

  private async coalesceNow(request: ActionRequest): Promise<string | null> {
    const { store, reporter } = this.deps;
    const key = keyOf(request);
    // Renews this process's lease when due, and closes what ended but could not be closed yet.
    const { holder } = await this.claims.holding();
    // Every answer but `absorbed` queues the request, whose claim the worker decides on a read; only
    // an absorption must be proven, and it is, by its conditional write. So the copy of the entry
    // this process holds answers without a read (a late alert's key, closed, costs no GET). An
    // absorption into an entry this inline process alone writes goes out with the entry's close.
    const found = await store.openRequests.update(key, absorbStep(request, this.clock.now(), holder), {
      unwrittenFromCopy: true,
      writeBehind: (answer) => answer.kind === 'absorbed' && heldHereAlone(answer.carrier, holder),
    });
    if (found.kind === 'absorbed') {
      this.lifecycle.absorbed(request, found.carrier);
      return found.carrier.requestId;
    }
    await this.enqueue(request);
    if (found.kind !== 'free') return null;
    try {
      const holding = await this.claims.holding();
      // What writes nothing leaves the key to the worker's claim, which decides it: the copy will do.
      await store.openRequests.update(key, openAfterQueueingStep(request, this.clock.now(), holding), {
        unwrittenFromCopy: true,
      });
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      reporter.note('warn', {
        event: 'open-request-not-recorded',
        why: error.message,
        requestId: request.requestId,
        deviceKey: key,
      });
    }
    return null;
  }

  /** A person's isolate or release (CLI, manual call): the same queue and worker as automatic ones. */
  async submitManual(order: ManualOrder): Promise<ActionRequest> {
    const alert = {
      ...manualAlert({
        device: order.device,
        comment: order.comment,
        isolationType: order.isolationType,
        requestedBy: order.requestedBy,
        overrideReason: order.overrideReason,
        forceReason: order.forceReason,
      }),
      ...(order.tenantId !== undefined && { tenantId: order.tenantId }),
    };
    const request = withTimeBox(
      manualRequest(order.action, order.device, order.isolationType, this.deps.policy.modeFor(alert), {
        alert,
        receivedAt: new Date(this.clock.now()),
        policyVersion: this.deps.policy.version,
        requestedBy: requesterFor(alert, 'manual'),
      }),
      order.action === 'isolate'
        ? { isolateForMs: order.isolateForMs ?? null, onLift: order.onLift ?? 'let-lift' }
        : NO_LIFETIME,
    );
    await this.coalesce(request);
    return request;
  }

  /**
   * The request of a dead-letter record, sent again by an operator (`mde-isolator replay`): the
   * same request, decided as it was, with its attempts starting over.
   */
  async resubmit(request: IsolationRequest): Promise<{ duplicate: boolean }> {
    return this.enqueue({ ...request, attempt: 0, deferrals: 0 });
  }

  /** One delivery of a queue message. Throws only when it could not requeue: the queue redelivers. */
  async handle(body: unknown, delivery: Delivery): Promise<void> {
    // This worker acts with one tenant's MDE client, store and budget. A message of another tenant
    // reaches it only when that tenant is not served here (not listed, or listed no longer): recorded
    // for an operator, never acted on where a device of the same name is another customer's.
    const named = tenantNamedBy(body);
    if (named !== this.deps.tenantId)
      return this.lifecycle.deadLetterMessage(
        body,
        delivery.messageId ?? 'unknown',
        'TenantNotServed',
        named === undefined
          ? `the message names no tenant and this worker serves tenant ${this.deps.tenantId}: it was queued before the tenant list, so replay it with a tenant`
          : `the message acts in tenant ${named}, which this deployment does not serve: add it to MDE_TENANTS and replay it`,
      );
    const reconcile = asReconcileOrder(body);
    if (reconcile && this.deps.reconcile) return this.deps.reconcile(reconcile);
    const deadline = asApprovalDeadline(body);
    if (deadline && this.deps.approvalDeadline) return this.deps.approvalDeadline(deadline);
    const decoded = decodeRequest(body);
    if ('problem' in decoded) {
      // Retrying a malformed message can never succeed; record it for an operator and complete it.
      return this.lifecycle.deadLetterMessage(
        body,
        delivery.messageId ?? 'unknown',
        'InvalidMessage',
        decoded.problem,
      );
    }
    const { request } = decoded;
    if (request.action === 'track') return this.tracker.poll(request);
    this.acting += 1;
    try {
      return await this.worker.act(request);
    } finally {
      this.acting -= 1;
    }
  }

  private async enqueue(request: IsolationRequest): Promise<{ duplicate: boolean }> {
    return this.deps.queue.send(messageFor(request));
  }
}

/**
 * The tenant a queue message names, as sent (`tenantId` of a request, or stamped by a tenant's queue):
 * what routes it to that tenant's worker. A value that is not a string names no tenant of the list.
 */
export function tenantNamedBy(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || !('tenantId' in body)) return undefined;
  const { tenantId } = body as { tenantId: unknown };
  return tenantId === undefined ? undefined : String(tenantId).slice(0, 100).toLowerCase();
}

const NO_LIFETIME = { isolateForMs: null, onLift: 'let-lift' } as const;

/** An isolate request with the time box and the choice at the lift its rule or requester asked for. */
function withTimeBox(
  request: ActionRequest,
  { isolateForMs, onLift }: { isolateForMs: number | null; onLift: OnLift },
): ActionRequest {
  return {
    ...request,
    ...(isolateForMs !== null && { isolateForMs }),
    ...(onLift === 'renew' && { onLift }),
  };
}
