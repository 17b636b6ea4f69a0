/**
 * The open-request entries' compare-and-set from a cached copy: two stores over the same tables
 * stand for two processes, and every table call is counted.
 */

import { type EntityTable, stateTables } from '../../shared/state/entities';
import { EntityCache } from '../../shared/state/entity-cache';
import { EntityStateStore } from '../../shared/state/entity-store';
import { MemoryEntityTable } from '../../shared/state/memory';
import type { OpenRequest } from '../../shared/state/store';

const KEY = 'fqdn:ws1.contoso.com';
const now = Date.parse('2026-12-02T10:00:00Z');

function entry(requestId: string, closed = false): OpenRequest {
  return {
    deviceKey: KEY,
    requestId,
    action: 'isolate',
    isolationType: 'Full',
    mode: 'enforce',
    manual: false,
    priority: 5,
    openedAt: new Date(now).toISOString(),
    // No holder: whether it holds is not what these tests are about, and costs no lease read.
    holder: '',
    heldUntil: 0,
    closedAt: closed ? new Date(now).toISOString() : null,
    absorbed: [],
    absorbedCount: 0,
  };
}

/** Table calls by kind, and a way to make the next write fail as an outage would. */
class CountingTable implements EntityTable {
  readonly calls: string[] = [];
  failNextWrite = false;
  constructor(private readonly inner: EntityTable) {}
  get(...args: Parameters<EntityTable['get']>) {
    this.calls.push('get');
    return this.inner.get(...args);
  }
  insert(...args: Parameters<EntityTable['insert']>) {
    this.calls.push('insert');
    return this.maybeFail() ?? this.inner.insert(...args);
  }
  replace(...args: Parameters<EntityTable['replace']>) {
    this.calls.push('replace');
    return this.maybeFail() ?? this.inner.replace(...args);
  }
  upsertBatch(...args: Parameters<EntityTable['upsertBatch']>) {
    return this.inner.upsertBatch(...args);
  }
  delete(...args: Parameters<EntityTable['delete']>) {
    return this.inner.delete(...args);
  }
  query(...args: Parameters<EntityTable['query']>) {
    return this.inner.query(...args);
  }
  private maybeFail(): Promise<never> | null {
    if (!this.failNextWrite) return null;
    this.failNextWrite = false;
    return Promise.reject(new Error('socket hang up'));
  }
}

function twoProcesses() {
  const shared = stateTables(() => new MemoryEntityTable());
  const open = new CountingTable(shared.open);
  const store = new EntityStateStore({ ...shared, open });
  const sibling = new EntityStateStore(shared);
  return { store, sibling, open };
}

/** Absorbs one alert into an open entry; answers 'free' without writing when the key holds nothing open. */
const absorb = (current: OpenRequest | null) =>
  current && current.closedAt === null
    ? { next: { ...current, absorbedCount: current.absorbedCount + 1 }, result: 'absorbed' }
    : { next: null, result: 'free' };

/** Waits behind an open entry (writes nothing); 'free' when nothing is open. */
const waitBehind = (current: OpenRequest | null) => ({
  next: null,
  result: current && current.closedAt === null ? 'waits' : 'free',
});

describe('open-request updates from the copy a process holds', () => {
  it('absorbs into an entry this process wrote with one conditional write and no read', async () => {
    const { store, open } = twoProcesses();
    await store.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    open.calls.length = 0;
    for (let n = 0; n < 5; n += 1) expect(await store.openRequests.update(KEY, absorb)).toBe('absorbed');
    expect(open.calls).toEqual(['replace', 'replace', 'replace', 'replace', 'replace']);
    expect((await store.openRequests.get(KEY))?.absorbedCount).toBe(5);
  });

  it('never absorbs into an entry another process closed since: the stale write fails and a read decides', async () => {
    const { store, sibling, open } = twoProcesses();
    await store.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    await sibling.openRequests.update(KEY, () => ({ next: entry('req-1', true), result: null }));
    open.calls.length = 0;
    expect(await store.openRequests.update(KEY, absorb)).toBe('free');
    expect(open.calls).toEqual(['replace', 'get']);
    expect((await sibling.openRequests.get(KEY))?.absorbedCount).toBe(0);
  });

  it('decides an answer that writes nothing on a read, not on the copy', async () => {
    const { store, sibling } = twoProcesses();
    await store.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    await sibling.openRequests.update(KEY, () => ({ next: entry('req-1', true), result: null }));
    expect(await store.openRequests.update(KEY, waitBehind)).toBe('free');
  });

  it('sees an entry another process opened where this one last found none', async () => {
    const { store, sibling } = twoProcesses();
    expect(await store.openRequests.update(KEY, absorb)).toBe('free');
    await sibling.openRequests.update(KEY, () => ({ next: entry('req-2'), result: null }));
    const opened = await store.openRequests.update(KEY, (current) =>
      current ? { next: null, result: current.requestId } : { next: entry('req-1'), result: 'req-1' },
    );
    expect(opened).toBe('req-2');
  });

  it('drops the copy when a write failed without an answer, and reads next time', async () => {
    const { store, open } = twoProcesses();
    await store.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    open.failNextWrite = true;
    await expect(store.openRequests.update(KEY, absorb)).rejects.toThrow();
    open.calls.length = 0;
    expect(await store.openRequests.update(KEY, absorb)).toBe('absorbed');
    expect(open.calls).toEqual(['get', 'replace']);
  });
});

/** Absorbs one alert, its answer kept on the copy (an entry this process alone writes). */
const BEHIND = { writeBehind: (result: string) => result === 'absorbed' };

describe("open-request updates written behind, with the entry's next write", () => {
  it('keeps absorptions on the copy and writes them all with the next write, in one conditional write', async () => {
    const { store, open } = twoProcesses();
    await store.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    open.calls.length = 0;
    for (let n = 0; n < 5; n += 1)
      expect(await store.openRequests.update(KEY, absorb, BEHIND)).toBe('absorbed');
    expect(open.calls).toEqual([]);
    expect((await store.openRequests.get(KEY))?.absorbedCount).toBe(0);
    open.calls.length = 0;
    const closed = await store.openRequests.update(KEY, (current) => ({
      next: current && { ...current, closedAt: new Date(now).toISOString() },
      result: current?.absorbedCount,
    }));
    expect(closed).toBe(5);
    expect(open.calls).toEqual(['replace']);
    expect(await store.openRequests.get(KEY)).toMatchObject({
      absorbedCount: 5,
      closedAt: expect.any(String),
    });
  });

  it('proves an answer that writes nothing by writing the copy, never by a read that would drop it', async () => {
    const { store, open } = twoProcesses();
    await store.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    await store.openRequests.update(KEY, absorb, BEHIND);
    open.calls.length = 0;
    expect(await store.openRequests.update(KEY, waitBehind)).toBe('waits');
    expect(open.calls).toEqual(['replace']);
    expect((await store.openRequests.get(KEY))?.absorbedCount).toBe(1);
  });

  it('writes through an answer that came from a read: no copy proved it', async () => {
    const { store, sibling, open } = twoProcesses();
    await sibling.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    expect(await store.openRequests.update(KEY, absorb, BEHIND)).toBe('absorbed');
    expect(open.calls).toEqual(['get', 'replace']);
    expect((await sibling.openRequests.get(KEY))?.absorbedCount).toBe(1);
  });

  it('keeps what the copy holds unwritten through an outage, and writes it on the next try', async () => {
    const { store, open } = twoProcesses();
    await store.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    await store.openRequests.update(KEY, absorb, BEHIND);
    open.failNextWrite = true;
    await expect(store.openRequests.update(KEY, absorb)).rejects.toThrow();
    open.calls.length = 0;
    expect(await store.openRequests.update(KEY, absorb)).toBe('absorbed');
    expect(open.calls).toEqual(['replace']);
    expect((await store.openRequests.get(KEY))?.absorbedCount).toBe(2);
  });

  it("loses what the copy held unwritten when another process wrote the entry, and decides on that process's entry", async () => {
    const { store, sibling, open } = twoProcesses();
    await store.openRequests.update(KEY, () => ({ next: entry('req-1'), result: null }));
    await store.openRequests.update(KEY, absorb, BEHIND);
    await sibling.openRequests.update(KEY, () => ({ next: entry('req-1', true), result: null }));
    open.calls.length = 0;
    expect(await store.openRequests.update(KEY, absorb)).toBe('free');
    expect(open.calls).toEqual(['replace', 'get']);
    expect((await sibling.openRequests.get(KEY))?.absorbedCount).toBe(0);
  });

  it('holds back at most half of what the cache holds, and writes through past that', async () => {
    const cache = new EntityCache(4);
    const row = (key: string) => ({ partitionKey: 'device', rowKey: key, properties: {}, etag: '1' });
    cache.set('a', row('a'), true);
    expect(cache.roomForUnwritten).toBe(true);
    cache.set('b', row('b'), true);
    expect(cache.roomForUnwritten).toBe(false);
    for (const key of ['c', 'd', 'e', 'f']) cache.set(key, row(key));
    // The unwritten copies stay; the written ones make room.
    expect(cache.isUnwritten('a') && cache.isUnwritten('b')).toBe(true);
    expect(cache.size).toBe(4);
    expect(cache.get('c')).toBeUndefined();
  });
});

describe('EntityCache', () => {
  it('holds at most its capacity, dropping the least recently stored', () => {
    const cache = new EntityCache(2);
    cache.set('a', null);
    cache.set('b', null);
    cache.set('a', null);
    cache.set('c', null);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeNull();
    expect(cache.get('c')).toBeNull();
  });
});
