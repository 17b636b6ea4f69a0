/**
 * The state that must outlive one process and be shared by intake and worker: the isolation
 * register, the blast-radius breaker, the action ledger and the quota ledger. Decision code sees only
 * this interface; the storage SDK stays behind an adapter (`InMemoryStateStore` for one-off local
 * runs, `TableStateStore` on Azure Table Storage in the app's own storage account).
 *
 * Every method may throw `StoreUnavailableError`: the store could not be reached in time, or stayed
 * contended. Callers defer the work (never post unchecked) and try again later.
 */
import type { AlertSource, DeviceRef, Severity } from '../alerts/model';
import type { MdeIsolationType, PolicyMode } from '../kernel/vocabulary';
import type { MdeApiName } from '../mde/api';
import type { MachineActionStatus } from '../mde/types';
import type { Claim, HolderLeases, MachineClaims } from './claim';

export const ISOLATION_STATES = [
  'isolating',
  'isolated',
  'releasing',
  'released',
  'failed',
  'timed-out',
  'cancelled',
  /** MDE ended the isolation at its platform lift (dispatch/steps/lift.ts); nothing was posted. */
  'lifted',
] as const;
export type IsolationState = (typeof ISOLATION_STATES)[number];

/** A request is under way: a device in these states absorbs or queues new requests. */
export const OPEN_ISOLATION_STATES: readonly IsolationState[] = ['isolating', 'releasing'];

/** Who asked and why, as the register shows it. Strings are cut to bounded lengths on write. */
export interface Provenance {
  requestedBy: { kind: 'rule' | 'caller'; name: string };
  alertSource: AlertSource;
  alertId: string;
  incidentId: string | null;
  incidentArmId: string | null;
  policyVersion: string;
  mode: PolicyMode;
  /** The decision's reason. */
  reason: string;
  /**
   * What the person wrote (the manual comment) or the alert's title: the words an analyst reads
   * beside the device. Absent in records written before.
   */
  comment?: string;
}

export type IsolationActionType = 'Isolate' | 'Unisolate';

/**
 * An MDE action the register knows for a device: who posted it (MDE's word), and whether this app
 * posted it or followed it for an alert. Following never makes it this app's (dispatch/steps/ownership.ts).
 */
export interface RegisterAction {
  actionId: string;
  type: IsolationActionType;
  status: MachineActionStatus;
  /** `requestor` and `requestSource` as MDE reports them: who posted it; null until seen. */
  requestor: string | null;
  requestSource: string | null;
  /**
   * True when this app followed an action already under way (someone else's, or its own whose POST
   * answer was lost) instead of posting it; the ledger's `adopted`. Absent in records written before.
   */
  adopted?: boolean;
  /** The request and alert this app posted or followed the action for. Absent in records written before. */
  followedFor?: { requestId: string; alertId: string };
}

export interface Transition {
  at: string;
  state: IsolationState;
  requestId: string;
  actionId: string | null;
  reason: string;
}

/** What ends an isolation: its time box (`isolateFor`, extended or not) or MDE's platform lift. */
export type ExpiryCause = 'time-box' | 'platform-lift';

export interface IsolationRecord {
  machineId: string;
  computerDnsName: string | null;
  state: IsolationState;
  /** The request the current state belongs to. */
  requestId: string;
  provenance: Provenance;
  /** Newest first, a few at most. */
  actions: RegisterAction[];
  requestedAt: string;
  /** When this app posted or adopted an action for the current request. */
  postedAt: string | null;
  /** When the current request reached a state other than isolating/releasing. */
  completedAt: string | null;
  updatedAt: string;
  /** Newest first; bounded by count and age (StateOptions). */
  history: Transition[];
  /**
   * While `isolated`: when the isolation ends, the earlier of its time box and the platform lift
   * (dispatch/steps/expiry.ts); null in every other state. Absent in records written before.
   */
  expiresAt?: string | null;
  /** What ends it at `expiresAt`: its time box (this app releases it) or MDE's lift; null with no end. */
  expiresBy?: ExpiryCause | null;
  /**
   * When a reconciliation last found MDE's actions agreeing with this record; null until one did.
   * Set by the reconciler only. Absent in records written before.
   */
  confirmedAt?: string | null;
}

/**
 * One step of a device's record. A change naming another request than the record's (or the first
 * one) starts a new request: `provenance` is then required and the timestamps start over. Later
 * steps of the same request keep the provenance it started with.
 */
export interface IsolationChange {
  machineId: string;
  state: IsolationState;
  requestId: string;
  reason: string;
  computerDnsName?: string | null;
  provenance?: Provenance;
  /** Added, or updated by action id. */
  action?: RegisterAction;
  /** A new end of the isolation in force (`isolated` only); kept when absent, cleared by other states. */
  expiresAt?: string | null;
  /** What ends it then; given with `expiresAt`. */
  expiresBy?: ExpiryCause;
  /** A reconciliation confirmed the record now; kept when absent. */
  confirmedAt?: string;
}

/**
 * An entry in a device's history that changes nothing else of its record (state, request, provenance,
 * actions, times): what happened to a request that posted nothing, such as an approval held, denied
 * or expired (shared/approvals/register-note.ts). Written only over a record: give `onlyFrom` the
 * states (ISOLATION_STATES), since a device without a record has no state it could truly show.
 */
export interface HistoryNote {
  machineId: string;
  /** The request (or approval) the entry is about, which need not be the record's. */
  requestId: string;
  note: string;
}

export type RegisterWrite =
  | { applied: true; record: IsolationRecord }
  /**
   * `onlyFrom` did not contain the current state, or `sameRequest` found another request's record;
   * `record` is what is there (null: none).
   */
  | { applied: false; record: IsolationRecord | null };

export interface IsolationRegister {
  /**
   * The device's record. With `fromCopy`, the copy of it this process last read or wrote, when it
   * holds one, instead of a read: only for a caller whose conclusion is proven elsewhere (step 3b,
   * dispatch/steps/isolation-in-force.ts, by MDE's list; decision 0034).
   */
  get(machineId: string, options?: { fromCopy?: boolean }): Promise<IsolationRecord | null>;
  /**
   * Applies `change` atomically. With `onlyFrom`, only when the device's current state is one of
   * them (`null` standing for "no record"): the compare-and-set that coalescing needs.
   */
  record(
    change: IsolationChange | HistoryNote,
    options?: {
      onlyFrom?: readonly (IsolationState | null)[];
      /** Only while the record is still the change's request (a later step of it, never a new one). */
      sameRequest?: boolean;
    },
  ): Promise<RegisterWrite>;
  /**
   * Records by machine id order, at most `limit` (default and cap: LIST_MAX); with `after` (the machine
   * id of the last record of the page before), the next page.
   */
  list(query?: { state?: IsolationState; limit?: number; after?: string }): Promise<IsolationRecord[]>;
}

/** Largest page `list` and `open` return. */
export const LIST_MAX = 1_000;

export interface BreakerLimits {
  /** Automatic isolations allowed per rolling window. */
  limit: number;
  windowMs: number;
}

export interface BreakerReset {
  at: string;
  by: string;
  reason: string;
}

export interface SharedBreakerStatus {
  open: boolean;
  /** Isolations MDE accepted in the current rolling window (manual ones included). */
  count: number;
  /** Reservations taken and neither committed, released nor expired: isolate POSTs in flight. */
  reserved: number;
  limit: number;
  windowMs: number;
  /** When the breaker closes again by itself, if open. */
  closesAt: Date | null;
  /** Why it opened, if open. */
  reason: string | null;
  /** Newest first, a few at most. */
  resets: BreakerReset[];
}

export type BreakerAdmission =
  | { allowed: true; reservationId: string }
  /** The breaker is open: a person decides (escalate). */
  | { allowed: false; open: true; reason: string }
  /**
   * The window is full only counting isolate POSTs in flight, which may still fail: ask again at
   * `retryAt` (epoch ms), by when they have been committed, released or have expired.
   */
  | { allowed: false; open: false; reason: string; retryAt: number };

/**
 * The blast-radius breaker shared by every process. Admission is reserve-then-commit: reserve just
 * before an isolate POST, commit when MDE accepted it, release when it was not posted. A reservation
 * neither committed nor released within `reservationTtlMs` (the process died in between) expires.
 * Committed isolations and live reservations count against the limit; manual requests are counted
 * and never refused. Once open, the breaker stays open for a full window or until an operator resets it.
 */
export interface BreakerStore {
  reserve(request: { requestId: string; manual: boolean }, limits: BreakerLimits): Promise<BreakerAdmission>;
  /**
   * MDE accepted isolation `actionId` (posted with `reservationId`, or adopted as this app's own when
   * the POST's answer was lost: null). Counted once per action, however many requests commit it, and
   * even if the reservation expired.
   */
  commit(reservationId: string | null, actionId: string): Promise<void>;
  /** Nothing was posted: the reservation stops counting. Unknown or expired ids are ignored. */
  release(reservationId: string): Promise<void>;
  /** Opens the breaker now, e.g. when one alert names more devices than allowed. */
  trip(reason: string): Promise<void>;
  /** Closes the breaker and forgets the window's count; recorded with who and why. */
  reset(by: string, reason: string): Promise<void>;
  status(limits: BreakerLimits): Promise<SharedBreakerStatus>;
}

/**
 * Whether an action recorded again is adopted, given what was recorded of it `before`: an action this
 * app posted stays posted, whoever follows it later (a redelivered or retried request that finds it in
 * MDE's list), because `adopted: false` is the ledger's proof of whose it is (dispatch/steps/ownership.ts).
 */
export function adoptedAgain(before: boolean | undefined, now: boolean): boolean {
  return now && before !== false;
}

/** An isolate or release this app posted, or adopted from MDE's list, and follows. */
export interface LedgerEntry {
  machineId: string;
  actionId: string;
  /** The request whose tracking follows the action. */
  requestId: string;
  type: IsolationActionType;
  status: MachineActionStatus;
  adopted: boolean;
  computerDnsName: string | null;
  /** MDE's `creationDateTimeUtc`. */
  createdAt: string;
  /** When this app recorded it. */
  recordedAt: string;
  /**
   * The device key the request's claim was opened under (`fqdn:…` for a request by name), so
   * whoever resumes its tracking closes that claim; null when recorded before keys were kept.
   */
  deviceKey?: string | null;
}

/** An entry as read back: `open` while its request still follows it. */
export interface LedgerRecord extends LedgerEntry {
  open: boolean;
  deviceKey: string | null;
}

/** Where an entry sits in the ledger. */
export type LedgerKey = Pick<LedgerEntry, 'machineId' | 'actionId'>;

/**
 * Entries stay while followed, and once closed for as long as the register keeps a device's history
 * (`historyRetentionMs`, REGISTER_HISTORY_DAYS) and at least as long as MDE's history they prove
 * ownership in is read (HISTORY_LOOKBACK_DAYS, plus a day): a machine's older closed entries are deleted at its
 * next ledger write: a machine keeps its recent entries however often it is acted on (one never written
 * again keeps its last ones).
 */
export interface ActionLedger {
  /**
   * Adds the entry (open unless its status is terminal), or replaces the one with the same machine and
   * action id, which stays posted if it was (adoptedAgain).
   */
  record(entry: LedgerEntry): Promise<void>;
  /** A newer status for a recorded action; a terminal one closes it. Unknown actions are ignored. */
  setStatus(machineId: string, actionId: string, status: MachineActionStatus): Promise<void>;
  /**
   * Nobody follows the action any more though MDE has not ended it (its tracking failed or gave up):
   * it is closed with its last status, and the next request for the machine asks MDE.
   */
  abandon(machineId: string, actionId: string): Promise<void>;
  /** Newest first. */
  forMachine(machineId: string): Promise<LedgerRecord[]>;
  /** The entry `requestId` last recorded, or null (also when another request has adopted its action since). */
  forRequest(requestId: string): Promise<LedgerRecord | null>;
  /**
   * Actions still followed, in key order (machine id, then action id): at most `limit` (default and
   * cap: LIST_MAX) after `after`, the last entry of the page before. What a new process resumes tracking.
   */
  open(page?: { after?: LedgerKey; limit?: number }): Promise<LedgerRecord[]>;
}

/**
 * One process's part of an API's shared quota budget (dispatch/quota/budget-shares.ts): the end
 * times of the calls it made that still count, and the slots it holds (granted, and not yet ended).
 * A process holds slots only while its holder lease runs (claim.ts).
 */
export interface QuotaShare {
  holder: string;
  /** Epoch ms, ascending. */
  stamps: number[];
  held: number;
}

/** One API's budget as every process sharing the store sees it. */
export interface QuotaBudgetDocument {
  shares: QuotaShare[];
  /** A 429's Retry-After, for every process (epoch ms; 0: none). */
  pausedUntil: number;
}

/** Shares kept per API at most: the live processes and one share for every ended one. */
export const QUOTA_SHARES_MAX = 17;

export interface QuotaLedger {
  /**
   * Compare-and-set on one API's budget, as `OpenRequestIndex.update`: `step` runs on the document
   * as read (empty when none) and its `next` is written under the document's ETag; on a conflict it
   * runs again on a fresh read. `next: null` writes nothing.
   */
  update<T>(
    api: MdeApiName,
    step: (
      current: QuotaBudgetDocument,
    ) =>
      | Promise<{ next: QuotaBudgetDocument | null; result: T }>
      | { next: QuotaBudgetDocument | null; result: T },
  ): Promise<T>;
}

/** An alert a device's open request took on instead of a request of its own. */
export interface AbsorbedAlert {
  /** The request that was not queued; its outcome (`coalesced`) names the open one. */
  requestId: string;
  alertSource: AlertSource;
  alertId: string;
  severity: Severity;
  receivedAt: string;
}

/** Alerts kept on one open request; `absorbedCount` counts them all. */
export const ABSORBED_MAX = 20;

/**
 * The request a device key (the device's strongest identifier, before resolution) has under way, or
 * had last: what intake and the worker coalesce on. One entry per key; an ended one (`closedAt`)
 * stays as a marker until the next request for the key replaces it. It is a claim (claim.ts): it
 * holds only while its holder's lease runs.
 */
export interface OpenRequest extends Claim {
  deviceKey: string;
  action: 'isolate' | 'release';
  isolationType: MdeIsolationType;
  mode: PolicyMode;
  manual: boolean;
  /** The highest priority (lowest number) of the request and every alert it absorbed. */
  priority: number;
  openedAt: string;
  /** The first ABSORBED_MAX alerts absorbed (the store cuts the list). */
  absorbed: AbsorbedAlert[];
  absorbedCount: number;
  /**
   * The request as its queue message carries it (JSON), so a process finding the entry left by an
   * inline process that died with its queue sends the request again; absent when too large to keep.
   */
  requestBody?: string;
}

export interface OpenRequestUpdateOptions<T = unknown> {
  /**
   * An answer that writes nothing may come from the copy of the entry this process last read or
   * wrote, without reading it again: every such answer (`true`) or those the function accepts. Only
   * for answers that take the cautious path, or that nothing but this process could change: intake,
   * which then queues the request, and the worker's claim decides it on what the store holds; the
   * worker's claim of its own entry held by this inline process (decision 0034). Without it, such an
   * answer from a copy is decided again on a read.
   */
  unwrittenFromCopy?: boolean | ((result: T) => boolean);
  /**
   * An answer from the copy that the function accepts is kept on the copy, unwritten, and goes out
   * with the key's next write from this process (its close, at the latest), which is conditional on
   * the version the copy was read or written at. Only for an entry no other process writes
   * meanwhile: one this inline process holds (decision 0034). Should another process write it after
   * all (this process's lease lapsed), what the copy held unwritten is lost.
   */
  writeBehind?: (result: T) => boolean;
}

export interface OpenRequestIndex {
  get(deviceKey: string): Promise<OpenRequest | null>;
  /**
   * Compare-and-set: applies `step` to the key's entry as read and writes its `next` under the
   * entry's ETag (or only if there is none); on a conflict, reads again and applies `step` again, so
   * `step` must be pure. `next: null` writes nothing. Answers `step`'s `result` for the entry written.
   */
  update<T>(
    deviceKey: string,
    step: (current: OpenRequest | null) => { next: OpenRequest | null; result: T },
    options?: OpenRequestUpdateOptions<T>,
  ): Promise<T>;
  /**
   * Entries not closed (held or lapsed), at most `limit` (default and cap: LIST_MAX); with `after`
   * (the device key of the last entry of the previous page), the next page.
   */
  unclosed(limit?: number, after?: string): Promise<OpenRequest[]>;
}

/**
 * The latest reconciliation's report (shared/reconcile/), kept whole as the reconciler wrote it: what
 * `GET /api/drift` and `mde-isolator reconcile` show. The writer bounds it (MAX_STRING_UNITS).
 */
export interface DriftLog {
  save(report: string): Promise<void>;
  /** Null before the first reconciliation. */
  latest(): Promise<string | null>;
}

export const APPROVAL_STATES = ['pending', 'approved', 'denied', 'expired'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** One person's decision on a held isolation. */
export interface ApprovalVote {
  verdict: 'approve' | 'deny';
  /** Who, as the caller check names them (manual/caller.ts): bounded, one line. */
  by: string;
  /** The Entra object id when signed in; null with a function key or the CLI. */
  byObjectId: string | null;
  at: string;
  reason: string;
}

/**
 * An isolation held until people approve it (shared/approvals/): what is asked, why, and what was
 * decided. Strings are cut to bounded lengths by whoever writes it; `votes` holds at most two.
 */
export interface ApprovalRecord {
  id: string;
  state: ApprovalState;
  machineId: string;
  computerDnsName: string | null;
  device: DeviceRef;
  alert: {
    source: AlertSource;
    alertId: string;
    incidentId: string | null;
    incidentArmId: string | null;
    severity: Severity;
    title: string;
  };
  /** The rule or protection that asked for approval. */
  askedBy: string;
  /** The decision's reason: what the policy would do and why. */
  reason: string;
  requestedBy: { kind: 'rule' | 'caller'; name: string };
  approvers: 1 | 2;
  onExpiry: 'isolate' | 'drop' | 'escalate';
  createdAt: string;
  deadline: string;
  votes: ApprovalVote[];
  /** When it left `pending`, and what followed (the isolation's request, or why nothing was posted). */
  endedAt: string | null;
  followedBy: string | null;
  /** The held request as its queue message carries it (JSON): what an approval sends on. */
  request: string;
  /** Random, per approval: what the approval page's form token is keyed with (approvals/page-token.ts). */
  pageKey: string;
  /**
   * What withdraws its deadline message once decided (the queue's ref, approvals/deadline-message.ts);
   * absent when the queue dropped the message as a duplicate, and on rows written before it was kept.
   */
  deadlineMessage?: string;
}

/** Pending and recent approvals, under ETags like every other record of the store. */
export interface ApprovalBook {
  get(id: string): Promise<ApprovalRecord | null>;
  /**
   * Compare-and-set on one approval, as `OpenRequestIndex.update`: `step` runs on the record as read
   * (null: none) and its `next` is written under the record's ETag; `next: null` writes nothing.
   */
  update<T>(
    id: string,
    step: (current: ApprovalRecord | null) => { next: ApprovalRecord | null; result: T },
  ): Promise<T>;
  /** The approval pending for a machine, if any. */
  pendingFor(machineId: string): Promise<ApprovalRecord | null>;
  /** Newest first, at most `limit` (default and cap: LIST_MAX), of one state when given. */
  list(query?: { state?: ApprovalState; limit?: number }): Promise<ApprovalRecord[]>;
}

export interface StateStore {
  readonly register: IsolationRegister;
  /** Isolations held for approval (shared/approvals/). */
  readonly approvals: ApprovalBook;
  readonly drift: DriftLog;
  readonly openRequests: OpenRequestIndex;
  readonly machineClaims: MachineClaims;
  readonly holders: HolderLeases;
  readonly breaker: BreakerStore;
  /**
   * The cap on automatic isolations across every tenant (MDE_DEPLOYMENT_MAX_ISOLATIONS,
   * docs/decisions/0035-a-deployment-wide-isolation-cap.md): a breaker of its own, read and written in
   * the deployment's store only, whatever lane isolates.
   */
  readonly deploymentCap: BreakerStore;
  readonly actions: ActionLedger;
  /** Every process's share of each API's MDE quota (docs/decisions/0014-one-budget-across-processes.md). */
  readonly quota: QuotaLedger;
  /** Resolves when the store answers (health checks); StoreUnavailableError otherwise. */
  ping(): Promise<void>;
}

/**
 * The store could not be reached within the request deadline, refused the app's identity, or stayed
 * contended: defer and retry. The message never carries connection strings, keys or headers.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}
