/**
 * The state store over any `EntityTables`: every semantic rule lives here once, and the adapters
 * (memory.ts, table.ts) only store entities. Every update is read-modify-write under the entity's
 * ETag, retried a bounded number of times on a conflict, so two processes sharing the store never
 * lose each other's writes and never admit past the breaker's limit together.
 *
 * Layout (partition / row → properties):
 * - register: `device` / machine id → state, doc (the record without history), history
 * - open:     `device` / device key (hashed when unusable as a key) → requestId, holder, closed, doc;
 *             `machine` / machine id → requestId, holder, closed (a machine's pre-POST claim);
 *             `holder` / holder id → leaseUntil (each process's lease, claim.ts)
 * - breaker:  `breaker` / `blast-radius` → doc; `breaker` / `deployment-cap` → doc (the cap across
 *             tenants, docs/decisions/0035-a-deployment-wide-isolation-cap.md; the deployment's store's only)
 * - actions:  machine id / action id → requestId, type, status, open, adopted, computerDnsName,
 *             createdAt, recordedAt, deviceKey; and `request` / request id → machineId, actionId:
 *             the entry a request last recorded, so the worker finds its own with two point reads
 * - quota:    `quota` / `budget-` API name → pausedUntil, share0…shareN: every process's share of
 *             the API's budget ({holder, held, stamps}, dispatch/quota/budget-shares.ts)
 * - drift:    `report` / `latest` → doc (the latest reconciliation's report)
 * - approvals: `approval` / approval id → state, machineId, createdAt, doc (shared/approvals/)
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jitteredBackoffMs } from '../kernel/backoff';
import { type Clock, DAY_MS, systemClock } from '../kernel/clock';
import { KeyedLanes } from '../kernel/keyed-lanes';
import { truncate } from '../kernel/text';
import { HISTORY_LOOKBACK_DAYS, MDE_APIS } from '../mde/api';
import { isTerminal, MACHINE_ACTION_STATUSES, type MachineActionStatus } from '../mde/types';
import * as breakerSteps from './breaker-document';
import {
  BLAST_RADIUS_WORDS,
  type BreakerDocument,
  type BreakerWords,
  EMPTY_BREAKER,
} from './breaker-document';
import { type ClaimAnswer, type HolderLeases, isHeld, type MachineClaims } from './claim';
import {
  assertEntityFits,
  assertSafeKey,
  type Entity,
  type EntityTable,
  type EntityTables,
  MAX_STRING_UNITS,
  type StoredEntity,
  VersionConflictError,
} from './entities';
import { EntityCache } from './entity-cache';
import { type DocumentStep, GroupCommit } from './group-commit';
import { decodeStamps, encodeStamps } from './quota-stamps';
import { applyChange, HISTORY_CAP_MAX, machineKey } from './register-record';
import {
  ABSORBED_MAX,
  type ActionLedger,
  type ApprovalBook,
  type ApprovalRecord,
  adoptedAgain,
  type BreakerStore,
  type DriftLog,
  type IsolationRecord,
  type IsolationRegister,
  type LedgerEntry,
  type LedgerRecord,
  LIST_MAX,
  type OpenRequest,
  type OpenRequestIndex,
  type OpenRequestUpdateOptions,
  QUOTA_SHARES_MAX,
  type QuotaBudgetDocument,
  type QuotaLedger,
  type QuotaShare,
  type RegisterWrite,
  type StateStore,
  StoreUnavailableError,
} from './store';

export interface StateOptions {
  clock: Clock;
  /** Transitions kept per device. */
  historyCap: number;
  /** Transitions older than this are dropped from a device's history. */
  historyRetentionMs: number;
  /** A breaker reservation neither committed nor released within this expires (its process died). */
  reservationTtlMs: number;
  /** Read-modify-write attempts on ETag conflicts before StoreUnavailableError. */
  conflictAttempts: number;
}

export const DEFAULT_STATE_OPTIONS: StateOptions = {
  clock: systemClock,
  historyCap: 20,
  historyRetentionMs: 90 * DAY_MS,
  // Longer than an isolate POST with its retries can take; short enough that a dead process's
  // reservation frees its slot within minutes.
  reservationTtlMs: 5 * 60_000,
  conflictAttempts: 12,
};

const REGISTER_PARTITION = 'device';
const BREAKER_KEY = { partition: 'breaker', row: 'blast-radius' } as const;
const DEPLOYMENT_CAP_KEY = { partition: 'breaker', row: 'deployment-cap' } as const;
/** The cap's refusals name the setting an operator looks up. */
const DEPLOYMENT_CAP_WORDS: BreakerWords = {
  open: 'deployment-wide isolation cap (MDE_DEPLOYMENT_MAX_ISOLATIONS) reached',
  full: 'deployment-wide isolation cap (MDE_DEPLOYMENT_MAX_ISOLATIONS) full',
};
const QUOTA_PARTITION = 'quota';
const DRIFT_KEY = { partition: 'report', row: 'latest' } as const;
const APPROVAL_PARTITION = 'approval';
/** Not the API name alone: rows of that name hold the single-process checkpoints of earlier versions. */
const QUOTA_ROW_PREFIX = 'budget-';
const OPEN_PARTITION = 'device';
const MACHINE_CLAIM_PARTITION = 'machine';
const HOLDER_PARTITION = 'holder';
/** Machine claims kept in memory per process (one row each, taken and released in a few seconds). */
const MACHINE_CLAIM_CACHE_ROWS = 1_024;
/** Device keys longer than this (or with characters keys may not hold) are stored by their hash. */
const OPEN_KEY_MAX = 200;
/**
 * Open-request entries kept in memory per process: a few KB each (ABSORBED_MAX alerts with bounded
 * names), so tens of MB at most.
 */
const OPEN_CACHE_ROWS = 4_096;
/**
 * Register records and ledger entries kept in memory per process: a request writes its device's
 * record and its action's entry a few times over its life, each a conditional write on the copy this
 * process last wrote. As many as the open-request entries: with 1,024, a 2,000-device storm whose
 * tracking lagged found the copy gone for most devices and read it again before the last writes
 * (`storm-store`: 0.8 register and 0.8 ledger reads per isolated device). A few KB each (a record's
 * bounded history), so tens of MB at most.
 */
const RECORD_CACHE_ROWS = 4_096;
/**
 * How long a machine's ledger listing (`forMachine`, read before each POST) stands in for the query
 * that prunes it at the write that follows: seconds later, in the same request.
 */
const LISTING_REUSE_MS = 60_000;
/** Not a machine id (those are 40 hex), so it never mixes with a machine's entries. */
const REQUEST_INDEX_PARTITION = 'request';
/** An ISO 8601 time is 24 characters; anything longer is not one. */
const TIME_MAX = 40;
/** A DNS name is at most 253 characters. */
const NAME_MAX = 256;

export class EntityStateStore implements StateStore {
  readonly register: IsolationRegister;
  readonly openRequests: OpenRequestIndex;
  readonly machineClaims: MachineClaims;
  readonly holders: HolderLeases;
  readonly breaker: BreakerStore;
  readonly deploymentCap: BreakerStore;
  readonly actions: ActionLedger;
  readonly quota: QuotaLedger;
  readonly drift: DriftLog;
  readonly approvals: ApprovalBook;
  private readonly options: StateOptions;
  /** What this process last read or wrote of each holder's lease (epoch ms). */
  private readonly holderLeases = new Map<string, number>();
  /** Each machine's latest ledger listing (`actions.forMachine`), for the writes that follow it. */
  private readonly listings = new RecentListings(RECORD_CACHE_ROWS);

  constructor(
    private readonly tables: EntityTables,
    options: Partial<StateOptions> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...DEFAULT_STATE_OPTIONS, ...options };
    const { historyCap } = this.options;
    if (!(Number.isInteger(historyCap) && historyCap >= 1 && historyCap <= HISTORY_CAP_MAX))
      throw new Error(`historyCap must be a whole number from 1 to ${HISTORY_CAP_MAX}`);
    this.register = this.createRegister();
    this.holders = this.createHolderLeases();
    this.openRequests = this.createOpenRequestIndex();
    this.machineClaims = this.createMachineClaims();
    this.breaker = this.createBreaker(BREAKER_KEY, BLAST_RADIUS_WORDS);
    this.deploymentCap = this.createBreaker(DEPLOYMENT_CAP_KEY, DEPLOYMENT_CAP_WORDS);
    this.actions = this.createActionLedger();
    this.quota = this.createQuotaLedger();
    this.drift = this.createDriftLog();
    this.approvals = this.createApprovalBook();
  }

  async ping(): Promise<void> {
    await this.tables.breaker.get(BREAKER_KEY.partition, BREAKER_KEY.row);
  }

  private now(): number {
    return this.options.clock.now();
  }

  /**
   * Read-modify-write under the entity's ETag. With `cache`, the first try starts from the copy this
   * process last read or wrote, if it holds one, and saves the read: the conditional write proves the
   * copy current, or fails and the step runs again on what a read finds. An answer from a cached copy
   * that writes nothing proves nothing, so it is decided again on a read. `guess: 'new'` starts from
   * no entity when no copy is held, for rows that are almost always new: the first try is a
   * conditional insert, one transaction where a read and an insert are two, and a conflict (the row
   * exists) reads and tries again. A `CopyTrust` says which answers taken from the copy stand as they
   * are (OpenRequestUpdateOptions): one that writes nothing, for callers to whom it costs nothing when
   * stale; one that writes, kept on the copy and written with the key's next write, for entries no
   * other process writes meanwhile. A copy holding such changes is never dropped for a read: an answer
   * that does not stand on it writes the copy, which proves it or fails as any stale copy does.
   */
  private async mutate<T>(
    table: EntityTable,
    partitionKey: string,
    rowKey: string,
    step: (current: Entity | null) => Step<T> | Promise<Step<T>>,
    cache?: EntityCache,
    guess?: 'new' | CopyTrust<T>,
  ): Promise<T> {
    const cacheKey = cacheKeyOf(partitionKey, rowKey);
    const held = cache?.get(cacheKey);
    const trust = typeof guess === 'object' ? guess : undefined;
    let copy = held === undefined && guess === 'new' ? null : held;
    for (let attempt = 1; ; ) {
      const cached = copy !== undefined;
      const unwritten = cached && cache?.isUnwritten(cacheKey) === true;
      const current = cached ? copy : await table.get(partitionKey, rowKey);
      copy = undefined;
      const { next, result } = await step(current?.properties ?? null);
      if (next === null && (!cached || trust?.unwritten?.(result) === true)) {
        cache?.set(cacheKey, current ?? null, unwritten);
        return result;
      }
      if (next === null && !unwritten) continue;
      // What is written: the answer's entity, or the unwritten copy that proves an answer writing nothing.
      const written = next ?? (current?.properties as Entity);
      assertEntityFits(written);
      if (next !== null && current && cached && trust?.behind?.(result) === true && cache?.roomForUnwritten) {
        cache.set(cacheKey, { partitionKey, rowKey, properties: next, etag: current.etag }, true);
        return result;
      }
      try {
        const etag = current
          ? await table.replace(partitionKey, rowKey, written, current.etag)
          : await table.insert(partitionKey, rowKey, written);
        if (etag === null) cache?.forget(cacheKey);
        else cache?.set(cacheKey, { partitionKey, rowKey, properties: written, etag });
        return result;
      } catch (error) {
        const conflict = error instanceof VersionConflictError;
        // Whether a write that failed otherwise took effect is unknown: the copy is not kept, unless
        // it holds changes not written yet, which a retry from it writes or meets as a conflict. On a
        // conflict those are lost: another process wrote the entry (decision 0034).
        if (conflict || !unwritten) cache?.forget(cacheKey);
        if (!conflict) throw error;
        // A stale copy is not contention: only a conflict after a read counts as an attempt.
        if (cached) continue;
        if (attempt >= this.options.conflictAttempts)
          throw new StoreUnavailableError(
            `state store contended: ${partitionKey}/${rowKey} changed under ${attempt} updates in a row`,
          );
        attempt += 1;
        await sleep(jitteredBackoffMs(attempt - 1, 5, 250, this.random));
      }
    }
  }

  private createRegister(): IsolationRegister {
    const table = this.tables.register;
    const cache = new EntityCache(RECORD_CACHE_ROWS);
    // A machine whose ledger was listed empty a moment ago (before a POST, step 8) has had no action
    // of this app for longer than the ledger keeps one, almost always never: its record, written after
    // the POST, starts as a conditional insert, one transaction where a read and an insert are two. A
    // record there after all (an isolation older than the ledger) conflicts, is read and written over.
    const probablyNew = (key: string) =>
      this.listings.listedEmpty(key, this.now() - LISTING_REUSE_MS) ? ('new' as const) : undefined;
    return {
      get: async (machineId, { fromCopy = false } = {}) => {
        const key = machineKey(machineId);
        const copy = fromCopy ? cache.get(cacheKeyOf(REGISTER_PARTITION, key)) : undefined;
        const entity = copy !== undefined ? copy : await table.get(REGISTER_PARTITION, key);
        return entity ? recordFrom(entity.properties) : null;
      },
      record: async (change, options = {}) => {
        const key = machineKey(change.machineId);
        return this.mutate<RegisterWrite>(
          table,
          REGISTER_PARTITION,
          key,
          (current) => {
            const previous = current ? recordFrom(current) : null;
            const otherRequest = options.sameRequest === true && previous?.requestId !== change.requestId;
            if (otherRequest || (options.onlyFrom && !options.onlyFrom.includes(previous?.state ?? null)))
              return { next: null, result: { applied: false, record: previous } };
            const record = applyChange(previous, change, this.now(), this.options);
            return { next: recordEntity(record), result: { applied: true, record } };
          },
          cache,
          probablyNew(key),
        );
      },
      list: async (query = {}) => {
        const entities = await table.query({
          partitionKey: REGISTER_PARTITION,
          equals: query.state ? { state: query.state } : undefined,
          after:
            query.after === undefined
              ? undefined
              : { partitionKey: REGISTER_PARTITION, rowKey: machineKey(query.after) },
          limit: pageSize(query.limit),
        });
        return entities.map((e) => recordFrom(e.properties));
      },
    };
  }

  private createOpenRequestIndex(): OpenRequestIndex {
    const table = this.tables.open;
    // A storm's alerts about one device update its entry again and again: each absorbed alert costs
    // one conditional write instead of a read and a write, or none when the entry is this process's
    // alone (writeBehind, decision 0034): it goes out with the entry's close.
    const cache = new EntityCache(OPEN_CACHE_ROWS);
    // One key's updates from this process go one after the other, each from the copy the one before
    // left: intake opening a key and the worker claiming it at once would both insert, and the one
    // refused would read.
    const lanes = new KeyedLanes();
    return {
      get: async (deviceKey) => {
        const entity = await table.get(OPEN_PARTITION, openKey(deviceKey));
        return entity ? this.openRequestFrom(entity.properties) : null;
      },
      update: (deviceKey, step, options = {}) =>
        lanes.run([openKey(deviceKey)], () =>
          this.mutate(
            table,
            OPEN_PARTITION,
            openKey(deviceKey),
            async (current) => {
              const { next, result } = step(current ? await this.openRequestFrom(current) : null);
              return { next: next && openRequestEntity(next), result };
            },
            cache,
            copyTrust(options),
          ),
        ),
      unclosed: async (limit, after) => {
        const entities = await table.query({
          partitionKey: OPEN_PARTITION,
          equals: { closed: false },
          after: after === undefined ? undefined : { partitionKey: OPEN_PARTITION, rowKey: openKey(after) },
          limit: pageSize(limit),
        });
        return Promise.all(entities.map((e) => this.openRequestFrom(e.properties)));
      },
    };
  }

  /** An entry as read, with how long its holder is known to hold it. */
  private async openRequestFrom(properties: Entity): Promise<OpenRequest> {
    const doc = JSON.parse(String(properties.doc)) as Omit<OpenRequest, 'heldUntil'>;
    const { requestBody } = properties;
    return {
      ...doc,
      holder: String(doc.holder ?? ''),
      heldUntil: await this.heldUntil(properties),
      ...(typeof requestBody === 'string' && { requestBody }),
    };
  }

  /** An open claim's holder lease; a closed claim, or one written before claims had holders, holds nothing. */
  private heldUntil(properties: Entity): Promise<number> {
    const holder = properties.holder;
    if (properties.closed === true || typeof holder !== 'string' || holder === '') return Promise.resolve(0);
    return this.holders.liveUntil(holder);
  }

  private createHolderLeases(): HolderLeases {
    const table = this.tables.open;
    const write = (holder: string, until: number) => {
      assertSafeKey(holder, 'holder id');
      return this.mutate(table, HOLDER_PARTITION, holder, () => ({
        next: { leaseUntil: until },
        result: undefined,
      })).then(() => {
        this.holderLeases.set(holder, until);
      });
    };
    return {
      renew: write,
      end: (holder) => write(holder, 0),
      liveUntil: async (holder) => {
        // A running holder's lease only grows: what was read stays true until it runs out.
        const known = this.holderLeases.get(holder);
        if (known !== undefined && known > this.now()) return known;
        if (!isUsableKey(holder)) return 0;
        const entity = await table.get(HOLDER_PARTITION, holder);
        const until = Number(entity?.properties.leaseUntil ?? 0) || 0;
        this.holderLeases.set(holder, until);
        return until;
      },
    };
  }

  private createMachineClaims(): MachineClaims {
    const table = this.tables.open;
    // A machine is taken and released by the same process a few seconds apart: each is one
    // conditional write on the copy this process last wrote. A storm takes most machines for the
    // first time: a take with no copy starts as a conditional insert, a read saved per isolation.
    const cache = new EntityCache(MACHINE_CLAIM_CACHE_ROWS);
    const claimAt = (
      machineId: string,
      step: (current: Entity | null) => Promise<Step<ClaimAnswer>>,
      guess?: 'new',
    ) => this.mutate(table, MACHINE_CLAIM_PARTITION, machineKey(machineId), step, cache, guess);
    return {
      take: (machineId, requestId, holder) => {
        assertSafeKey(requestId, 'request id');
        return claimAt(
          machineId,
          async (current) => {
            const claim = current && {
              requestId: String(current.requestId),
              holder: String(current.holder),
              closedAt: current.closed === true ? String(current.closedAt) : null,
              heldUntil: await this.heldUntil(current),
            };
            // The same request's claim is taken back only by its own holder (a retry in that process):
            // a copy of the request delivered to another process meanwhile waits like any other.
            if (
              claim &&
              isHeld(claim, this.now()) &&
              (claim.requestId !== requestId || claim.holder !== holder)
            )
              return { next: null, result: { taken: false, by: claim } };
            return { next: { requestId, holder, closed: false, closedAt: '' }, result: { taken: true } };
          },
          'new',
        );
      },
      release: async (machineId, requestId, holder) => {
        await claimAt(machineId, async (current) =>
          current?.requestId === requestId && current.holder === holder && current.closed !== true
            ? {
                next: { ...current, closed: true, closedAt: new Date(this.now()).toISOString() },
                result: { taken: true },
              }
            : { next: null, result: { taken: true } },
        );
      },
    };
  }

  private createBreaker(key: { partition: string; row: string }, words: BreakerWords): BreakerStore {
    const table = this.tables.breaker;
    const { reservationTtlMs } = this.options;
    // Each group's write starts from the document this process last wrote: one conditional write,
    // unless another process wrote since.
    const cache = new EntityCache(1);
    const writes = new GroupCommit<BreakerDocument>((steps) =>
      this.mutate(
        table,
        key.partition,
        key.row,
        (current) => {
          const { doc, results } = steps(breakerFrom(current), this.now());
          const next = breakerEntity(doc);
          // A refusal that changes nothing writes nothing: a storm of refused requests does not
          // contend for the one breaker entity.
          const same = next.doc === current?.doc && next.counted === (current?.counted ?? '[]');
          return { next: same ? null : next, result: results };
        },
        cache,
      ),
    );
    const update = <T>(step: BreakerStep<T>) => writes.apply(step);
    return {
      reserve: (request, limits) =>
        update((doc, now) => {
          const { doc: next, admission } = breakerSteps.reserve(
            doc,
            now,
            request,
            limits,
            reservationTtlMs,
            words,
          );
          return { doc: next, result: admission };
        }),
      commit: async (reservationId, actionId) => {
        assertSafeKey(actionId, 'action id');
        return update((doc, now) => ({
          doc: breakerSteps.commit(doc, now, { reservationId, actionId }, reservationTtlMs),
          result: undefined,
        }));
      },
      release: (id) =>
        update((doc, now) => ({
          doc: breakerSteps.release(doc, now, id, reservationTtlMs),
          result: undefined,
        })),
      trip: (reason) =>
        update((doc, now) => ({ doc: breakerSteps.trip(doc, now, reason), result: undefined })),
      reset: (by, reason) =>
        update((doc, now) => ({ doc: breakerSteps.reset(doc, now, by, reason), result: undefined })),
      status: async (limits) => {
        const entity = await table.get(key.partition, key.row);
        return breakerSteps.status(
          breakerFrom(entity?.properties ?? null),
          this.now(),
          limits,
          reservationTtlMs,
        );
      },
    };
  }

  private createActionLedger(): ActionLedger {
    const table = this.tables.actions;
    // Entries only: an index row is written once per action and never updated from here.
    const cache = new EntityCache(RECORD_CACHE_ROWS);
    const { listings } = this;
    return {
      record: async (entry) => {
        const machineId = machineKey(entry.machineId);
        assertSafeKey(entry.actionId, 'action id');
        assertSafeKey(entry.requestId, 'request id');
        assertStatus(entry.status);
        // Both rows are new for a new action: each is one conditional insert, and only an action
        // recorded again (a status, an adoption) reads what is there.
        await this.mutate(
          table,
          machineId,
          entry.actionId,
          (current) => ({
            next: ledgerEntity({
              ...entry,
              machineId,
              adopted: adoptedAgain(current === null ? undefined : current.adopted === true, entry.adopted),
            }),
            result: undefined,
          }),
          cache,
          'new',
        );
        // After the entry: an index without its entry would point at nothing.
        await this.mutate(
          table,
          REQUEST_INDEX_PARTITION,
          entry.requestId,
          () => ({ next: { machineId, actionId: entry.actionId }, result: undefined }),
          undefined,
          'new',
        );
        await this.pruneLedger(machineId, listings.take(machineId, this.now() - LISTING_REUSE_MS));
      },
      setStatus: async (machineId, actionId, status) => {
        assertSafeKey(actionId, 'action id');
        assertStatus(status);
        return this.mutate(
          table,
          machineKey(machineId),
          actionId,
          (current) => ({
            // Once closed (terminal or abandoned) an entry stays closed: a late status opens nothing.
            next: current && { ...current, status, open: current.open === true && !isTerminal(status) },
            result: undefined,
          }),
          cache,
        );
      },
      abandon: async (machineId, actionId) => {
        assertSafeKey(actionId, 'action id');
        return this.mutate(
          table,
          machineKey(machineId),
          actionId,
          (current) => ({
            next: current && current.open === true ? { ...current, open: false } : null,
            result: undefined,
          }),
          cache,
        );
      },
      forMachine: async (machineId) => {
        const entities = await table.query({ partitionKey: machineKey(machineId), limit: LIST_MAX });
        // A complete listing only: one cut at LIST_MAX may leave out what a prune must find.
        if (entities.length < LIST_MAX) listings.put(machineKey(machineId), this.now(), entities);
        return entities.map((e) => ledgerFrom(e.partitionKey, e.rowKey, e.properties)).sort(newestFirst);
      },
      forRequest: async (requestId) => {
        assertSafeKey(requestId, 'request id');
        const index = await table.get(REQUEST_INDEX_PARTITION, requestId);
        if (!index) return null;
        const { machineId, actionId } = index.properties;
        const entity = await table.get(String(machineId), String(actionId));
        const entry = entity && ledgerFrom(entity.partitionKey, entity.rowKey, entity.properties);
        // Another request may have adopted the action since, and follows it now.
        return entry?.requestId === requestId ? entry : null;
      },
      open: async ({ after, limit } = {}) => {
        const entities = await table.query({
          equals: { open: true },
          after: after && { partitionKey: machineKey(after.machineId), rowKey: after.actionId },
          limit: pageSize(limit),
        });
        return entities.map((e) => ledgerFrom(e.partitionKey, e.rowKey, e.properties));
      },
    };
  }

  /**
   * Deletes the machine's closed entries recorded longer ago than the register keeps history, and
   * the request index rows that point at them. Each delete is conditional: an entry written since
   * stays. Housekeeping after the write that asked for it: with the store unavailable, the entries
   * wait for the machine's next write. `listed`, the machine's entries as this process listed them a
   * moment ago, saves the query: an entry it lacks was written since, too new to prune, and one that
   * changed since is kept by the conditional delete.
   */
  private async pruneLedger(machineId: string, listed: StoredEntity[] | null): Promise<void> {
    const table = this.tables.actions;
    const oldest = this.now() - Math.max(this.options.historyRetentionMs, LEDGER_PROOF_MS);
    try {
      const closed =
        listed?.filter((e) => e.properties.open === false) ??
        (await table.query({ partitionKey: machineId, equals: { open: false }, limit: LIST_MAX }));
      const ended = closed.filter((e) => Date.parse(String(e.properties.recordedAt)) < oldest);
      for (const entity of ended) {
        await deleteIfUnchanged(table, entity);
        const index = await table.get(REQUEST_INDEX_PARTITION, String(entity.properties.requestId));
        if (index?.properties.machineId === machineId && index.properties.actionId === entity.rowKey)
          await deleteIfUnchanged(table, index);
      }
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
  }

  private createApprovalBook(): ApprovalBook {
    const table = this.tables.approvals;
    const fromEntity = (properties: Entity) => JSON.parse(String(properties.doc)) as ApprovalRecord;
    const toEntity = (record: ApprovalRecord): Entity => ({
      state: record.state,
      machineId: record.machineId,
      createdAt: record.createdAt,
      doc: JSON.stringify(record),
    });
    return {
      get: async (id) => {
        assertSafeKey(id, 'approval id');
        const entity = await table.get(APPROVAL_PARTITION, id);
        return entity ? fromEntity(entity.properties) : null;
      },
      update: (id, step) => {
        assertSafeKey(id, 'approval id');
        return this.mutate(table, APPROVAL_PARTITION, id, (current) => {
          const { next, result } = step(current ? fromEntity(current) : null);
          return { next: next && toEntity(next), result };
        });
      },
      pendingFor: async (machineId) => {
        const [found] = await table.query({
          partitionKey: APPROVAL_PARTITION,
          equals: { machineId: machineKey(machineId), state: 'pending' },
          limit: 1,
        });
        return found ? fromEntity(found.properties) : null;
      },
      list: async (query = {}) => {
        const entities = await table.query({
          partitionKey: APPROVAL_PARTITION,
          equals: query.state ? { state: query.state } : undefined,
          limit: LIST_MAX,
        });
        // Ids are random: newest first is sorted here, over a bounded read.
        return entities
          .map((e) => fromEntity(e.properties))
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
          .slice(0, pageSize(query.limit));
      },
    };
  }

  private createDriftLog(): DriftLog {
    const table = this.tables.drift;
    return {
      save: (report) =>
        this.mutate(table, DRIFT_KEY.partition, DRIFT_KEY.row, () => ({
          next: { doc: report },
          result: undefined,
        })),
      latest: async () => {
        const entity = await table.get(DRIFT_KEY.partition, DRIFT_KEY.row);
        return typeof entity?.properties.doc === 'string' ? entity.properties.doc : null;
      },
    };
  }

  private createQuotaLedger(): QuotaLedger {
    const table = this.tables.quota;
    // A busy process syncs its share every few calls: each sync is one conditional write on the copy
    // it last wrote, unless another process wrote since.
    const cache = new EntityCache(MDE_APIS.length);
    return {
      update: async (api, step) => {
        if (!MDE_APIS.includes(api))
          throw new Error(`unknown MDE API "${truncate(api, 40)}" in the quota ledger`);
        return this.mutate(
          table,
          QUOTA_PARTITION,
          `${QUOTA_ROW_PREFIX}${api}`,
          async (current) => {
            const { next, result } = await step(quotaFrom(current));
            return { next: next && quotaEntity(next), result };
          },
          cache,
        );
      },
    };
  }
}

/** Characters of one share's stamps: every share of a full document fits one entity. */
const SHARE_STAMPS_MAX = Math.floor((MAX_STRING_UNITS * 12) / QUOTA_SHARES_MAX);

function quotaEntity(doc: QuotaBudgetDocument): Entity {
  if (doc.shares.length > QUOTA_SHARES_MAX)
    throw new Error(`${doc.shares.length} quota shares, over the ${QUOTA_SHARES_MAX} allowed`);
  const entity: Entity = { pausedUntil: doc.pausedUntil };
  doc.shares.forEach((share, index) => {
    assertSafeKey(share.holder, 'holder id');
    entity[`share${index}`] = JSON.stringify({
      holder: share.holder,
      held: share.held,
      stamps: encodeStamps(share.stamps, SHARE_STAMPS_MAX),
    });
  });
  return entity;
}

function quotaFrom(properties: Entity | null): QuotaBudgetDocument {
  if (!properties) return { shares: [], pausedUntil: 0 };
  const shares: QuotaShare[] = [];
  for (let index = 0; index < QUOTA_SHARES_MAX; index += 1) {
    const text = properties[`share${index}`];
    if (typeof text !== 'string') break;
    const share = JSON.parse(text) as { holder?: unknown; held?: unknown; stamps?: unknown };
    const held = Number(share.held);
    if (
      typeof share.holder !== 'string' ||
      !Number.isInteger(held) ||
      held < 0 ||
      typeof share.stamps !== 'string'
    )
      throw new Error('quota share is corrupt');
    shares.push({ holder: share.holder, held, stamps: decodeStamps(share.stamps) });
  }
  return { shares, pausedUntil: Number(properties.pausedUntil ?? 0) || 0 };
}

/**
 * An entry with `adopted === false` proves this app posted its action, and is the only proof when the
 * app's identity is unknown (dispatch/steps/ownership.ts): it outlives every read of MDE's history that
 * may still list the action, with a day for MDE's clock, which stamps the action, being ahead of ours.
 */
const LEDGER_PROOF_MS = (HISTORY_LOOKBACK_DAYS + 1) * DAY_MS;

/** Deletes `entity` unless it changed since it was read (then it is no longer what was judged). */
async function deleteIfUnchanged(table: EntityTable, entity: StoredEntity): Promise<void> {
  try {
    await table.delete(entity.partitionKey, entity.rowKey, entity.etag);
  } catch (error) {
    if (!(error instanceof VersionConflictError)) throw error;
  }
}

type Step<T> = { next: Entity | null; result: T };

/** Where a row's copy is kept in an EntityCache. */
function cacheKeyOf(partitionKey: string, rowKey: string): string {
  return `${partitionKey}\u0000${rowKey}`;
}

/** Which answers taken from a cached copy stand without a read (`mutate`). */
interface CopyTrust<T> {
  /** An answer that writes nothing. */
  unwritten?(result: T): boolean;
  /** An answer that writes, kept on the copy until the key's next write. */
  behind?(result: T): boolean;
}

function copyTrust<T>({ unwrittenFromCopy, writeBehind }: OpenRequestUpdateOptions<T>): CopyTrust<T> {
  return {
    unwritten: typeof unwrittenFromCopy === 'function' ? unwrittenFromCopy : () => unwrittenFromCopy === true,
    ...(writeBehind && { behind: writeBehind }),
  };
}

/**
 * Each machine's latest ledger listing and when it was read, for one prune and the register's guess
 * that the machine has no record; the oldest go first.
 */
class RecentListings {
  private readonly listings = new Map<string, { at: number; entities: StoredEntity[] }>();

  constructor(private readonly capacity: number) {}

  put(machineId: string, at: number, entities: StoredEntity[]): void {
    this.listings.delete(machineId);
    this.listings.set(machineId, { at, entities });
    if (this.listings.size > this.capacity) this.listings.delete(this.listings.keys().next().value as string);
  }

  /** The listing read at or after `since`, used once; null when there is none. */
  take(machineId: string, since: number): StoredEntity[] | null {
    const listing = this.listings.get(machineId);
    this.listings.delete(machineId);
    return listing !== undefined && listing.at >= since ? listing.entities : null;
  }

  /** Whether the listing read at or after `since` held no entry; it stays for `take`. */
  listedEmpty(machineId: string, since: number): boolean {
    const listing = this.listings.get(machineId);
    return listing !== undefined && listing.at >= since && listing.entities.length === 0;
  }
}

function isUsableKey(value: string): boolean {
  try {
    assertSafeKey(value, 'key');
    return true;
  } catch {
    return false;
  }
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return LIST_MAX;
  if (!Number.isInteger(limit) || limit < 1) throw new Error('limit must be a positive whole number');
  return Math.min(limit, LIST_MAX);
}

function recordEntity(record: IsolationRecord): Entity {
  const { history, ...doc } = record;
  return { state: record.state, doc: JSON.stringify(doc), history: JSON.stringify(history) };
}

function recordFrom(properties: Entity): IsolationRecord {
  return { ...JSON.parse(String(properties.doc)), history: JSON.parse(String(properties.history)) };
}

/** The counted action ids in a property of their own, so the document keeps its own 32 K characters. */
type BreakerStep<T> = DocumentStep<BreakerDocument, T>;

function breakerEntity(doc: BreakerDocument): Entity {
  const { counted, ...rest } = doc;
  return { doc: JSON.stringify(rest), counted: JSON.stringify(counted) };
}

function breakerFrom(properties: Entity | null): BreakerDocument {
  if (!properties) return EMPTY_BREAKER;
  return {
    ...EMPTY_BREAKER,
    ...JSON.parse(String(properties.doc)),
    counted: JSON.parse(String(properties.counted ?? '[]')),
  };
}

function assertStatus(status: string): asserts status is MachineActionStatus {
  if (!MACHINE_ACTION_STATUSES.includes(status as MachineActionStatus))
    throw new Error(`unknown machine action status "${truncate(status, 40)}"`);
}

function ledgerEntity(entry: LedgerEntry): Entity {
  return {
    requestId: entry.requestId,
    type: entry.type === 'Unisolate' ? 'Unisolate' : 'Isolate',
    status: entry.status,
    open: !isTerminal(entry.status),
    adopted: entry.adopted,
    computerDnsName: entry.computerDnsName === null ? '' : truncate(entry.computerDnsName, NAME_MAX),
    createdAt: truncate(entry.createdAt, TIME_MAX),
    recordedAt: truncate(entry.recordedAt, TIME_MAX),
    deviceKey: entry.deviceKey ?? '',
  };
}

function ledgerFrom(machineId: string, actionId: string, p: Entity): LedgerRecord {
  const status = String(p.status);
  assertStatus(status);
  return {
    machineId,
    actionId,
    requestId: String(p.requestId),
    type: p.type === 'Unisolate' ? 'Unisolate' : 'Isolate',
    status,
    adopted: p.adopted === true,
    computerDnsName:
      typeof p.computerDnsName === 'string' && p.computerDnsName !== '' ? p.computerDnsName : null,
    open: p.open === true,
    createdAt: String(p.createdAt),
    recordedAt: String(p.recordedAt),
    deviceKey: typeof p.deviceKey === 'string' && p.deviceKey !== '' ? p.deviceKey : null,
  };
}

function newestFirst(a: LedgerEntry, b: LedgerEntry): number {
  return (
    Date.parse(b.createdAt) - Date.parse(a.createdAt) || Date.parse(b.recordedAt) - Date.parse(a.recordedAt)
  );
}

/** The row key of a device key: itself when usable, else its SHA-256 (never cut: a cut key could name another device). */
function openKey(deviceKey: string): string {
  try {
    if (deviceKey.length <= OPEN_KEY_MAX) {
      assertSafeKey(deviceKey, 'device key');
      return deviceKey;
    }
  } catch {
    // Falls through to the hash.
  }
  return `sha256:${createHash('sha256').update(deviceKey).digest('hex')}`;
}

function openRequestEntity(entry: OpenRequest): Entity {
  const absorbed = entry.absorbed.slice(0, ABSORBED_MAX).map((a) => ({
    ...a,
    requestId: truncate(a.requestId, NAME_MAX),
    alertId: truncate(a.alertId, NAME_MAX),
    receivedAt: truncate(a.receivedAt, TIME_MAX),
  }));
  // How long the holder holds it is the holder's lease, read with the entry: never stored here.
  const {
    heldUntil: _read,
    requestBody,
    ...doc
  } = {
    ...entry,
    absorbed,
    absorbedCount: Math.max(entry.absorbedCount, absorbed.length),
  };
  return {
    requestId: entry.requestId,
    holder: entry.holder,
    closed: entry.closedAt !== null,
    doc: JSON.stringify(doc),
    // A request too large for one property is not kept: its entry is then closed, not resent.
    ...(requestBody !== undefined && requestBody.length <= MAX_STRING_UNITS && { requestBody }),
  };
}
