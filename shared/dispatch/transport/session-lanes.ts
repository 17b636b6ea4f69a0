/**
 * The ready messages of the in-process queue, one lane per session (tenant): taken round robin over
 * the sessions with a message ready, first-in first-out inside each, so one tenant's storm never
 * queues another tenant's requests behind it, as Service Bus sessions keep them apart
 * (docs/decisions/0029-many-tenants.md). With one session it is one first-in first-out list.
 *
 * The round: the session after the last one served comes next. A session with nothing ready joins
 * the round when it has, just before the last one served (at its place, when it is that one), so its
 * first message waits for each other session with a message ready at most once. Lanes are held only
 * while they have items, and the last one served: they grow no larger than the items.
 */
export class SessionLanes<T> {
  /** The lanes with items, by session. */
  private readonly lanes = new Map<string, Lane<T>>();
  /** The lanes with items, in their turn, but the one served last. */
  private readonly waiting = new Fifo<Lane<T>>();
  /** The lane served last, empty or not: the round comes back to it after every lane in `waiting`. */
  private lastServed: Lane<T> | null = null;
  private count = 0;

  constructor(private readonly sessionOf: (item: T) => string) {}

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    const session = this.sessionOf(item);
    let lane = this.lanes.get(session);
    if (!lane) {
      if (this.lastServed?.session === session) lane = this.lastServed;
      else {
        lane = { session, items: new Fifo<T>() };
        this.waiting.push(lane);
      }
      this.lanes.set(session, lane);
    }
    lane.items.push(item);
    this.count += 1;
  }

  /**
   * The oldest item of the next session in the round that `canServe` (one with fewer than its share
   * in flight); undefined when none is ready. A session passed over keeps its turn.
   */
  shift(canServe: (session: string) => boolean = () => true): T | undefined {
    const previous = this.lastServed;
    const passedOver: Lane<T>[] = [];
    let next: Lane<T> | undefined;
    for (let lane = this.waiting.shift(); lane; lane = this.waiting.shift()) {
      if (canServe(lane.session)) {
        next = lane;
        break;
      }
      passedOver.push(lane);
    }
    this.waiting.prepend(passedOver);
    if (next && previous && previous.items.size > 0) this.waiting.push(previous);
    const lane = next ?? (previous && canServe(previous.session) ? previous : undefined);
    if (!lane || lane.items.size === 0) return undefined;
    const item = lane.items.shift() as T;
    this.count -= 1;
    this.lastServed = lane;
    if (lane.items.size === 0) this.lanes.delete(lane.session);
    return item;
  }
}

interface Lane<T> {
  session: string;
  items: Fifo<T>;
}

/**
 * First in, first out, with a shift that costs O(1) amortised: Array#shift moves every element of a
 * long array (a storm's thousands of ready messages) on each call.
 */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Puts `items` ahead of every item, in their order. */
  prepend(items: T[]): void {
    if (items.length === 0) return;
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.head += 1;
    // Dropping the taken half copies no more than were taken since the last drop.
    if (this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
