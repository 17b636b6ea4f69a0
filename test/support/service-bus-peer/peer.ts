/**
 * An AMQP 1.0 peer that answers the real `@azure/service-bus` SDK as a Service Bus namespace would,
 * on loopback, for tests (docs/decisions/0015-amqp-peer-for-service-bus.md). The SDK connects with
 * `UseDevelopmentEmulator=true` (plain TCP, SASL ANONYMOUS) and this peer answers:
 *
 * - CBS (`$cbs`): put-token with a SAS token signed by one of the peer's keys; links to an entity
 *   the connection has no token for are refused with `amqp:unauthorized-access`, an unknown entity
 *   with `amqp:not-found` and the service's words (the SDK's `MessagingEntityNotFound`).
 * - Send and batch send on `<queue>`: duplicate detection by `messageId`, the 256 KB limit (the link
 *   advertises it; a larger transfer is rejected with `amqp:link:message-size-exceeded`, the SDK's
 *   `MessageSizeExceeded`).
 * - `$management`: schedule-message, cancel-scheduled-message, peek-message, renew-lock.
 * - Peek-lock receive on `<queue>` and `<queue>/$DeadLetterQueue`: complete, abandon, dead-letter,
 *   locks that expire on the peer's clock (settling late: `com.microsoft:message-lock-lost`),
 *   `maxDeliveryCount`, and the wire delivery count (0 on a first delivery, as the service sends it).
 * - Sessions: `com.microsoft:session-filter` on attach, one receiver per session
 *   (`com.microsoft:session-cannot-be-locked`), the session lock in `com.microsoft:locked-until-utc`,
 *   renewed by `com.microsoft:renew-session-lock`; a receiver whose session lock runs out is detached
 *   (`com.microsoft:session-lock-lost`) and the session goes to the next receiver.
 *
 * Time is the test's: nothing expires or becomes due until `advance()` moves the clock. Where the
 * service waits on its own timer (an accept-next-session with no free session), the peer answers at
 * once (`com.microsoft:timeout`).
 */
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  message as amqpMessage,
  type Connection,
  type Container,
  create_container,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
  string_to_uuid,
  types,
  uuid_to_string,
} from 'rhea';
import { SERVICE_BUS_STANDARD_LIMITS } from '../../../shared/dispatch/transport/service-bus-settings';
import { type HandClock, handClock } from '../hand-clock';
import { BrokerRefusal, QueueEntity, type QueueSettings, type Settlement, type Stored } from './entity';

export type { QueueSettings } from './entity';

const SESSION_FILTER = 'com.microsoft:session-filter';
const DEAD_LETTER_SUFFIX = '/$DeadLetterQueue';
const MANAGEMENT_SUFFIX = '/$management';
/** .NET ticks at the Unix epoch: the unit of `com.microsoft:locked-until-utc`. */
const EPOCH_TICKS = 621_355_968_000_000_000n;
/** The AMQP message format of a batch: one transfer whose data sections are encoded messages. */
const BATCH_FORMAT = 0x80013700;

export interface PeerOptions {
  queues: QueueSettings[];
  clock?: HandClock;
  /** The SAS key the connection string carries; a token signed with another key is refused. */
  keyName?: string;
  key?: string;
}

/** What rhea's typings leave out: the local attach frame, the transfer's format, the outcomes. */
type Attaching = { local: { attach: { max_message_size?: number; properties?: Record<string, unknown> } } };
type Outcomes = {
  accepted(): { described(): unknown };
  rejected(fields: { error: { condition: string; description: string } }): { described(): unknown };
};
const outcomes = amqpMessage as unknown as Outcomes;
const encode = (m: Message): Buffer => amqpMessage.encode(m as never);
const decode = (bytes: Buffer): Message => amqpMessage.decode(bytes) as unknown as Message;

interface Consumer {
  sender: Sender;
  entity: QueueEntity;
  sessionId?: string;
}

export class ServiceBusPeer {
  readonly clock: HandClock;
  private readonly container: Container;
  private readonly entities = new Map<string, QueueEntity>();
  private readonly consumers = new Set<Consumer>();
  /** Entity names each connection holds a valid token for. */
  private readonly authorized = new WeakMap<Connection, Set<string>>();
  private readonly connections = new Set<Connection>();
  private readonly keyName: string;
  private readonly key: string;
  private sequence = 0;
  private quietWaiters: { entity: QueueEntity; resolve: () => void }[] = [];
  private server: ReturnType<Container['listen']> | null = null;
  private port = 0;

  constructor(options: PeerOptions) {
    this.clock = options.clock ?? handClock();
    this.keyName = options.keyName ?? 'RootManageSharedAccessKey';
    this.key = options.key ?? 'peer-key';
    for (const settings of options.queues) {
      const deadLetters = new QueueEntity(
        {
          name: `${settings.name}${DEAD_LETTER_SUFFIX}`,
          maxDeliveryCount: Number.POSITIVE_INFINITY,
          lockDurationMs: settings.lockDurationMs,
        },
        this.clock,
        () => ++this.sequence,
        null,
      );
      this.entities.set(deadLetters.settings.name, deadLetters);
      this.entities.set(
        settings.name,
        new QueueEntity(settings, this.clock, () => ++this.sequence, deadLetters),
      );
    }
    this.container = create_container({
      id: 'service-bus-peer',
      // The peer decides every outcome itself.
      autoaccept: false,
      treat_modified_as_released: false,
    } as Parameters<typeof create_container>[0]);
    this.container.on('connection_open', (context: EventContext) => {
      this.connections.add(context.connection);
    });
    this.container.on('connection_close', (context: EventContext) => this.dropConnection(context.connection));
    this.container.on('disconnected', (context: EventContext) => this.dropConnection(context.connection));
    this.container.on('receiver_open', (context: EventContext) =>
      this.onSenderAttached(context.receiver as Receiver),
    );
    this.container.on('sender_open', (context: EventContext) =>
      this.onReceiverAttached(context.sender as Sender),
    );
    this.container.on('message', (context: EventContext) => this.onTransfer(context));
    this.container.on('sendable', (context: EventContext) => this.pumpLink(context.sender as Sender));
    this.container.on('accepted', (context: EventContext) =>
      this.onDisposition(context, { kind: 'complete' }),
    );
    this.container.on('released', (context: EventContext) =>
      this.onDisposition(context, { kind: 'abandon' }),
    );
    this.container.on('modified', (context: EventContext) =>
      this.onDisposition(context, { kind: 'abandon' }),
    );
    this.container.on('rejected', (context: EventContext) => this.onRejected(context));
    this.container.on('sender_close', (context: EventContext) => this.dropConsumer(context.sender as Sender));
    // A client that goes away mid-frame is the client's problem, never the test's.
    this.container.on('error', () => undefined);
  }

  async start(): Promise<void> {
    const server = this.container.listen({ host: '127.0.0.1', port: 0 });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', reject);
    });
    this.port = (server.address() as AddressInfo).port;
  }

  /** What the SDK takes: the emulator form of a Service Bus connection string. */
  get connectionString(): string {
    return `Endpoint=sb://127.0.0.1:${this.port};SharedAccessKeyName=${this.keyName};SharedAccessKey=${this.key};UseDevelopmentEmulator=true`;
  }

  /** Moves the peer's clock: locks expire, scheduled messages become due, and waiting receivers get them. */
  advance(ms: number): void {
    this.clock.advance(ms);
    for (const entity of this.entities.values()) entity.expire();
    // A receiver whose session lock ran out loses the session, as the service detaches it.
    for (const consumer of [...this.consumers])
      if (consumer.sessionId !== undefined && !consumer.entity.holds(consumer.sender, consumer.sessionId)) {
        this.consumers.delete(consumer);
        consumer.entity.releaseHolder(consumer.sender);
        consumer.sender.close({
          condition: 'com.microsoft:session-lock-lost',
          description: `The session lock has expired on the MessageSession. Accept a new MessageSession. Session: ${consumer.sessionId}.`,
        });
      }
    this.pumpAll();
  }

  /** A queue (or `<queue>/$DeadLetterQueue`) as the peer holds it, for assertions. */
  queue(name: string): QueueEntity {
    const entity = this.entities.get(name);
    if (!entity) throw new Error(`the peer has no queue ${name}`);
    return entity;
  }

  /**
   * Resolves once `name` has nothing locked and nothing deliverable left: every message handed out so
   * far was settled (or dead-lettered) and no receiver has anything more to get.
   */
  whenQuiet(name: string): Promise<void> {
    const entity = this.queue(name);
    return new Promise((resolve) => {
      this.quietWaiters.push({ entity, resolve });
      this.notifyQuiet();
    });
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.close();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- links ----

  /** The client attached a sender: to `$cbs`, to a `$management` node, or to a queue. */
  private onSenderAttached(receiver: Receiver): void {
    const address = receiver.target?.address ?? '';
    if (address === '$cbs') return;
    const entityName = address.endsWith(MANAGEMENT_SUFFIX)
      ? address.slice(0, -MANAGEMENT_SUFFIX.length)
      : address;
    if (!this.admit(receiver, entityName)) return;
    receiver.set_target({ address });
    // The service's limit, advertised so a client can size its batches (the SDK does).
    (receiver as unknown as Attaching).local.attach.max_message_size =
      SERVICE_BUS_STANDARD_LIMITS.messageBytes;
  }

  /** The client attached a receiver: a reply link (`$cbs`, `$management`) or a consumer of a queue. */
  private onReceiverAttached(sender: Sender): void {
    const address = sender.source?.address ?? '';
    if (address === '$cbs' || address.endsWith(MANAGEMENT_SUFFIX)) return;
    const entity = this.admit(sender, address);
    if (!entity) return;
    const filter = sender.source?.filter as Record<string, unknown> | undefined;
    if (!entity.settings.requiresSession) {
      sender.set_source({ address });
      this.consumers.add({ sender, entity });
      return;
    }
    const requested = filter?.[SESSION_FILTER];
    const session = entity.lockSession(sender, typeof requested === 'string' ? requested : undefined);
    if (!session) {
      // The service answers with a source that names no session, then detaches with the reason.
      sender.set_source({ address });
      sender.close(
        typeof requested === 'string'
          ? {
              condition: 'com.microsoft:session-cannot-be-locked',
              description: `The requested session '${requested}' cannot be accepted. It may be locked by another receiver.`,
            }
          : {
              condition: 'com.microsoft:timeout',
              description: 'No unlocked sessions were available within the operation timeout.',
            },
      );
      return;
    }
    sender.set_source({ address, filter: { [SESSION_FILTER]: session.sessionId } });
    (sender as unknown as Attaching).local.attach.properties = {
      'com.microsoft:locked-until-utc': types.wrap_long(ticksOf(session.until)),
    };
    this.consumers.add({ sender, entity, sessionId: session.sessionId });
  }

  /** The entity a link may attach to, or undefined after refusing the link as the service would. */
  private admit(link: Sender | Receiver, address: string): QueueEntity | undefined {
    const entity = this.entities.get(address);
    if (!entity) {
      link.close({
        condition: 'amqp:not-found',
        description: `The messaging entity 'sb://127.0.0.1:${this.port}/${address}' could not be found.`,
      });
      return undefined;
    }
    const queueName = address.endsWith(DEAD_LETTER_SUFFIX)
      ? address.slice(0, -DEAD_LETTER_SUFFIX.length)
      : address;
    if (!this.authorized.get(link.connection)?.has(queueName)) {
      link.close({
        condition: 'amqp:unauthorized-access',
        description: `Unauthorized access to '${address}': no valid token was put for it.`,
      });
      return undefined;
    }
    return entity;
  }

  private dropConsumer(sender: Sender): void {
    for (const consumer of this.consumers)
      if (consumer.sender === sender) {
        this.consumers.delete(consumer);
        consumer.entity.releaseHolder(sender);
      }
    this.pumpAll();
  }

  private dropConnection(connection: Connection): void {
    this.connections.delete(connection);
    for (const consumer of [...this.consumers])
      if (consumer.sender.connection === connection) this.dropConsumer(consumer.sender);
  }

  // ---- incoming transfers ----

  private onTransfer(context: EventContext): void {
    const receiver = context.receiver as Receiver;
    const delivery = context.delivery as Delivery;
    const address = receiver.target?.address ?? '';
    try {
      if (address === '$cbs') this.putToken(receiver, context.message as Message);
      else if (address.endsWith(MANAGEMENT_SUFFIX))
        this.manage(
          receiver,
          this.queue(address.slice(0, -MANAGEMENT_SUFFIX.length)),
          context.message as Message,
        );
      else this.receive(this.queue(address), delivery, context);
      delivery.accept();
    } catch (error) {
      if (!(error instanceof BrokerRefusal)) throw error;
      delivery.reject({ condition: error.condition, description: error.message });
    }
  }

  private receive(entity: QueueEntity, delivery: Delivery, context: EventContext): void {
    const raw =
      (context as EventContext & { format?: number }).format === BATCH_FORMAT
        ? (context.message as unknown as Buffer)
        : undefined;
    const size = raw ? raw.length : encode(context.message as Message).length;
    if (size > SERVICE_BUS_STANDARD_LIMITS.messageBytes)
      throw new BrokerRefusal(
        'amqp:link:message-size-exceeded',
        `The received message (delivery-id:${delivery.id}, size:${size} bytes) exceeds the limit (${SERVICE_BUS_STANDARD_LIMITS.messageBytes} bytes) currently allowed on the link.`,
      );
    const messages = raw ? batchOf(raw) : [context.message as Message];
    for (const m of messages) checkMessageId(m);
    for (const m of messages) entity.enqueue(m);
    this.pump(entity);
  }

  private putToken(receiver: Receiver, request: Message): void {
    const properties = request.application_properties ?? {};
    const audience = String(properties.name ?? '');
    const valid =
      properties.operation === 'put-token' && this.validToken(String(request.body ?? ''), audience);
    if (valid) {
      const path = new URL(audience.replace(/^sb:/, 'http:')).pathname
        .replace(/^\//, '')
        .replace(/\/\$management$/, '');
      const names = this.authorized.get(receiver.connection) ?? new Set<string>();
      names.add(path.replace(/\/\$DeadLetterQueue$/, ''));
      this.authorized.set(receiver.connection, names);
    }
    this.reply(receiver, request, {
      body: null,
      application_properties: valid
        ? { 'status-code': 200, 'status-description': 'OK' }
        : {
            'status-code': 401,
            'status-description': 'InvalidSignature: The token has an invalid signature.',
          },
    });
  }

  /** A SAS token (`SharedAccessSignature sr=…&sig=…&se=…&skn=…`) signed with the peer's key, for `audience`. */
  private validToken(token: string, audience: string): boolean {
    const fields = new URLSearchParams(token.replace(/^SharedAccessSignature /, ''));
    const resource = fields.get('sr') ?? '';
    const expiry = fields.get('se') ?? '';
    if (fields.get('skn') !== this.keyName || !audience.startsWith(decodeURIComponent(resource)))
      return false;
    const signature = createHmac('sha256', this.key)
      .update(`${encodeURIComponent(decodeURIComponent(resource))}\n${expiry}`)
      .digest('base64');
    return signature === fields.get('sig');
  }

  private manage(receiver: Receiver, entity: QueueEntity, request: Message): void {
    const operation = String(request.application_properties?.operation ?? '');
    let response: Message;
    try {
      const { status, body } = this.operate(
        entity,
        operation,
        (request.body ?? {}) as Record<string, unknown>,
      );
      response = {
        application_properties: {
          statusCode: status,
          statusDescription: status === 204 ? 'No Content' : 'OK',
        },
        body,
      };
    } catch (error) {
      if (!(error instanceof BrokerRefusal)) throw error;
      response = {
        body: null,
        application_properties: {
          statusCode: error.condition.endsWith('-lock-lost') ? 410 : 400,
          statusDescription: error.message,
          errorCondition: error.condition,
        },
      };
    }
    this.reply(receiver, request, response);
  }

  /** One `$management` operation: its status code and response body, or a BrokerRefusal. */
  private operate(
    entity: QueueEntity,
    operation: string,
    body: Record<string, unknown>,
  ): { status: number; body: unknown } {
    switch (operation) {
      case 'com.microsoft:schedule-message': {
        const entries = body.messages as { message: Buffer }[];
        const numbers = entries.map(({ message }) => {
          const m = decode(message);
          checkMessageId(m);
          if (message.length > SERVICE_BUS_STANDARD_LIMITS.messageBytes)
            throw new BrokerRefusal(
              'amqp:link:message-size-exceeded',
              `The message (size:${message.length} bytes) exceeds the limit (${SERVICE_BUS_STANDARD_LIMITS.messageBytes} bytes).`,
            );
          const at = m.message_annotations?.['x-opt-scheduled-enqueue-time'] as Date | number | undefined;
          return entity.enqueue(m, at === undefined ? this.clock.now() : new Date(at).getTime())
            .sequenceNumber;
        });
        this.pump(entity);
        return {
          status: 200,
          body: { 'sequence-numbers': types.wrap_array(numbers.map(longBytes), 0x81, undefined) },
        };
      }
      case 'com.microsoft:cancel-scheduled-message': {
        const missing = (body['sequence-numbers'] as unknown[])
          .map(longValue)
          .filter((number) => !entity.cancelScheduled(number));
        // The service's words (the SDK's MessageNotFound).
        if (missing.length > 0)
          throw new BrokerRefusal(
            'com.microsoft:message-not-found',
            `Messages not found. Missing sequence numbers: ${missing.join(', ')}`,
          );
        return { status: 200, body: {} };
      }
      case 'com.microsoft:peek-message': {
        const from = longValue(body['from-sequence-number']);
        const count = Number(body['message-count']);
        const sessionId = typeof body['session-id'] === 'string' ? body['session-id'] : undefined;
        const found = entity.peek(from, count, sessionId);
        if (found.length === 0) return { status: 204, body: {} };
        return { status: 200, body: { messages: found.map((m) => ({ message: encode(this.outgoing(m)) })) } };
      }
      case 'com.microsoft:renew-session-lock':
        return {
          status: 200,
          body: { expiration: new Date(entity.renewSession(String(body['session-id']))) },
        };
      case 'com.microsoft:renew-lock': {
        const tokens = body['lock-tokens'] as Buffer[];
        const expirations = tokens.map(
          (bytes) => new Date(entity.renew(uuid_to_string(dotnetGuidOrder(bytes)))),
        );
        return { status: 200, body: { expirations } };
      }
      default:
        throw new BrokerRefusal('amqp:not-implemented', `The peer does not implement ${operation}.`);
    }
  }

  /**
   * Answers a `$cbs` or `$management` request on the client's reply link: the one whose target is the
   * request's `reply_to`, or (the SDK's CBS link names no target) the one reading from the same node.
   */
  private reply(receiver: Receiver, request: Message, response: Message): void {
    const replyTo = String(request.reply_to ?? '');
    const node = receiver.target?.address;
    const links = Object.values(
      (receiver.session as unknown as { links: Record<string, Sender | Receiver> }).links,
    );
    const senders = links.filter((l): l is Sender => l.is_sender());
    const link =
      senders.find((l) => l.target?.address === replyTo) ?? senders.find((l) => l.source?.address === node);
    link?.send({ ...response, correlation_id: request.message_id, to: replyTo });
  }

  // ---- outgoing deliveries and their settlement ----

  private pumpAll(): void {
    for (const consumer of this.consumers) this.pumpConsumer(consumer);
  }

  private pump(entity: QueueEntity): void {
    for (const consumer of this.consumers) if (consumer.entity === entity) this.pumpConsumer(consumer);
  }

  private pumpLink(sender: Sender): void {
    for (const consumer of this.consumers) if (consumer.sender === sender) this.pumpConsumer(consumer);
  }

  private pumpConsumer(consumer: Consumer): void {
    const { sender, entity, sessionId } = consumer;
    while (sender.sendable()) {
      const next = entity.lockNext(sender, sessionId);
      if (!next) return;
      const lock = next.lock as NonNullable<Stored['lock']>;
      sender.send(this.outgoing(next), string_to_uuid(lock.token));
    }
  }

  /** The message as the service hands it out: the sender's, plus the broker's annotations and count. */
  private outgoing(stored: Stored): Message {
    return {
      ...stored.message,
      // The wire count is the deliveries before this one (the AMQP meaning; .NET and the Functions
      // host add one, so their first delivery is 1).
      delivery_count: Math.max(0, stored.deliveries - 1),
      message_annotations: {
        ...stored.message.message_annotations,
        'x-opt-sequence-number': types.wrap_long(stored.sequenceNumber),
        'x-opt-enqueued-time': new Date(stored.enqueuedAt),
        // 0 active, 2 scheduled (1, deferred, is never used here).
        'x-opt-message-state': stored.visibleAt > this.clock.now() ? 2 : 0,
        ...(stored.lock ? { 'x-opt-locked-until': new Date(stored.lock.until) } : {}),
        ...(stored.visibleAt > stored.enqueuedAt
          ? { 'x-opt-scheduled-enqueue-time': new Date(stored.visibleAt) }
          : {}),
      },
    };
  }

  private onRejected(context: EventContext): void {
    const error = (
      context.delivery?.remote_state as { error?: { condition?: string; info?: Record<string, unknown> } }
    )?.error;
    this.onDisposition(
      context,
      error?.condition === 'com.microsoft:dead-letter'
        ? {
            kind: 'dead-letter',
            reason: String(error.info?.DeadLetterReason ?? ''),
            description: String(error.info?.DeadLetterErrorDescription ?? ''),
          }
        : { kind: 'abandon' },
    );
  }

  /** A receiver settled a locked message: the peer applies it and settles back, or says the lock is gone. */
  private onDisposition(context: EventContext, settlement: Settlement): void {
    const delivery = context.delivery as Delivery;
    const sender = context.sender as Sender;
    const consumer = [...this.consumers].find((c) => c.sender === sender);
    if (!consumer) return;
    try {
      consumer.entity.settle(uuid_to_string(delivery.tag as Buffer), settlement);
      delivery.update(true, outcomes.accepted().described());
    } catch (error) {
      if (!(error instanceof BrokerRefusal)) throw error;
      delivery.update(
        true,
        outcomes.rejected({ error: { condition: error.condition, description: error.message } }).described(),
      );
    }
    this.pump(consumer.entity);
    this.notifyQuiet();
  }

  private notifyQuiet(): void {
    const now = this.clock.now();
    const waiting = this.quietWaiters;
    this.quietWaiters = [];
    for (const waiter of waiting) {
      const busy = waiter.entity.contents().some((m) => m.lock || m.visibleAt <= now);
      if (busy) this.quietWaiters.push(waiter);
      else waiter.resolve();
    }
  }
}

/** The data sections of a batch transfer, each an encoded message. */
function batchOf(raw: Buffer): Message[] {
  const outer = decode(raw);
  const body = outer.body as { content?: unknown };
  const sections = Array.isArray(body?.content) ? (body.content as Buffer[]) : [outer.body as Buffer];
  return sections.map((section) => decode(section));
}

/** The SDK refuses a longer id before sending; the peer holds any other client to the same limit. */
function checkMessageId(message: Message): void {
  const id = message.message_id === undefined ? '' : String(message.message_id);
  if (id.length > SERVICE_BUS_STANDARD_LIMITS.messageIdChars)
    throw new BrokerRefusal(
      'com.microsoft:argument-out-of-range',
      `The message id is ${id.length} characters long; at most ${SERVICE_BUS_STANDARD_LIMITS.messageIdChars} are allowed.`,
    );
}

function ticksOf(ms: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(ms) * 10_000n + EPOCH_TICKS);
  return buffer;
}

function longBytes(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(value));
  return buffer;
}

/** A long as rhea decodes it: a number when it fits, else its eight bytes. */
function longValue(value: unknown): number {
  if (Buffer.isBuffer(value)) return Number(value.readBigInt64BE());
  return Number(value);
}

/** The byte order the SDK gives a lock token it renews (a .NET Guid's): its own inverse. */
function dotnetGuidOrder(bytes: Buffer): Buffer {
  return Buffer.from([
    bytes[3],
    bytes[2],
    bytes[1],
    bytes[0],
    bytes[5],
    bytes[4],
    bytes[7],
    bytes[6],
    ...bytes.subarray(8),
  ]);
}
