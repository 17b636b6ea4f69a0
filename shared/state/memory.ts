/**
 * The embedded store for one-off local runs (CLI, tests): the same semantics as the Table adapter
 * over tables held in this process, ETags included, so nothing it accepts would be refused in Azure.
 * It survives nothing: a restarted process starts empty.
 */
import {
  type Entity,
  type EntityKey,
  type EntityQuery,
  type EntityTable,
  type StoredEntity,
  stateTables,
  VersionConflictError,
} from './entities';
import { EntityStateStore, type StateOptions } from './entity-store';

export class MemoryEntityTable implements EntityTable {
  private readonly rows = new Map<string, StoredEntity>();
  private version = 0;

  async get(partitionKey: string, rowKey: string): Promise<StoredEntity | null> {
    await Promise.resolve();
    const row = this.rows.get(keyOf(partitionKey, rowKey));
    return row ? { ...row, properties: { ...row.properties } } : null;
  }

  async insert(partitionKey: string, rowKey: string, properties: Entity): Promise<string> {
    await Promise.resolve();
    if (this.rows.has(keyOf(partitionKey, rowKey))) throw new VersionConflictError();
    return this.put(partitionKey, rowKey, properties);
  }

  async replace(partitionKey: string, rowKey: string, properties: Entity, etag: string): Promise<string> {
    await Promise.resolve();
    if (this.rows.get(keyOf(partitionKey, rowKey))?.etag !== etag) throw new VersionConflictError();
    return this.put(partitionKey, rowKey, properties);
  }

  async delete(partitionKey: string, rowKey: string, etag: string): Promise<void> {
    await Promise.resolve();
    const row = this.rows.get(keyOf(partitionKey, rowKey));
    if (row === undefined) return;
    if (row.etag !== etag) throw new VersionConflictError();
    this.rows.delete(keyOf(partitionKey, rowKey));
  }

  async upsertBatch(partitionKey: string, rows: { rowKey: string; properties: Entity }[]): Promise<void> {
    await Promise.resolve();
    for (const row of rows) this.put(partitionKey, row.rowKey, row.properties);
  }

  async query(query: EntityQuery): Promise<StoredEntity[]> {
    await Promise.resolve();
    const equals = Object.entries(query.equals ?? {});
    return [...this.rows.values()]
      .filter(
        (row) =>
          (query.partitionKey === undefined || row.partitionKey === query.partitionKey) &&
          (query.after === undefined || compareKeys(row, query.after) > 0) &&
          equals.every(([name, value]) => row.properties[name] === value),
      )
      .sort(compareKeys)
      .slice(0, query.limit)
      .map((row) => ({ ...row, properties: { ...row.properties } }));
  }

  private put(partitionKey: string, rowKey: string, properties: Entity): string {
    this.version += 1;
    const etag = String(this.version);
    this.rows.set(keyOf(partitionKey, rowKey), { partitionKey, rowKey, properties: { ...properties }, etag });
    return etag;
  }
}

function keyOf(partitionKey: string, rowKey: string): string {
  return `${partitionKey}\u0000${rowKey}`;
}

/** Ordinal order, as Table Storage sorts keys. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKeys(a: EntityKey, b: EntityKey): number {
  return compare(a.partitionKey, b.partitionKey) || compare(a.rowKey, b.rowKey);
}

export class InMemoryStateStore extends EntityStateStore {
  constructor(options: Partial<StateOptions> = {}) {
    super(
      stateTables(() => new MemoryEntityTable()),
      options,
    );
  }
}
