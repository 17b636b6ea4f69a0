/**
 * The last version of entities this process read or wrote, by row key, so a compare-and-set can
 * skip its read: a write conditional on the cached ETag either proves the copy current or fails
 * (412) and the caller reads. `null` is an entity known absent (an insert fails if it exists).
 * Holds at most `capacity` rows; the least recently stored go first.
 */
import type { StoredEntity } from './entities';

export class EntityCache {
  private readonly rows = new Map<string, StoredEntity | null>();

  constructor(private readonly capacity: number) {}

  /** The copy of `rowKey`, or undefined when none is held. */
  get(rowKey: string): StoredEntity | null | undefined {
    return this.rows.get(rowKey);
  }

  set(rowKey: string, entity: StoredEntity | null): void {
    this.rows.delete(rowKey);
    this.rows.set(rowKey, entity);
    if (this.rows.size > this.capacity) this.rows.delete(this.rows.keys().next().value as string);
  }

  forget(rowKey: string): void {
    this.rows.delete(rowKey);
  }

  get size(): number {
    return this.rows.size;
  }
}
