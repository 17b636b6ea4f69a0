import { cachedFor } from '../../shared/kernel/cached';

describe('cachedFor', () => {
  it('shares one read within the interval and reads again after it', async () => {
    let now = 0;
    let reads = 0;
    const read = cachedFor(1_000, async () => ++reads, { now: () => now });
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    now = 999;
    expect(await read()).toBe(1);
    now = 1_000;
    expect(await read()).toBe(2);
  });

  it('keeps no failed read: the next caller asks again', async () => {
    let reads = 0;
    const read = cachedFor(60_000, async () => {
      reads += 1;
      if (reads === 1) throw new Error('store down');
      return reads;
    });
    await expect(read()).rejects.toThrow('store down');
    await expect(read()).resolves.toBe(2);
  });
});
