import { KeyedLanes } from '../../shared/kernel/keyed-lanes';

/** A task that records when it starts and ends, and ends when told. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    open,
    task: async () => {
      log.push(`${name} start`);
      await opened;
      log.push(`${name} end`);
      return name;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedLanes', () => {
  it('runs the tasks of one key one after the other, in the order they came', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const [a, b] = [gate(log, 'a'), gate(log, 'b')];
    const first = lanes.run(['k'], a.task);
    const second = lanes.run(['k'], b.task);
    await settle();
    expect(log).toEqual(['a start']);
    b.open();
    await settle();
    expect(log).toEqual(['a start']);
    a.open();
    await expect(Promise.all([first, second])).resolves.toEqual(['a', 'b']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  it('runs tasks of other keys meanwhile', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const [a, b] = [gate(log, 'a'), gate(log, 'b')];
    const first = lanes.run(['k1'], a.task);
    const second = lanes.run(['k2'], b.task);
    await settle();
    expect(log).toEqual(['a start', 'b start']);
    b.open();
    await expect(second).resolves.toBe('b');
    a.open();
    await first;
  });

  it('places a task on all its keys when handed in: a later task sharing one key waits for it', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    const [x, xy, y] = [gate(log, 'x'), gate(log, 'xy'), gate(log, 'y')];
    const first = lanes.run(['x'], x.task);
    const both = lanes.run(['x', 'y'], xy.task);
    const last = lanes.run(['y'], y.task);
    await settle();
    // `xy` waits for `x`; `y` came after `xy`, so it waits too although its own key was free.
    expect(log).toEqual(['x start']);
    x.open();
    await first;
    await settle();
    expect(log).toEqual(['x start', 'x end', 'xy start']);
    y.open();
    xy.open();
    await Promise.all([both, last]);
    expect(log).toEqual(['x start', 'x end', 'xy start', 'xy end', 'y start', 'y end']);
    await settle();
    expect(lanes.busyKeys).toBe(0);
  });

  it('goes on after a task that fails, which fails alone', async () => {
    const lanes = new KeyedLanes();
    const failing = lanes.run(['k'], async () => {
      throw new Error('store down');
    });
    const next = lanes.run(['k'], async () => 'next');
    await expect(failing).rejects.toThrow('store down');
    await expect(next).resolves.toBe('next');
  });

  it('holds a key only while it has tasks', async () => {
    const lanes = new KeyedLanes();
    await Promise.all(Array.from({ length: 50 }, (_, n) => lanes.run([`k${n % 5}`], async () => n)));
    await settle();
    expect(lanes.busyKeys).toBe(0);
  });
});
