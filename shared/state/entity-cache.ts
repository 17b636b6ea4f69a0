/**
 * The last version of entities this process read or wrote, by table key (partition and row), so a compare-and-set can
 * skip its read: a write conditional on the cached ETag either proves the copy current or fails
 * (412) and the caller reads. `null` is an entity known absent (an insert fails if it exists).
 * Holds at most `capacity` rows; the least recently stored go first.
 */
import type { StoredEntity } from './entities';

export class EntityCache {
  private readonly rows = new Map<string, StoredEntity | null>();

  constructor(private readonly capacity: number) {}

  /** The copy held under `key`, or undefined when none is. */
  get(key: string): StoredEntity | null | undefined {
    return this.rows.get(key);
  }

  set(key: string, entity: StoredEntity | null): void {
    this.rows.delete(key);
    this.rows.set(key, entity);
    if (this.rows.size > this.capacity) this.rows.delete(this.rows.keys().next().value as string);
  }

  forget(key: string): void {
    this.rows.delete(key);
  }

  get size(): number {
    return this.rows.size;
  }
}
