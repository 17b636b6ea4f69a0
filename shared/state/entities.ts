/**
 * What an adapter provides: tables of flat entities addressed by partition and row key, with an ETag
 * per entity for optimistic concurrency. The semantics of the register, breaker and ledgers are
 * written once on top of this (entity-store.ts), so both adapters behave the same by construction.
 * The limits are Azure Table Storage's, enforced for every adapter so a local run fails the way
 * Azure would.
 */

export type EntityValue = string | number | boolean;
export type Entity = Record<string, EntityValue>;

export interface StoredEntity {
  partitionKey: string;
  rowKey: string;
  properties: Entity;
  etag: string;
}

export interface EntityQuery {
  /** All partitions when absent. */
  partitionKey?: string;
  /** Properties that must equal these values. */
  equals?: Entity;
  /** Only entities after this key (partition, then row): the next page after the last one read. */
  after?: EntityKey;
  limit: number;
}

export interface EntityKey {
  partitionKey: string;
  rowKey: string;
}

/** An insert found the entity there, or a replace found another ETag (HTTP 409/412). */
export class VersionConflictError extends Error {
  constructor() {
    super('the entity changed since it was read');
    this.name = 'VersionConflictError';
  }
}

export interface EntityTable {
  get(partitionKey: string, rowKey: string): Promise<StoredEntity | null>;
  /** VersionConflictError when the entity exists. Answers the new ETag, when the service gave one. */
  insert(partitionKey: string, rowKey: string, properties: Entity): Promise<string | null>;
  /**
   * Replaces the whole entity if its ETag is still `etag`; VersionConflictError otherwise. Answers
   * the new ETag, when the service gave one.
   */
  replace(partitionKey: string, rowKey: string, properties: Entity, etag: string): Promise<string | null>;
  /**
   * Deletes the entity if its ETag is still `etag`; VersionConflictError if it changed. An entity
   * already gone is no error: someone else deleted it first.
   */
  delete(partitionKey: string, rowKey: string, etag: string): Promise<void>;
  /** Inserts or replaces every row in one transaction (same partition; at most 100 rows). */
  upsertBatch(partitionKey: string, rows: { rowKey: string; properties: Entity }[]): Promise<void>;
  /** Matching entities in partition then row key order, at most `limit`. */
  query(query: EntityQuery): Promise<StoredEntity[]>;
}

export type StateTableName = 'register' | 'open' | 'breaker' | 'actions' | 'quota' | 'drift' | 'approvals';

export type EntityTables = Record<StateTableName, EntityTable>;

export function stateTables(make: (name: StateTableName) => EntityTable): EntityTables {
  return {
    register: make('register'),
    open: make('open'),
    breaker: make('breaker'),
    actions: make('actions'),
    quota: make('quota'),
    drift: make('drift'),
    approvals: make('approvals'),
  };
}

/** Table Storage: 64 KiB per string property, counted in UTF-16 (2 bytes a unit). */
export const MAX_STRING_UNITS = 32 * 1024;
/** Table Storage: 1 MiB per entity; kept well below so key and system properties always fit. */
const MAX_ENTITY_BYTES = 900 * 1024;
/** Table Storage: 1 KiB per key (UTF-16); ours are far shorter. */
const MAX_KEY_UNITS = 256;
/** Forbidden in keys by Table Storage: / \ # ? and control characters (\p{Cc}: U+0000-001F, U+007F-009F). */
const UNSAFE_KEY = /[/\\#?\p{Cc}]/u;

/** Throws when `value` cannot be a PartitionKey or RowKey. Checked before any call. */
export function assertSafeKey(value: string, what: string): void {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_KEY_UNITS ||
    UNSAFE_KEY.test(value)
  )
    throw new Error(
      `${what} is not usable as a storage key: 1 to ${MAX_KEY_UNITS} characters without / \\ # ? or control characters`,
    );
}

/**
 * Throws when `properties` would exceed a Table Storage limit. Callers bound what they write; this is
 * the backstop that turns a bound gone wrong into a clear error instead of a 400 from the service.
 */
export function assertEntityFits(properties: Entity): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(properties)) {
    if (typeof value === 'string' && value.length > MAX_STRING_UNITS)
      throw new Error(
        `entity property ${name} has ${value.length} characters, over the ${MAX_STRING_UNITS} allowed`,
      );
    bytes += 8 + name.length * 2 + (typeof value === 'string' ? value.length * 2 + 4 : 8);
  }
  if (bytes > MAX_ENTITY_BYTES)
    throw new Error(`entity of ${bytes} bytes is over the ${MAX_ENTITY_BYTES} allowed`);
}
