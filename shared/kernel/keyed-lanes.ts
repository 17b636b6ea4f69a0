/**
 * Tasks in lanes by key: a task starts once every earlier task on any of its keys has settled, while
 * tasks on other keys run meanwhile. A task takes its place on all its keys at once, when it is
 * handed in, so a later task sharing any key never overtakes it. Tasks only wait on earlier ones, so
 * none can wait on itself. A key is held only while it has tasks, so the lanes grow no larger than
 * the work in flight.
 */
export class KeyedLanes {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const lanes = [...new Set(keys)];
    const result = Promise.all(lanes.map((key) => this.tails.get(key))).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    for (const key of lanes) this.tails.set(key, tail);
    void tail.then(() => {
      for (const key of lanes) if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task queued or running. */
  get busyKeys(): number {
    return this.tails.size;
  }
}
