// Every public call of burrow-rabbitmq, typed as an app would write it; compiled
// with `tsc --strict --noEmit` by tests/js_package.rs against the installed tarball.
// Each `@ts-expect-error` line must be an error: were the types `any`, tsc would
// report the directive unused and fail.

import init, {
  connect,
  Connection,
  Subscription,
  FrameDecoder,
  BurrowError,
  NotInitializedError,
  StoppedError,
  DeclareRefusedError,
  DeclareInvalidError,
  PublishInvalidError,
  PublishRefusedError,
  ConsumeInvalidError,
  ConsumeRefusedError,
  StaleError,
  AlreadySettledError,
  StreamNackError,
  AckFailedError,
  MalformedFrameError,
  NoPermissionError,
  ManagementUnreachableError,
  UnknownExchangeTypeError,
  InequivalentError,
  NotFoundError,
  ManagementRefusedError,
  type ExchangeSource,
  type ExchangeDeclareOptions,
  TimeoutError,
  ConnectionLostError,
  CallInvalidError,
  NoReplyToError,
  type CallOptions,
  type ReplyOptions,
  type ConnectOptions,
  type Credentials,
  type ConsumeOptions,
  type MessagesOptions,
  type Message,
  type MessageIterator,
  type PublishOptions,
  type QueueDeclareOptions,
  type StatusEvent,
  type StreamOffset,
  type InitOutput,
} from "burrow-rabbitmq";
import initWidget, { mount, type Widget, type WidgetOptions } from "burrow-rabbitmq/widget";
import wasmUrl from "burrow-rabbitmq/burrow_bg.wasm";

function describe(event: StatusEvent): string {
  switch (event.type) {
    case "connecting":
      return event.url;
    case "connected":
      return `${event.url} ${event.server ?? "?"} ${event.heartbeatOutgoing + event.heartbeatIncoming}`;
    case "reconnecting":
      return `${event.reason} ${event.fault} ${event.attempt} ${event.delayMs} ${event.nextUrl}`;
    case "renewing":
      return String(event.expiresInMs);
    case "renewed":
      return `${event.url} ${event.server ?? "?"}`;
    case "consumer-ready":
      return String(event.consumer);
    case "consumer-failed":
      return `${event.consumer} ${event.reason}`;
    case "publishes-held-back":
      return `${event.inFlight} since ${event.sinceMs}`;
    case "publishes-flowing":
      return `after ${event.heldForMs} ms`;
    case "subscription-gap":
      return `${event.consumer} ${event.exchange} ${event.routingKey}`;
    case "warning":
      return event.message;
    case "stopped":
      return event.reason;
  }
}

function read(message: Message): string {
  const body: Uint8Array = message.body;
  const parsed: unknown = message.json();
  const when: Date | undefined = message.timestamp;
  const headers: Readonly<Record<string, string>> = message.headers;
  const optional: (string | undefined)[] = [message.contentType, message.contentEncoding, message.correlationId,
    message.replyTo, message.expiration, message.messageId, message.type, message.userId, message.appId];
  const numbers: (number | undefined)[] = [message.priority, message.deliveryCount, message.streamOffset];
  const flags: boolean[] = [message.redelivered, message.possiblyDuplicate, message.persistent];
  message.ack();
  message.nack();
  message.nack({ requeue: false });
  // @ts-expect-error json() is unknown, not any
  const wrong: number = message.json();
  void [body, parsed, when, headers, optional, numbers, flags, wrong];
  return `${message.text} ${message.routingKey} ${message.exchange}`;
}

export async function sample(element: Element): Promise<void> {
  const output: InitOutput = await init(wasmUrl);
  const memory: number = output.memory.buffer.byteLength;
  await init();
  const connectOptions: ConnectOptions = {
    login: "burrow", passcode: "burrow", vhost: "/", heartbeatOutgoing: 10000, heartbeatIncoming: 10000,
    reconnectDelay: 500, maxReconnectDelay: 30000, window: 128, writesPerMs: Infinity, outboxMessages: 10000,
    outboxBytes: 1 << 26, managementUrl: "http://127.0.0.1:15672/api", onStatus: (event) => void describe(event),
  };
  const connection: Connection = connect("ws://127.0.0.1:15674/ws", connectOptions);
  const tokens: ConnectOptions = {
    credentials: async (): Promise<Credentials> => ({ login: "burrow", passcode: "a.jwt.token", expiresAt: new Date() }),
    credentialsTimeout: 10000,
  };
  // @ts-expect-error a provider answers a Promise, not credentials
  const notAPromise: ConnectOptions = { credentials: () => ({ passcode: "x" }) };
  void [tokens, notAPromise];
  connect(["ws://a:15674/ws", "ws://b:15674/ws"] as const).close();
  const reconnecting = (event: { attempt: number; delayMs: number }) => void event;
  connection.on("reconnecting", reconnecting).on("status", (event) => void describe(event)).off("reconnecting", reconnecting);
  connection.on("connected", (event) => void event.server);
  const declare: QueueDeclareOptions = { durable: true, exclusive: false, autoDelete: false, arguments: { "x-queue-type": "quorum", "x-max-length": 10 } };
  await connection.queueDeclare("task_queue", declare);
  const publish: PublishOptions = {
    exchange: "", persistent: true, contentType: "application/json", contentEncoding: "identity", correlationId: "c",
    replyTo: "replies", expiration: 60000, messageId: "m", timestamp: new Date(), type: "t", userId: "burrow", appId: "a",
    priority: 1, headers: { text: "x", number: 1, flag: true },
  };
  await connection.publish("task_queue", "text", publish);
  await connection.publish("task_queue", new ArrayBuffer(1), { expiration: "60000", timestamp: 1733250000 });
  await connection.publish("task_queue", new Uint8Array(1));
  await connection.publish("task_queue", new DataView(new ArrayBuffer(2)));
  const offsets: StreamOffset[] = ["first", "last", "next", 5, new Date(), { timestamp: 1733250000 }, { timestamp: new Date() }];
  const consumeOptions: ConsumeOptions = { ack: "manual", prefetch: 10, offset: offsets[0] };
  const subscription: Subscription = connection.consume("task_queue", (message) => void read(message), consumeOptions);
  const readsQueue: string | undefined = subscription.queue;
  const state: [number, boolean, string | undefined, number] = [subscription.consumer, subscription.active, readsQueue, subscription.filteredOut];
  const filtered: ConsumeOptions = { offset: "first", prefetch: 10, streamFilter: ["red", "blue"], matchUnfiltered: true };
  const single: ConsumeOptions = { streamFilter: "red", prefetch: 10, priority: -5 };
  connection.consume("events", (message) => { const value: string | undefined = message.streamFilterValue; void value; }, filtered).cancel();
  const iterated = connection.messages("events", single);
  const keptBack: number = iterated.filteredOut;
  iterated.cancel();
  await connection.publish("events", "red one", { streamFilterValue: "red" });
  subscription.cancel();
  const declareExchange: ExchangeDeclareOptions = { durable: true, autoDelete: false };
  await connection.exchangeDeclare("topic_logs", "topic", declareExchange);
  await connection.exchangeDeclare("logs", "fanout");
  const bound: void = await connection.queueBind("task_queue", "topic_logs", "kern.*");
  const unbound: boolean = await connection.queueUnbind("task_queue", "topic_logs", "kern.*");
  const gone: [boolean, boolean] = [await connection.exchangeDelete("logs"), await connection.queueDelete("kern-log")];
  void [bound, unbound, gone];
  const transient: ExchangeSource = { exchange: "topic_logs", routingKey: "*.critical" };
  const durable: ExchangeSource = { exchange: "topic_logs", routingKey: "kern.*", queue: "kern-log", durable: true };
  connection.consume(transient, (message) => void read(message), { ack: "auto" }).cancel();
  connection.consume(durable, (message) => message.ack(), { prefetch: 10 }).cancel();
  connection.consume({ exchange: "logs" }, () => {}).cancel();
  // RabbitMQ's own auto-ack (stompjs's ack "auto"): faster, no window, at most once.
  const brokerAcks: ConsumeOptions = { ack: "broker" };
  connection.consume("task_queue", (message) => void read(message), brokerAcks).cancel();
  connection.messages({ exchange: "logs" }, { prefetch: 5 }).cancel();
  connection.on("subscription-gap", (event) => void `${event.exchange} ${event.routingKey}`);
  const windowed: MessagesOptions = { prefetch: 5, ack: "auto" };
  const messages: MessageIterator = connection.messages("task_queue", windowed);
  for await (const message of messages) {
    read(message);
    if (messages.buffered > 4) break;
  }
  messages.cancel();
  const next: IteratorResult<Message, undefined> = await connection.messages("task_queue").next();
  if (!next.done) next.value.ack();
  // RPC (tutorial 6): a call resolves with the reply; a server replies to a request.
  const callOptions: CallOptions = { timeout: 5000, exchange: "", correlationId: "c-1", persistent: false };
  const reply: Message = await connection.call("rpc_queue", "30", callOptions);
  const replyOptions: ReplyOptions = { contentType: "text/plain" };
  await connection.reply(reply, String(reply.text.length), replyOptions);
  const unmatched: number = connection.unmatchedReplies;
  try {
    await connection.call("rpc_queue", new Uint8Array([51, 48]));
  } catch (error) {
    const rpcKinds = [TimeoutError, ConnectionLostError, CallInvalidError, NoReplyToError];
    void rpcKinds.some((kind) => error instanceof kind);
  }
  // @ts-expect-error a call sets replyTo itself
  await connection.call("rpc_queue", "30", { replyTo: "mine" });
  void unmatched;
  const status: StatusEvent | null = connection.status;
  const outbox: number = connection.outbox.messages + connection.outbox.bytes + connection.outbox.inFlight;
  const countdown: number | null = connection.reconnectIn;
  const up: boolean = connection.connected && !connection.closed;
  await connection.close();
  const decoder = new FrameDecoder();
  const frames: number = decoder.push(new Uint8Array([10])) + decoder.push(new ArrayBuffer(0));
  try {
    await connection.publish("q", "x");
  } catch (error) {
    if (error instanceof StoppedError) {
      const name: string = error.name;
      const why: string | undefined = error.reason;
      void name, void why;
    }
    const kinds = [NotInitializedError, StoppedError, DeclareRefusedError, DeclareInvalidError, PublishInvalidError,
      PublishRefusedError, ConsumeInvalidError, ConsumeRefusedError, StaleError, AlreadySettledError, StreamNackError,
      AckFailedError, MalformedFrameError, NoPermissionError, ManagementUnreachableError, UnknownExchangeTypeError,
      InequivalentError, NotFoundError, ManagementRefusedError];
    const ours: boolean = error instanceof BurrowError && kinds.some((kind) => error instanceof kind);
    void ours;
  }
  await initWidget();
  const widgetOptions: WidgetOptions = { url: "ws://127.0.0.1:15674/ws", login: "burrow", passcode: "burrow", vhost: "/",
    queue: "hello", panels: ["connection", "queue", "producer", "consumers", "guide"], connect: true, title: "Burrow" };
  const widget: Widget = mount(element, widgetOptions);
  widget.unmount();
  void [memory, state, keptBack, status, outbox, countdown, up, frames];

  // @ts-expect-error a number is not a queue name
  await connection.publish(42, "x");
  // @ts-expect-error a number is not a body
  await connection.publish("q", 42);
  // @ts-expect-error a header value of another type
  await connection.publish("q", "x", { headers: { h: {} } });
  // @ts-expect-error an unknown option
  connect("ws://x", { prefech: 1 });
  // @ts-expect-error prefetch is a number
  connection.consume("q", () => {}, { prefetch: "1" });
  // @ts-expect-error RabbitMQ's own auto-ack has no window: the iterator's buffer would be unbounded (a TypeError)
  connection.messages("q", { ack: "broker" });
  // @ts-expect-error the same for an exchange subscription's iterator
  connection.messages({ exchange: "logs" }, { ack: "broker" });
  // @ts-expect-error a queue names a durable subscription, which says durable: true (a TypeError, QA)
  connection.consume({ exchange: "amq.topic", routingKey: "t", queue: "q" }, () => {});
  // @ts-expect-error RabbitMQ ignores a prefetch with its own auto-ack (a TypeError)
  connection.consume("q", () => {}, { ack: "broker", prefetch: 5 });
  // @ts-expect-error the same through an options object typed as an app would
  connection.consume({ exchange: "logs" }, () => {}, { ack: "broker", prefetch: 1 } as const);
  // @ts-expect-error a durable subscription needs its queue
  connection.consume({ exchange: "logs", durable: true }, () => {});
  // @ts-expect-error an exchange's name is a string
  connection.consume({ exchange: 1 }, () => {});
  // @ts-expect-error no such event
  connection.on("nope", () => {});
  // @ts-expect-error a reconnecting event has no server
  connection.on("reconnecting", (event) => event.server);
  // @ts-expect-error made by connect(), not with new
  new Connection();
  // @ts-expect-error not a panel
  mount(element, { panels: ["nope"] });
}
