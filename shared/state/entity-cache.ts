/**
 * The last version of entities this process read or wrote, by table key (partition and row), so a compare-and-set can
 * skip its read: a write conditional on the cached ETag either proves the copy current or fails
 * (412) and the caller reads. `null` is an entity known absent (an insert fails if it exists).
 * Holds at most `capacity` rows; the least recently stored go first. A copy may also hold changes not
 * written yet (entity-store.ts, write-behind): the ETag is then still the stored version's, the
 * changes go out with the key's next write, and such a copy is never evicted, so at most half the
 * rows may hold one.
 */
import type { StoredEntity } from './entities';

export class EntityCache {
  private readonly rows = new Map<string, StoredEntity | null>();
  private readonly unwritten = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** The copy held under `key`, or undefined when none is. */
  get(key: string): StoredEntity | null | undefined {
    return this.rows.get(key);
  }

  /** Whether the copy under `key` holds changes the store does not have yet. */
  isUnwritten(key: string): boolean {
    return this.unwritten.has(key);
  }

  /** Whether another copy may hold unwritten changes. */
  get roomForUnwritten(): boolean {
    return this.unwritten.size < Math.floor(this.capacity / 2);
  }

  set(key: string, entity: StoredEntity | null, unwritten = false): void {
    this.rows.delete(key);
    this.rows.set(key, entity);
    if (unwritten) this.unwritten.add(key);
    else this.unwritten.delete(key);
    if (this.rows.size <= this.capacity) return;
    for (const oldest of this.rows.keys())
      if (!this.unwritten.has(oldest)) {
        this.rows.delete(oldest);
        return;
      }
  }

  forget(key: string): void {
    this.rows.delete(key);
    this.unwritten.delete(key);
  }

  get size(): number {
    return this.rows.size;
  }
}
