/**
 * The isolation request: the queue message that carries one device's decision from intake to the
 * worker (docs/architecture.md §4.4). It is plain JSON so it survives Service Bus, a restart and a redelivery; the
 * worker needs nothing but this message and the MDE API to finish the job.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  type DeviceRef,
  isIsolationOrder,
  isManualAlert,
  type NormalizedAlert,
  type Severity,
} from '../alerts/model';
import { strongestIdentifier } from '../kernel/device-label';
import { truncate } from '../kernel/text';
import { type MdeIsolationType, POLICY_MODES, type PolicyMode } from '../kernel/vocabulary';
import { canonicalGuid, canonicalMachineId } from '../mde/ids';
import { COMMENT_MAX_LENGTH } from '../policy/document';
import type { Decision } from '../policy/types';
import { assertSafeKey } from '../state/entities';
import type { ApprovalVote } from '../state/store';

export const REQUEST_ACTIONS = ['isolate', 'release', 'track'] as const;
export type RequestAction = (typeof REQUEST_ACTIONS)[number];

/**
 * Who asked, for the audit trail: a policy rule, or a person/tool. Whether a request counts as manual
 * (priority, breaker) is never read from here but from the alert (`isManualAlert`), the same test the
 * policy uses, so the two can never disagree.
 */
export interface Requester {
  kind: 'rule' | 'caller';
  name: string;
}

/**
 * The requester of a decision on `alert`: who an order names (a verified caller, or a relay's claim
 * marked as one: relayClaim), else the rule.
 */
export function requesterFor(alert: NormalizedAlert, rule: string): Requester {
  return isIsolationOrder(alert)
    ? { kind: 'caller', name: alert.manual?.requestedBy ?? 'unnamed caller' }
    : { kind: 'rule', name: rule };
}

/** The action being followed to its end; set on `track` requests. */
export interface TrackedAction {
  actionId: string;
  /** What is being tracked: the isolate or release this tracking request follows. */
  action: 'isolate' | 'release';
  machineId: string;
  computerDnsName: string | null;
  postedAt: string;
  /** True when another request (or a person) posted it and this request took it over. */
  adopted: boolean;
  polls: number;
}

/** What every phase of a request carries. */
interface RequestFields {
  requestId: string;
  /**
   * The tenant the request acts in (MDE_TENANTS), from its alert; absent in a single-tenant deployment.
   * Also the Service Bus session of the request (transport/service-bus-queue.ts).
   */
  tenantId?: string;
  device: DeviceRef;
  isolationType: MdeIsolationType;
  /** 0 goes first (Bottleneck's scale): manual, then high, medium, low severity, then tracking. */
  priority: number;
  /** The originating alert, reduced to this one device. */
  alert: NormalizedAlert;
  requestedBy: Requester;
  /** The rule of the intake decision (`manual` for manual requests). */
  rule: string;
  policyVersion: string;
  /**
   * The mode the request was decided in. A request queued in dry-run is never posted, even if the
   * operator switched to enforce while it waited (deferred, retrying): nobody approved enforcing it.
   */
  mode: PolicyMode;
  /** Failed attempts so far (transient errors); bounds retries. */
  attempt: number;
  /** Times the request waited for API budget or a `Retry-After`; never a reason to give up. */
  deferrals: number;
  /**
   * 429 answers the request met, in every phase (its tracking included), each answered by its
   * Retry-After: absent until the first. Counted so an outcome record shows that MDE, not this app's
   * budget, set the pace (another caller shares the identity, or a restart forgot recent calls).
   */
  rateLimited?: number;
  /**
   * Device + action (and mode): a label in logs and message properties. Storms are coalesced on the
   * state store (coalesce.ts); the Service Bus `messageId` is the request id (transport/queue.ts).
   */
  dedupeKey: string;
  /** When the alert reached intake, for the time-to-isolate figures. */
  receivedAt: string;
  /**
   * Set on a request as intake makes it, and on a copy deferred before it reserved any MDE budget, by
   * a delivery that found no open ledger entry of its own: it has posted nothing, so its delivery
   * does not read the ledger for its own action (steps/resume.ts; a second delivery of a message
   * whose first one posted finds that action under the machine's claim, steps/prior-actions.ts).
   * Dropped once a delivery reserves. Absent: the ledger is read.
   */
  unreserved?: true;
  /** Set while the state store is unreachable: since when this request waits for it, and how often. */
  storeOutage?: StoreOutage;
  /** Times the isolation was posted again after it ended TimeOut (steps/offline-timeout.ts); absent: none. */
  timeoutRetries?: number;
  /**
   * The device key the request's claim was opened under, when its `device` no longer names it:
   * tracking resumed from the ledger knows the machine id, while the claim may be `fqdn:…`.
   */
  claimKey?: string;
  /**
   * An isolation's time box (ms), from its rule's or its requester's `isolateFor`: released when it
   * ends (steps/time-box.ts). Absent: the isolation lasts until released or lifted.
   */
  isolateForMs?: number;
  /**
   * A release scheduled when a time-boxed isolation took effect: posted only while that isolation is
   * still this app's and the newest action on the machine, and its (possibly extended) end has come.
   */
  timeBox?: { isolationActionId: string };
  /** `renew`: at MDE's lift a new isolation is posted (steps/renewal.ts); absent: it lifts. */
  onLift?: 'renew';
  /** The isolation this one renews at its lift: posted only while that one is still the register's. */
  renewal?: { isolationActionId: string };
  /**
   * The approval that held this isolation and let it go (shared/approvals/): who decided, when and
   * why, which the outcome record carries. The worker posts it only while the store's approval still
   * lets it (steps/approval-hold.ts); the request's id is the approval's.
   */
  approval?: ApprovalSummary;
}

/** An approval as a request carries it. */
export interface ApprovalSummary {
  id: string;
  /** approved; expired when its policy said isolate on expiry. */
  state: 'approved' | 'expired' | 'denied';
  votes: ApprovalVote[];
}

/** The register's history line for an approval: who approved (their reasons are in the outcome). */
export function approvalWords(approval: ApprovalSummary): string {
  const by = approval.votes.filter((v) => v.verdict === 'approve').map((v) => v.by);
  return by.length > 0
    ? `approval ${approval.id} by ${by.join(' and ')}`
    : `approval ${approval.id} expired undecided`;
}

export interface StoreOutage {
  since: string;
  deferrals: number;
}

/** An isolate or release the worker decides, posts or adopts. */
export interface ActionRequest extends RequestFields {
  action: 'isolate' | 'release';
}

/** The same request in its tracking phase: it follows the action the worker posted or adopted. */
export interface TrackRequest extends RequestFields {
  action: 'track';
  tracking: TrackedAction;
}

/** The queue message: one of the three phases, told apart by `action`. */
export type IsolationRequest = ActionRequest | TrackRequest;

/** The action a request is about: its own verb, or the one it tracks. */
export function verbOf(request: IsolationRequest): 'isolate' | 'release' {
  return request.action === 'track' ? request.tracking.action : request.action;
}

/** Lower is sooner. A reconciliation (shared/reconcile/) comes after every isolation and tracking poll. */
export const PRIORITY = {
  manual: 0,
  high: 1,
  medium: 3,
  low: 5,
  informational: 7,
  tracking: 8,
  reconcile: 9,
} as const;

export function priorityOf(severity: Severity, manual: boolean): number {
  return manual ? PRIORITY.manual : PRIORITY[severity];
}

/** Whether a person asked for this request: never blocked by the breaker, handled first. */
export function isManualRequest(request: Pick<IsolationRequest, 'alert'>): boolean {
  return isManualAlert(request.alert);
}

/** Kept short enough to read in Service Bus Explorer and in log lines. */
const MAX_DEDUPE_KEY = 100;

/** `mde:<id>`: the device's strongest identifier, names and ids in lower case (addresses as given). */
export function deviceKey(device: DeviceRef): string {
  const identifier = strongestIdentifier(device);
  if (!identifier) throw new Error('device reference names no identifier');
  const { kind, value } = identifier;
  return `${kind}:${kind === 'ip' ? value : value.toLowerCase()}`;
}

/**
 * `isolate:mde:<id>` (`dry-run:isolate:…` for a dry-run request), hashed when too long for a message
 * property: which device and action a request is about, readable without opening the body.
 */
export function dedupeKey(
  action: 'isolate' | 'release',
  device: DeviceRef,
  mode: PolicyMode = 'enforce',
): string {
  const prefix = mode === 'dry-run' ? `dry-run:${action}` : action;
  const identity = deviceKey(device);
  const key = `${prefix}:${identity}`;
  if (key.length <= MAX_DEDUPE_KEY) return key;
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 40);
  return `${prefix}:${identity.split(':')[0]}:sha256:${digest}`;
}

export interface RequestOrigin {
  alert: NormalizedAlert;
  receivedAt: Date;
  policyVersion: string;
  requestedBy: Requester;
}

/** The request for one isolate decision of intake, in the mode the decision was taken in. */
export function isolateRequestFrom(decision: Decision, origin: RequestOrigin): ActionRequest {
  return buildRequest(
    'isolate',
    decision.device,
    decision.isolationType,
    decision.rule,
    decision.mode,
    origin,
  );
}

/**
 * A manual isolate or release (CLI, manual API), which no policy rule decided; `mode` is the policy's
 * mode when the order was given.
 */
export function manualRequest(
  action: 'isolate' | 'release',
  device: DeviceRef,
  isolationType: MdeIsolationType,
  mode: PolicyMode,
  origin: RequestOrigin,
): ActionRequest {
  return buildRequest(action, device, isolationType, 'manual', mode, origin);
}

/**
 * What one request may carry of its alert. Service Bus Standard refuses a message over 256 KB (64 KB
 * of properties), and intake would answer 503 for it forever: alert text is cut to these bounds, so a
 * request always fits. Device identifiers are never cut (a cut name could name another machine);
 * the parsers already bound them to valid ids and DNS names.
 */
export const REQUEST_BOUNDS = {
  title: 300,
  id: 200,
  /** Items kept of each list (categories, techniques, related ids, IP addresses). */
  listItems: 20,
  listItem: 100,
  comment: COMMENT_MAX_LENGTH,
  /** A person's reason for an override or a forced release (the manual API caps it at 300). */
  reason: 300,
  /** An ARM id is used as a URL: one longer than this is dropped (no incident comment), never cut. */
  armId: 1_000,
} as const;

function boundedList(values: readonly string[]): string[] {
  return values.slice(0, REQUEST_BOUNDS.listItems).map((v) => truncate(v, REQUEST_BOUNDS.listItem));
}

const boundedId = (id: string) => truncate(id, REQUEST_BOUNDS.id);

/** The alert as a request carries it: this one device, and every text within REQUEST_BOUNDS. */
export function boundedAlert(alert: NormalizedAlert, device: DeviceRef): NormalizedAlert {
  const { relatedAlertIds, providerIncidentId, manual, incidentArmId } = alert;
  return {
    ...alert,
    alertId: boundedId(alert.alertId),
    incidentId: alert.incidentId === null ? null : boundedId(alert.incidentId),
    incidentArmId:
      incidentArmId !== null && incidentArmId.length <= REQUEST_BOUNDS.armId ? incidentArmId : null,
    title: truncate(alert.title, REQUEST_BOUNDS.title),
    categories: boundedList(alert.categories),
    mitreTechniques: boundedList(alert.mitreTechniques),
    devices: [boundedDevice(device)],
    ...(relatedAlertIds && {
      relatedAlertIds: relatedAlertIds.slice(0, REQUEST_BOUNDS.listItems).map(boundedId),
    }),
    ...(providerIncidentId !== undefined && { providerIncidentId: boundedId(providerIncidentId) }),
    ...(manual && {
      manual: {
        ...manual,
        comment: truncate(manual.comment, REQUEST_BOUNDS.comment),
        ...(manual.requestedBy !== undefined && { requestedBy: boundedId(manual.requestedBy) }),
        ...(manual.overrideReason !== undefined && {
          overrideReason: truncate(manual.overrideReason, REQUEST_BOUNDS.reason),
        }),
        ...(manual.forceReason !== undefined && {
          forceReason: truncate(manual.forceReason, REQUEST_BOUNDS.reason),
        }),
      },
    }),
  };
}

/** IPs are the weakest clue (used only when nothing else names the device): only the first few are kept. */
function boundedDevice(device: DeviceRef): DeviceRef {
  const { ipAddresses, azureResourceId, ...ids } = device;
  return {
    ...ids,
    ...(ipAddresses && { ipAddresses: ipAddresses.slice(0, REQUEST_BOUNDS.listItems) }),
    ...(azureResourceId !== undefined &&
      azureResourceId.length <= REQUEST_BOUNDS.armId && { azureResourceId }),
  };
}

function buildRequest(
  action: 'isolate' | 'release',
  device: DeviceRef,
  isolationType: MdeIsolationType,
  rule: string,
  mode: PolicyMode,
  origin: RequestOrigin,
): ActionRequest {
  const alert = boundedAlert(origin.alert, device);
  const [bounded] = alert.devices;
  return {
    requestId: randomUUID(),
    action,
    device: bounded,
    isolationType,
    priority: priorityOf(origin.alert.severity, isManualAlert(origin.alert)),
    alert,
    requestedBy: { ...origin.requestedBy, name: boundedId(origin.requestedBy.name) },
    rule,
    policyVersion: origin.policyVersion,
    mode,
    attempt: 0,
    deferrals: 0,
    dedupeKey: dedupeKey(action, bounded, mode),
    receivedAt: origin.receivedAt.toISOString(),
    unreserved: true,
    ...(origin.alert.tenantId && { tenantId: origin.alert.tenantId }),
  };
}

/** The same request in its tracking phase: it follows the action the worker posted or adopted. */
export function trackingRequestFor(request: ActionRequest, tracking: TrackedAction): TrackRequest {
  const { storeOutage: _over, ...fields } = request;
  return {
    ...fields,
    action: 'track',
    priority: PRIORITY.tracking,
    attempt: 0,
    deferrals: 0,
    // Per request and action: a redelivered request does not track twice, yet a second request that
    // adopts the same action still gets its own outcome.
    dedupeKey: `track:${tracking.actionId}:${request.requestId}`,
    tracking,
  };
}

export type DecodedRequest = { request: IsolationRequest } | { problem: string };

/**
 * The longest request id a message may carry. This app's are UUIDs (36 characters); a request id is a
 * storage key and part of the message ids of its retries and tracking polls (with the action id and
 * the request's counts: lifecycle.ts `requeue`), which Service Bus caps at 128 characters
 * (SERVICE_BUS_STANDARD_LIMITS).
 */
export const REQUEST_ID_MAX = 40;

/**
 * Why the ids every step keys on are unusable, or null. Checked once as the message comes off the
 * queue: a step that found out later would fail the same way on every delivery and every retry.
 */
function keyProblem(fields: { requestId: string; device: DeviceRef }): string | null {
  const unusableId = `requestId is not 1 to ${REQUEST_ID_MAX} characters usable as a storage key`;
  if (fields.requestId.length > REQUEST_ID_MAX) return unusableId;
  try {
    assertSafeKey(fields.requestId, 'requestId');
  } catch {
    return unusableId;
  }
  try {
    deviceKey(fields.device);
  } catch {
    return 'device names no identifier (mdeDeviceId, fqdn, aadDeviceId, hostname or ipAddresses)';
  }
  return null;
}

/** Why a tracking request's action cannot be followed, or null; checked once, like keyProblem. */
function trackingProblem(tracking: Partial<TrackedAction>): string | null {
  if (typeof tracking.actionId !== 'string' || typeof tracking.machineId !== 'string')
    return 'track request without tracking.actionId and tracking.machineId';
  if (tracking.action !== 'isolate' && tracking.action !== 'release')
    return 'tracking.action is not isolate or release';
  if (!canonicalGuid(tracking.actionId)) return 'tracking.actionId is not a machine action id (GUID)';
  if (!canonicalMachineId(tracking.machineId)) return 'tracking.machineId is not an MDE machine id (40 hex)';
  if (typeof tracking.postedAt !== 'string' || Number.isNaN(Date.parse(tracking.postedAt)))
    return 'tracking.postedAt is not a time';
  return null;
}

/**
 * A message body from the queue as a typed request, or why it is unusable. Fields that older
 * versions wrote and nothing reads (`comment`) are dropped.
 */
export function decodeRequest(body: unknown): DecodedRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { problem: 'body is not a JSON object' };
  const { comment: _comment, ...fields } = body as Partial<RequestFields> & {
    action?: unknown;
    tracking?: Partial<TrackedAction>;
    comment?: unknown;
  };
  if (!REQUEST_ACTIONS.includes(fields.action as RequestAction))
    return { problem: 'action is not isolate, release or track' };
  if (typeof fields.requestId !== 'string' || typeof fields.dedupeKey !== 'string')
    return { problem: 'requestId or dedupeKey missing' };
  if (typeof fields.device !== 'object' || fields.device === null) return { problem: 'device missing' };
  const keys = keyProblem({ requestId: fields.requestId, device: fields.device });
  if (keys) return { problem: keys };
  if (typeof fields.alert !== 'object' || fields.alert === null) return { problem: 'alert missing' };
  if (typeof fields.attempt !== 'number' || typeof fields.deferrals !== 'number')
    return { problem: 'attempt or deferrals missing' };
  // A request acts in no tenant but the one it names: a malformed name is never read as none.
  if (
    fields.tenantId !== undefined &&
    (typeof fields.tenantId !== 'string' || !canonicalGuid(fields.tenantId))
  )
    return { problem: 'tenantId is not a tenant id (GUID)' };
  if (fields.rateLimited !== undefined && typeof fields.rateLimited !== 'number')
    return { problem: 'rateLimited is not a number' };
  // Skips the ledger read: only the exact mark the worker writes counts, never a truthy look-alike.
  if (fields.unreserved !== undefined && fields.unreserved !== true)
    return { problem: 'unreserved is not true' };
  if (fields.claimKey !== undefined && typeof fields.claimKey !== 'string')
    return { problem: 'claimKey is not a string' };
  if (
    fields.isolateForMs !== undefined &&
    !(Number.isSafeInteger(fields.isolateForMs) && fields.isolateForMs > 0)
  )
    return { problem: 'isolateForMs is not a positive whole number' };
  if (fields.timeBox !== undefined && typeof fields.timeBox?.isolationActionId !== 'string')
    return { problem: 'timeBox names no isolation action' };
  if (fields.onLift !== undefined && fields.onLift !== 'renew') return { problem: 'onLift is not renew' };
  if (fields.renewal !== undefined && typeof fields.renewal?.isolationActionId !== 'string')
    return { problem: 'renewal names no isolation action' };
  if (fields.approval !== undefined && typeof fields.approval?.id !== 'string')
    return { problem: 'approval names no approval id' };
  if (
    fields.timeoutRetries !== undefined &&
    !(Number.isInteger(fields.timeoutRetries) && fields.timeoutRetries >= 0 && fields.timeoutRetries <= 10)
  )
    return { problem: 'timeoutRetries is not a whole number from 0 to 10' };
  if (fields.action === 'track') {
    const problem = trackingProblem(fields.tracking ?? {});
    if (problem) return { problem };
    // A tracking request only reads an action already posted, so it needs no mode; one that has
    // none was posted, which only enforce does.
    const mode: PolicyMode = POLICY_MODES.includes(fields.mode as PolicyMode)
      ? (fields.mode as PolicyMode)
      : 'enforce';
    return { request: { ...(fields as unknown as TrackRequest), mode } };
  }
  // Without its mode nobody can tell whether the request was meant to be enforced: never guess.
  if (!POLICY_MODES.includes(fields.mode as PolicyMode)) return { problem: 'mode is not enforce or dry-run' };
  return { request: fields as unknown as ActionRequest };
}
