// Types of burrow-rabbitmq's main entry (index.js). Every wrong argument is a
// TypeError at run time too, naming the argument and what it got.

/** Where the wasm is, for `init()`: its URL, its bytes, or the compiled module. */
export type WasmSource =
  | string
  | URL
  | Request
  | Response
  | BufferSource
  | WebAssembly.Module
  | Promise<Response | BufferSource | WebAssembly.Module>;

/** What `init()` resolves to. */
export interface InitOutput {
  /** The wasm's memory, for measuring (it never shrinks). */
  readonly memory: WebAssembly.Memory;
}

/**
 * Loads the wasm; await it once before anything else (later calls return the same
 * Promise). Without `wasm` it is fetched from `burrow_bg.wasm` beside this module;
 * a bundler gives its URL instead (`import wasm from "burrow-rabbitmq/burrow_bg.wasm"`
 * with a file loader).
 */
export default function init(wasm?: WasmSource): Promise<InitOutput>;

/** How to connect. Every field is optional; an unknown one is a TypeError. */
export interface ConnectOptions {
  /** RabbitMQ user (the tutorial's `burrow`). */
  login?: string;
  /** Its password; kept in memory only. */
  passcode?: string;
  /** Virtual host, default "/". */
  vhost?: string;
  /** We send a heart-beat at least this often, in ms (default 10000; 0 turns it off). */
  heartbeatOutgoing?: number;
  /** We want the broker's heart-beat this often, in ms (default 10000; 0 turns it off). */
  heartbeatIncoming?: number;
  /** First reconnect delay in ms, 1 or more (default 500); it doubles up to `maxReconnectDelay`.
   * Each wait is drawn between half the delay and the whole (jitter), so that many
   * pages do not reconnect at once. */
  reconnectDelay?: number;
  /** Longest reconnect delay in ms, at least `reconnectDelay` (default 30000). */
  maxReconnectDelay?: number;
  /** Publishes awaiting their confirm at once, 1 to 65535 (default 128). */
  window?: number;
  /** Socket writes at once per millisecond before frames are batched into one
   * write (default 4; 0 or Infinity: never batch). */
  writesPerMs?: number;
  /** Most messages waiting in the outbox (default 10000); `publish` waits beyond it. */
  outboxMessages?: number;
  /** Most body bytes waiting in the outbox (default 64 MiB). */
  outboxBytes?: number;
  /** RabbitMQ's management API (such as "http://127.0.0.1:15672/api"; "/api" is added to an
   * address without a path; a path alone, such as "/api" behind a same-origin proxy, is on
   * the page's origin), read to explain refusals Web-STOMP closes without words and
   * for the exchange calls; default: where RabbitMQ puts it for the URL. */
  managementUrl?: string;
  /** Called with each status event, `connecting` to `stopped` (as `on("status", fn)`). */
  onStatus?: (event: StatusEvent) => void;
  /**
   * Fetches the credentials of each connection attempt (the first, each reconnect,
   * each node of a cluster), such as an OAuth2 token for RabbitMQ's OAuth2 backend:
   * called before every CONNECT, and used for the management API too. Not with
   * `passcode`. A rejection, or no answer within `credentialsTimeout`, fails the
   * attempt (a `reconnecting` event says why) and it is retried with the backoff;
   * nothing waiting to be published is lost. Before the credentials expire (the
   * JWT's `exp`, or `expiresAt`), the connection reconnects with fresh ones
   * (a `renewing` event).
   */
  credentials?: () => Promise<Credentials>;
  /** How long `credentials` may take, in ms (default 10000). */
  credentialsTimeout?: number;
}

/** What a `credentials` provider answers. */
export interface Credentials {
  /** Sent as `login` (default: `options.login`, else empty; RabbitMQ's OAuth2 backend ignores it). */
  login?: string;
  /** Sent as `passcode`: the token. A JWT's `exp` says when it expires. */
  passcode: string;
  /** When they expire, if the provider knows (a Date or milliseconds since 1970). */
  expiresAt?: Date | number;
}

/** The connection is opening a socket to `url`. */
export interface ConnectingEvent { readonly type: "connecting"; readonly url: string }
/** Connected (again): consumers are restored and the outbox resent. */
export interface ConnectedEvent {
  readonly type: "connected";
  readonly url: string;
  /** CONNECTED's `server` header, such as "RabbitMQ/3.10.8". */
  readonly server: string | null;
  /** The heart-beats agreed, in ms (0: none). */
  readonly heartbeatOutgoing: number;
  readonly heartbeatIncoming: number;
}
/** The connection was lost; the next attempt comes after `delayMs`. */
export interface ReconnectingEvent {
  readonly type: "reconnecting";
  /** Why, in words. */
  readonly reason: string;
  /** Which side failed. */
  readonly fault: "network" | "broker" | "local" | "user";
  /** Which retry this is, from 1. */
  readonly attempt: number;
  readonly delayMs: number;
  /** Where the next attempt goes (a cluster's next node). */
  readonly nextUrl: string;
}
/**
 * A planned reconnect began: the credentials expire in `expiresInMs`, so a new
 * connection with fresh credentials opens beside this one (make-before-break);
 * this one goes on until the new one takes over (a `renewed` event).
 */
export interface RenewingEvent { readonly type: "renewing"; readonly expiresInMs: number }
/**
 * The new connection of a planned reconnect took over: consumers are subscribed
 * there, publishing moves to it once the old one's confirms are in, and the old
 * one closes once the replies to the calls it carried came too (waiting at most
 * half the time its credentials have left, 5 s at most). Deliveries went on
 * throughout.
 */
export interface RenewedEvent { readonly type: "renewed"; readonly url: string; readonly server: string | null }
/** RabbitMQ accepted a consumer's subscription (again, after a reconnect). */
export interface ConsumerReadyEvent { readonly type: "consumer-ready"; readonly consumer: number }
/** A consumer ended because RabbitMQ refused it (such as NOT_FOUND). */
export interface ConsumerFailedEvent { readonly type: "consumer-failed"; readonly consumer: number; readonly reason: string }
/**
 * Publishes on a live connection have waited 5 s and more for any confirm: the
 * broker holds publishers back (RabbitMQ does under a memory or disk alarm; its
 * Web-STOMP did not in 3.10.8 and 4.0.5). They wait; nothing is lost.
 */
export interface PublishesHeldBackEvent {
  readonly type: "publishes-held-back";
  /** Since when no confirm came, on `performance.now()`'s clock (ms). */
  readonly sinceMs: number;
  /** How many publishes await their confirm. */
  readonly inFlight: number;
}
/** Confirms come again after `publishes-held-back`. */
export interface PublishesFlowingEvent { readonly type: "publishes-flowing"; readonly heldForMs: number }
/** Something odd that changes nothing (or a queue this connection declared that
 * RabbitMQ refused to declare again after a reconnect, in its words). */
export interface WarningEvent { readonly type: "warning"; readonly message: string }
/** No more connections: `close()`, or a CONNECT refusal retrying cannot fix. Always the last event. */
export interface StoppedEvent { readonly type: "stopped"; readonly reason: string }

/** A transient exchange subscription (`consume({ exchange, routingKey }, …)`) was
 * made again after a reconnect, into a new queue: what the exchange routed while
 * the connection was down went to the old queue, deleted with its connection, and
 * is lost. A durable subscription (`durable: true`) never has this gap. */
export interface SubscriptionGapEvent {
  readonly type: "subscription-gap";
  /** The consumer's number, as in `consumer-ready`. */
  readonly consumer: number;
  /** Its exchange. */
  readonly exchange: string;
  /** Its binding key. */
  readonly routingKey: string;
}

/** What a connection reports about itself. `stopped` is always the last. */
export type StatusEvent =
  | SubscriptionGapEvent
  | ConnectingEvent
  | ConnectedEvent
  | ReconnectingEvent
  | RenewingEvent
  | RenewedEvent
  | ConsumerReadyEvent
  | ConsumerFailedEvent
  | PublishesHeldBackEvent
  | PublishesFlowingEvent
  | WarningEvent
  | StoppedEvent;

/** A status event's `type`. */
export type StatusEventType = StatusEvent["type"];

/** pika's `queue_declare` flags. */
export interface QueueDeclareOptions {
  /** Survives a broker restart (default false). */
  durable?: boolean;
  /** Only this connection may use it; deleted when it closes (default false). */
  exclusive?: boolean;
  /** Deleted when its last consumer goes (default false). */
  autoDelete?: boolean;
  /**
   * x- arguments, such as { "x-queue-type": "quorum" } or { "x-message-ttl": 60000 }
   * (numbers must be whole). A quorum queue or a stream must be durable, not
   * exclusive, not auto-delete. Web-STOMP passes on only x-dead-letter-exchange,
   * x-dead-letter-routing-key, x-expires, x-max-length, x-max-length-bytes,
   * x-max-priority, x-message-ttl and x-queue-type, and on a stream from RabbitMQ
   * 3.12 x-max-age ("7D") and x-stream-max-segment-size-bytes, from 3.13
   * x-stream-filter-size-bytes: others are a DeclareInvalidError (set them, and a
   * quorum queue's delivery-limit, with a policy).
   */
  arguments?: Record<string, string | number>;
}

/**
 * A header value on publish. STOMP headers are text: a number or boolean travels as
 * its text (`42` as "42", `true` as "true") and a received message's headers are
 * all strings, as AMQP clients see them too.
 */
export type HeaderValue = string | number | boolean;

/** What `publish` sends: a string (as UTF-8), an ArrayBuffer, or any view of one (its bytes). */
export type Body = string | ArrayBuffer | ArrayBufferView;

/** pika's `basic_publish` properties. */
export interface PublishOptions {
  /** The exchange; "" (the default) routes by queue name. */
  exchange?: string;
  /** delivery_mode=2: survives a broker restart in a durable queue. */
  persistent?: boolean;
  /** MIME type of the body, such as "application/json". */
  contentType?: string;
  /** Encoding of the body, such as "gzip". */
  contentEncoding?: string;
  /** Correlates a reply with its request. */
  correlationId?: string;
  /** Where to send a reply (a queue name). */
  replyTo?: string;
  /** Per-message time to live in ms: a whole number, or a string of digits. */
  expiration?: string | number;
  /** The application's message id. */
  messageId?: string;
  /** When it was made: a Date or whole seconds since the epoch (AMQP keeps seconds). */
  timestamp?: Date | number;
  /** The message's type name. */
  type?: string;
  /** The publishing user: RabbitMQ refuses the message unless it is the connection's login. */
  userId?: string;
  /** The publishing application. */
  appId?: string;
  /** 0 to 255; used by queues with x-max-priority. */
  priority?: number;
  /** Application headers; names starting "x-" and STOMP's own are refused (PublishInvalidError). */
  headers?: Record<string, HeaderValue>;
  /**
   * For a stream (RabbitMQ 3.13+): the message's filter value (x-stream-filter-value),
   * what a consumer's `streamFilter` selects by. A non-empty string without commas
   * (else a TypeError). On an older broker (by CONNECTED's `server` header) the
   * publish is refused with PublishInvalidError saying so, nothing sent.
   */
  streamFilterValue?: string;
}

/** `call`'s options: the publish options but `replyTo` (the call sets it), and a timeout. */
export interface CallOptions extends Omit<PublishOptions, "replyTo"> {
  /** How long to wait for the reply, in ms (default 30000); then TimeoutError. */
  timeout?: number;
  /** Correlates the reply with this call; by default Burrow makes one. It must
   * differ from every other call's in flight (else CallInvalidError). */
  correlationId?: string;
}

/** `reply`'s options: the publish properties of the reply (its exchange and
 * replyTo come from the request; its correlationId too, unless given). */
export type ReplyOptions = Omit<PublishOptions, "exchange" | "replyTo">;

/** A message delivered to a consumer. */
export interface Message {
  /** The body, byte for byte. */
  readonly body: Uint8Array;
  /** The body as text (UTF-8; invalid bytes shown as U+FFFD). */
  readonly text: string;
  /** The routing key (for the default exchange: the queue). */
  readonly routingKey: string;
  /** The exchange ("" for the default exchange). */
  readonly exchange: string;
  /** Delivered before and not acknowledged (its consumer crashed). */
  readonly redelivered: boolean;
  /** Redelivered, or published again after a lost confirm: the only messages that may arrive twice. */
  readonly possiblyDuplicate: boolean;
  /** Persistent (delivery_mode=2). */
  readonly persistent: boolean;
  /** Application headers, all strings (see HeaderValue); bytes of a value that are not UTF-8 (an AMQP client's binary header) read as U+FFFD. */
  readonly headers: Readonly<Record<string, string>>;
  /** MIME type of the body. */
  readonly contentType: string | undefined;
  /** Encoding of the body. */
  readonly contentEncoding: string | undefined;
  /** Correlates a reply with its request. */
  readonly correlationId: string | undefined;
  /** Where to send a reply: `publish(message.replyTo, …)` answers. (Web-STOMP shows a
   * bare queue name as "/reply-queue/<name>"; Burrow gives the name back, as AMQP clients see it.) */
  readonly replyTo: string | undefined;
  /** Per-message time to live in ms, as text. */
  readonly expiration: string | undefined;
  /** The application's message id. */
  readonly messageId: string | undefined;
  /** When it was made (to the second). */
  readonly timestamp: Date | undefined;
  /** The message's type name. */
  readonly type: string | undefined;
  /** The publishing user, as RabbitMQ checked it. */
  readonly userId: string | undefined;
  /** The publishing application. */
  readonly appId: string | undefined;
  /** 0 to 255. */
  readonly priority: number | undefined;
  /** Quorum queues: how many times it was delivered before (x-delivery-count);
   * undefined on the first delivery, which RabbitMQ sends without a count. */
  readonly deliveryCount: number | undefined;
  /** Streams: its offset (x-stream-offset). */
  readonly streamOffset: number | undefined;
  /** Streams: the filter value it was published with (x-stream-filter-value). */
  readonly streamFilterValue: string | undefined;
  /** The body parsed as JSON; throws a SyntaxError saying so when it is not JSON. */
  json(): unknown;
  /** pika's basic_ack, on the connection it came on. Throws StaleError when that
   * connection is gone (RabbitMQ redelivers it, marked), AlreadySettledError the
   * second time, CancelledError once its consumer's cancel() has gone out (in
   * the same task as cancel() the ack still goes, ahead of it). Does nothing with `ack: "auto"` or `"broker"` (nothing to settle).
   * Bound to its message, as `nack` is: `const { ack } = message` works, as in stompjs. */
  ack(): void;
  /** pika's basic_nack: `{ requeue: false }` drops (or dead-letters) it (on RabbitMQ 4.x a quorum
   * queue also drops a message requeued 20 times, unless a policy sets another delivery-limit); by default it
   * goes back. Throws as `ack`, and StreamNackError for a stream's message. Does nothing
   * with `ack: "auto"` or `"broker"`: the message was settled as it was handed out, and
   * cannot go back to the queue. */
  nack(options?: NackOptions): void;
}

/** How to nack. */
export interface NackOptions {
  /** Back to the queue (default true), or dropped / dead-lettered. */
  requeue?: boolean;
}

/** Where a stream consumer starts. A number is an offset; a Date or
 * `{ timestamp }` (a Date or seconds since the epoch) a time. */
export type StreamOffset = "first" | "last" | "next" | number | Date | { timestamp: number | Date };

/** What `consume` and `messages` read from an exchange (RabbitMQ's tutorials 3 to 5):
 * a SUBSCRIBE to `/exchange/<exchange>/<routingKey>`, for which RabbitMQ makes a
 * queue bound with that key. A string instead is a queue's name. */
export type ExchangeSource =
  | {
      /** The exchange (it must exist: `exchangeDeclare`, or one of RabbitMQ's `amq.*`). */
      exchange: string;
      /** The binding key: a topic pattern such as `*.critical`, ignored by a fanout (default ""). */
      routingKey?: string;
      /** Transient (the default): RabbitMQ's auto-delete queue goes with the
       * connection, so what is published while it is down is lost; a
       * `subscription-gap` status event says so after the reconnect. */
      durable?: false;
      /** Only a durable subscription names its queue (`durable: true`). */
      queue?: undefined;
    }
  | {
      /** The exchange. */
      exchange: string;
      /** The binding key (default ""). */
      routingKey?: string;
      /** The durable queue to subscribe through (`x-queue-name`): it outlives the
       * connection and, with persistent messages, a broker restart, so nothing is
       * lost. `cancel()` leaves it; `connection.queueDelete(queue)` ends it. */
      queue: string;
      /** A durable subscription. */
      durable: true;
    };

/** Options of `exchangeDeclare` (pika's `exchange_declare`). */
export interface ExchangeDeclareOptions {
  /** Survives a broker restart (default false). */
  durable?: boolean;
  /** Deleted when its last binding goes (default false): a transient
   * subscription's queue leaving takes such an exchange with it. */
  autoDelete?: boolean;
}

/** What every way of consuming takes besides `ack` and `prefetch`. */
export interface ConsumeOptionsBase {
  /**
   * For a stream: where to start reading (RabbitMQ's x-stream-offset). Needs
   * `ack: "manual"` and a prefetch above 0. After a reconnect the consumer goes on
   * from the first message it did not ack, whatever this says.
   */
  offset?: StreamOffset;
  /**
   * For a stream (RabbitMQ 3.13+): only the messages published with this
   * `streamFilterValue` (or one of these), RabbitMQ's x-stream-filter. RabbitMQ
   * filters per chunk, so other values come along: Burrow drops those on the
   * client, acks them (a stream's credit) and counts them in
   * `Subscription.filteredOut`. Needs `ack: "manual"` and a prefetch above 0;
   * without `offset` it starts at "next". Values are non-empty strings without
   * commas (else a TypeError). On an older broker (by CONNECTED's `server` header)
   * the consume is refused with ConsumeInvalidError saying so, nothing sent.
   */
  streamFilter?: string | readonly string[];
  /** With `streamFilter`: also the messages published without a filter value
   * (x-stream-match-unfiltered; default false). */
  matchUnfiltered?: boolean;
  /**
   * The consumer's priority, -128 to 127 (x-priority, RabbitMQ 4.0+; default 0):
   * a queue gives its messages to the highest-priority consumers that have room
   * (prefetch), lower ones only when those are full. Not the message priority of
   * `PublishOptions.priority`. On an older broker, which ignores it silently, the
   * consume is refused with ConsumeInvalidError saying so, nothing sent.
   */
  priority?: number;
}

/** How to consume with acks going back from the page (`ack` "manual" or "auto"):
 * the only kind `messages()` takes. */
export interface ClientAckOptions extends ConsumeOptionsBase {
  /**
   * Who acknowledges, and when:
   * - "manual" (default): you call `message.ack()` (or `nack()`) when done; at most
   *   `prefetch` unacknowledged at once. At least once.
   * - "auto": Burrow acks each message as it hands it to `onMessage` (or to the
   *   `for await` loop), with a window: at most max(`prefetch`, 256) wait unacked
   *   (`messages()`: `prefetch`), so a slow reader slows the broker. At least once:
   *   a message handed out whose ack had not reached RabbitMQ when the connection
   *   was lost comes again, marked `redelivered`. A consume subscribes with
   *   STOMP's `ack:client-individual`.
   */
  ack?: "manual" | "auto";
  /** Unacknowledged messages at once, a whole number from 0 to 65535 (default 1).
   * `consume()`: 0 is unlimited with "manual", and the least window with "auto"
   * (256); a stream refuses 0 (ConsumeInvalidError). `messages()`: 1 or more (0,
   * unlimited, would leave its buffer unbounded: a TypeError). */
  prefetch?: number;
}

/** How to consume with RabbitMQ's own auto-ack (`ack: "broker"`); `consume()` only. */
export interface BrokerAckOptions extends ConsumeOptionsBase {
  /**
   * RabbitMQ's own auto-ack (STOMP's `ack:auto`, what @stomp/stompjs calls ack
   * "auto"): the broker counts a message done as it sends it. Faster (no acks go
   * back), but with no window and at most once. However slow the reader, RabbitMQ
   * sends on and what arrived waits in the page, without bound (kept for the
   * reader across reconnects); what was on its way when a connection was lost, and
   * what had arrived but was not yet handed to `onMessage` when the consumer is
   * cancelled or the connection closed, is lost. Not for `messages()` (its buffer
   * is bounded by the prefetch: a TypeError, and a type error here) nor a stream
   * (ConsumeInvalidError, as for "auto").
   */
  ack: "broker";
  /** Left out, or 0: RabbitMQ ignores a prefetch with its own auto-ack, so any
   * other value is a TypeError (and a type error here). */
  prefetch?: 0;
}

/** How to consume: `ack` "manual" (the default) or "auto" with a `prefetch`, or
 * "broker" without one. */
export type ConsumeOptions = ClientAckOptions | BrokerAckOptions;

/** How `messages()` consumes: `ack` "manual" or "auto" (not "broker"), `prefetch` 1 or more. */
export type MessagesOptions = ClientAckOptions;

/** A status listener for `on` / `off`: "status" gets every event, a type only its own. */
export type StatusListener<T extends StatusEventType | "status"> =
  (event: T extends StatusEventType ? Extract<StatusEvent, { type: T }> : StatusEvent) => void;

/** A connection to RabbitMQ that survives outages; made by `connect()`. It lives
 * until `close()`: dropping the object does not close it. */
export declare class Connection {
  private constructor();
  /** pika's `queue_declare`. Resolves once RabbitMQ accepted it; rejects with
   * DeclareRefusedError in RabbitMQ's words (such as PRECONDITION_FAILED for a
   * redeclare with other durability), DeclareInvalidError for what RabbitMQ would
   * refuse (nothing sent), ConnectionLostError when the connection closed before
   * RabbitMQ answered and it will not go again (reconnects off, its queue deleted
   * or declared otherwise meanwhile: a declare cut short otherwise goes again on
   * the next connection and settles there), or StoppedError. It goes out in call order, as on an
   * amqplib channel: a `publish` or `consume` made after it without awaiting it
   * (before the connection is up too) finds the queue. The queue is declared
   * again, as declared, on every reconnect before the consumers subscribe (a
   * broker restart deletes a non-durable one); a refusal then is a `warning`
   * event naming it, and it is not declared again. */
  queueDeclare(queue: string, options?: QueueDeclareOptions): Promise<void>;
  /** pika's `basic_publish` with a publisher confirm: resolves when RabbitMQ has the
   * message. While the outbox is full it waits (backpressure). Across reconnects the
   * message is kept and sent again, marked as a possible duplicate. Rejects with
   * PublishInvalidError (refused before sending: a name over 255 bytes, an empty
   * routing key on the default exchange, a reserved
   * header, too large), PublishRefusedError (the broker refused it, e.g. a missing
   * exchange: on RabbitMQ 3.10.8 only after reconnects, see there) or
   * StoppedError (closed before its confirm). A stompjs destination as `routingKey`
   * names the exchange too: `"/topic/<key>"` (amq.topic), `"/exchange/<name>/<key>"`,
   * `"/amq/queue/<queue>"` or `"/reply-queue/<queue>"` (a replyTo as Web-STOMP writes it; then leave out
   * `options.exchange`); `"/queue/…"` and `"/temp-queue/…"` reject with a TypeError
   * saying what to call instead (RabbitMQ would declare a queue; Burrow never does
   * unasked). */
  publish(routingKey: string, body: Body, options?: PublishOptions): Promise<void>;
  /** An RPC call (RabbitMQ's tutorial 6): publishes `body` to `routingKey` (on
   * `options.exchange`, default ""; a stompjs destination such as
   * `/amq/queue/rpc_queue` is read as publish reads it) with `replyTo` set to this connection's reply
   * queue (Web-STOMP's `/temp-queue/burrow.rpc`) and a `correlationId`, and resolves
   * with the reply (nothing to ack: the broker auto-acks it). Replies are matched by
   * correlationId; one that matches no call in flight is dropped and counted
   * (`unmatchedReplies`, and a `warning` status event). Rejects with TimeoutError
   * after `options.timeout` ms (whose message says "there is no queue '…' in vhost
   * '…'" when the management API, asked once the call waited half its timeout,
   * said the queue does not exist: RabbitMQ confirms and drops a request no queue
   * takes; "had no consumer" when it counted none, so no server took it);
   * ConnectionLostError when the connection dropped
   * after RabbitMQ took the request (its reply queue went with the connection; a
   * request not yet confirmed waits in the outbox and goes again after the
   * reconnect instead, so a server may see it twice); StoppedError after
   * `close()`; CallInvalidError for a correlationId already in flight; or a
   * publish's errors (PublishInvalidError, PublishRefusedError). */
  call(routingKey: string, body: Body, options?: CallOptions): Promise<Message>;
  /** Answers an RPC request: publishes `body` to `message.replyTo` with its
   * `correlationId`; resolves on RabbitMQ's confirm. Rejects with NoReplyToError
   * for a message without a replyTo (nothing sent), or a publish's errors. */
  reply(message: Message, body: Body, options?: ReplyOptions): Promise<void>;
  /** Replies that matched no call in flight (a late reply after a timeout, a wrong
   * correlationId): each was dropped and counted here. */
  readonly unmatchedReplies: number;
  /** pika's `basic_consume`: `onMessage` is called with each message; with
   * `ack: "manual"` (the default) call `message.ack()` when done. It is resubscribed
   * after every reconnect until `subscription.cancel()` or `close()`; dropping the
   * Subscription cancels nothing. If `onMessage` throws, the error goes to the
   * console and the message stays as it was: with `ack: "manual"` unacknowledged,
   * holding one place of the prefetch (with the default of 1 the consumer then gets
   * nothing more) until the connection closes; catch and `message.nack()` instead.
   * A Promise it returns is not awaited (nor its rejection caught). Throws ConsumeInvalidError for what RabbitMQ would
   * refuse by closing the connection: a stream consumer (one with an offset, or of a queue
   * this connection declared a stream) with `ack: "auto"` or `"broker"`, or with prefetch 0;
   * an offset or stream filter on a queue this connection declared classic or quorum (of a
   * queue declared elsewhere Burrow cannot tell: RabbitMQ closes the connection, and the
   * consumer fails after a few reconnects). StoppedError once closed. A
   * stompjs destination is read as one: `"/topic/<pattern>"` is `{ exchange:
   * "amq.topic", routingKey: pattern }`, `"/exchange/<name>/<key>"` an exchange
   * subscription, `"/amq/queue/<queue>"` and `"/reply-queue/<queue>"` the queue; `"/queue/…"` and
   * `"/temp-queue/…"` throw a TypeError saying what to call instead. */
  consume(queue: string, onMessage: (message: Message) => void, options?: ConsumeOptions): Subscription;
  /** An exchange subscription (tutorials 3 to 5): `{ exchange, routingKey }` is
   * transient (what is published while the connection is down is lost, and a
   * `subscription-gap` status event says so), `{ exchange, routingKey, queue,
   * durable: true }` a durable one through a named queue (nothing lost). Acks,
   * prefetch and `ack` work as for a queue; `offset` is refused
   * (TypeError). Frame: `SUBSCRIBE /exchange/<exchange>/<routingKey>` (with
   * `x-queue-name`, `durable:true`, `auto-delete:false`, `exclusive:false` for a durable one). */
  consume(source: ExchangeSource, onMessage: (message: Message) => void, options?: ConsumeOptions): Subscription;
  /** The messages of `queue` for `for await`: at most `prefetch` (default 1) wait in
   * it, so a slow loop slows the broker instead of filling memory. Leaving the loop
   * (also by an uncaught error, such as the StaleError of an `ack()` whose
   * connection dropped while the loop held the message: catch it to go on)
   * cancels the consumer; the messages it had received and not handed out stay
   * unacknowledged until the connection closes (RabbitMQ's Web-STOMP ignores acks
   * after a cancel), then RabbitMQ delivers them again. `ack: "broker"` is a
   * TypeError here: RabbitMQ's own auto-ack has no window to bound the buffer.
   * `ack: "auto"` reads a stream too, where `consume` refuses it: the iterator's
   * consumer acks manually underneath, as the loop takes each message.
   * Otherwise throws as `consume` does (ConsumeInvalidError, StoppedError once closed). */
  messages(queue: string, options?: MessagesOptions): MessageIterator;
  /** The messages of an exchange subscription (as for `consume`) for `for await`. */
  messages(source: ExchangeSource, options?: MessagesOptions): MessageIterator;
  /** pika's `exchange_declare(exchange, exchange_type, durable, auto_delete)`,
   * through RabbitMQ's management API (STOMP cannot declare exchanges). `type`:
   * "direct", "fanout", "topic" or "headers". Declaring it again as it is does
   * nothing. The connection declares it again after every reconnect, before its
   * subscriptions (a broker restart deletes a non-durable exchange); one it cannot
   * is a `warning` event. Rejects with NoPermissionError (HTTP 401/403: no management tag, no
   * permission, a reserved `amq.` name), ManagementUnreachableError,
   * UnknownExchangeTypeError, InequivalentError (it exists with other properties),
   * StoppedError when `close()` comes before the answer (as for every exchange and
   * binding call; each gives up after 15 s unanswered, ManagementUnreachableError). */
  exchangeDeclare(exchange: string, type: string, options?: ExchangeDeclareOptions): Promise<void>;
  /** pika's `exchange_delete`: resolves with whether there was such an exchange. */
  exchangeDelete(exchange: string): Promise<boolean>;
  /** pika's `queue_bind(queue, exchange, routing_key)`, through the management API.
   * Bound again after every reconnect, as `exchangeDeclare` declares again. An
   * HTTP request, not ordered with the STOMP calls: await `queueDeclare` first.
   * Rejects with NotFoundError for a missing exchange or queue, and as `exchangeDeclare`. */
  queueBind(queue: string, exchange: string, routingKey?: string): Promise<void>;
  /** pika's `queue_unbind`: resolves with whether there was such a binding. */
  queueUnbind(queue: string, exchange: string, routingKey?: string): Promise<boolean>;
  /** pika's `queue_delete`, through the management API: how a durable subscription
   * ends for good (`cancel()` leaves its queue). Resolves with whether there was one.
   * The connection no longer declares it again at a reconnect. */
  queueDelete(queue: string): Promise<boolean>;
  /** Adds a status listener ("status" for every event, or one type); a listener
   * added twice is called once. Returns the connection. */
  on<T extends StatusEventType | "status">(event: T, listener: StatusListener<T>): this;
  /** Removes a listener added with `on`. Returns the connection. */
  off<T extends StatusEventType | "status">(event: T, listener: StatusListener<T>): this;
  /** Closes: DISCONNECT, no more reconnects. Every unconfirmed publish rejects with
   * StoppedError. From the call on, consumers (but `ack: "broker"` ones) hand out
   * nothing more: what arrives could no longer be acked, and RabbitMQ gives it
   * again. Resolves after the `stopped` event. */
  close(): Promise<void>;
  /** Whether it is connected now. */
  readonly connected: boolean;
  /** Whether `close()` was called or RabbitMQ refused CONNECT for good. */
  readonly closed: boolean;
  /** The latest status event (`null` before the first). */
  readonly status: StatusEvent | null;
  /** The outbox: messages (and their body bytes) waiting for their confirm, and how many are in flight. */
  readonly outbox: { readonly messages: number; readonly bytes: number; readonly inFlight: number };
  /** Milliseconds until the next reconnect attempt, or `null` when none is scheduled. */
  readonly reconnectIn: number | null;
}

/** A consumer made by `connection.consume`. */
export declare class Subscription {
  private constructor();
  /** pika's `basic_cancel`: no more messages after those already on their way.
   * RabbitMQ's Web-STOMP ignores an ack after the cancel: a message that arrives
   * after it stays unacknowledged until the connection closes, then RabbitMQ
   * delivers it again. */
  cancel(): void;
  /** The queue it reads now, by name, once subscribed (after its `consumer-ready`
   * event): its queue, a durable subscription's queue, or the queue Burrow names for
   * a transient exchange subscription (`stomp-subscription-…`, a new one after each
   * reconnect, deleted with the connection); undefined before that or once ended. */
  readonly queue: string | undefined;
  /** The consumer's number, as in `consumer-ready` / `consumer-failed` status events. */
  readonly consumer: number;
  /** How many messages its `streamFilter` kept back on the client (other values
   * that came in a chunk RabbitMQ delivered); each was acked for the stream's credit. */
  readonly filteredOut: number;
  /** False once cancelled, closed with its connection, or refused by RabbitMQ. */
  readonly active: boolean;
}

/** `connection.messages(queue)`: an async iterator of messages. */
export interface MessageIterator extends AsyncIterableIterator<Message> {
  /** Messages received and not yet taken by the loop: never more than the prefetch. */
  readonly buffered: number;
  /** The consumer's number, as in status events. */
  readonly consumer: number;
  /** How many messages its `streamFilter` kept back on the client (as `Subscription.filteredOut`). */
  readonly filteredOut: number;
  /** Ends the iteration (as `break` does): cancels the consumer. */
  cancel(): void;
  /** The next message; done once cancelled or closed (what it held then is dropped:
   * it could no longer be acked, and RabbitMQ gives it again); rejects with ConsumeRefusedError
   * if RabbitMQ refused the consumer or cancelled it (its queue was deleted), and with
   * StoppedError (`reason` says why) when the connection stopped by itself: a login
   * refused for good, a close with reconnects off. */
  next(): Promise<IteratorResult<Message, undefined>>;
  /** What `break` calls: as `cancel()`. */
  return(): Promise<IteratorResult<Message, undefined>>;
}

/**
 * Connects to RabbitMQ's Web-STOMP at `url` (or the first of several URLs, the nodes
 * of a cluster: a lost node sends the connection to the next) and keeps the connection
 * up until `close()`: reconnects with backoff, resubscribes consumers, resends
 * unconfirmed publishes. Throws NotInitializedError before `init()`.
 */
export function connect(url: string | readonly string[], options?: ConnectOptions): Connection;

/** Burrow's STOMP frame decoder on its own, for measuring and for pages that bring their own socket. */
export declare class FrameDecoder {
  /** A decoder with the default limits (128 MiB bodies, 1 MiB a header line). */
  constructor();
  /** Takes the bytes of one WebSocket message; returns how many whole frames they
   * completed (heart-beats not counted). Throws MalformedFrameError on bytes that are not STOMP. */
  push(chunk: ArrayBuffer | ArrayBufferView): number;
}

/** The error classes, one per failure, under BurrowError (see errors.d.ts). */
export {
  BurrowError, NotInitializedError, StoppedError, DeclareRefusedError, DeclareInvalidError,
  PublishInvalidError, PublishRefusedError, ConsumeInvalidError, ConsumeRefusedError, StaleError,
  AlreadySettledError, StreamNackError, CancelledError, AckFailedError, MalformedFrameError,
  NoPermissionError, ManagementUnreachableError, UnknownExchangeTypeError, InequivalentError,
  NotFoundError, ManagementRefusedError, TimeoutError, ConnectionLostError, CallInvalidError,
  NoReplyToError,
} from "./errors.js";
