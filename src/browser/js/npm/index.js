// burrow-rabbitmq: RabbitMQ in the browser. This module is the package's whole
// public surface (index.d.ts types it). It checks every argument (checks.js), then
// calls the wasm glue (burrow.js, written by wasm-bindgen from src/browser/js/).
//
// Lifetimes never depend on the garbage collector: these classes are plain
// JavaScript, and the wasm keeps each connection (and its consumers and callbacks)
// in a table until it has stopped. Dropping a Connection or Subscription object
// closes or cancels nothing; close() and cancel() do.

import rawInit, * as raw from "./burrow.js";
import { NotInitializedError } from "./errors.js";
import { SETTLE, Message } from "./message.js";
import { MessageIterator, PUSH, END, ATTACH } from "./iterator.js";
import * as check from "./checks.js";
import { consumeSource, consumeOptions, filterValue, stompDestination } from "./consume_options.js";

export {
  BurrowError, NotInitializedError, StoppedError, DeclareRefusedError, DeclareInvalidError, PublishInvalidError,
  PublishRefusedError, ConsumeInvalidError, ConsumeRefusedError, StaleError, AlreadySettledError,
  StreamNackError, CancelledError, AckFailedError, MalformedFrameError,
  TimeoutError, ConnectionLostError, CallInvalidError, NoReplyToError,
} from "./errors.js";
export {
  NoPermissionError, ManagementUnreachableError, UnknownExchangeTypeError, InequivalentError, NotFoundError,
  ManagementRefusedError,
} from "./errors.js";

let initialized = null;
let ready = false;

/**
 * Loads the wasm. Await it once before anything else; later calls return the same
 * Promise. `wasm` says where it is (default: `burrow_bg.wasm` beside this module).
 */
export default function init(wasm) {
  if (wasm !== undefined && !check.isWasmSource(wasm)) {
    return Promise.reject(check.wrong("init", "wasm", "a URL, a string, a Request, a Response, a BufferSource, a WebAssembly.Module or a Promise of one", wasm));
  }
  if (initialized === null) {
    initialized = rawInit(wasm === undefined ? undefined : { module_or_path: wasm }).then(
      (exports) => {
        ready = true;
        return Object.freeze({ memory: exports.memory });
      },
      (error) => {
        initialized = null;
        throw error;
      },
    );
  }
  return initialized;
}

function needInit(where) {
  if (!ready) throw new NotInitializedError(`${where}: the wasm is not loaded yet: await init() first`);
}

const CREATE = Symbol("burrow.create");
const DISPATCH = Symbol("burrow.dispatch");
const ENDED = Symbol("burrow.ended");

// The wasm reads the checked connect options (rawConnect) and publish properties (packed())
// by their place in CONNECT_OPTIONS and PUBLISH_OPTIONS: add at the end, never reorder.
const CONNECT_OPTIONS = ["login", "passcode", "vhost", "heartbeatOutgoing", "heartbeatIncoming", "reconnectDelay",
  "maxReconnectDelay", "window", "writesPerMs", "outboxMessages", "outboxBytes", "managementUrl", "onStatus",
  "credentials", "credentialsTimeout"];
const DECLARE_OPTIONS = ["durable", "exclusive", "autoDelete", "arguments"];
const PUBLISH_OPTIONS = ["exchange", "persistent", "contentType", "contentEncoding", "correlationId", "replyTo",
  "expiration", "messageId", "timestamp", "type", "userId", "appId", "priority", "headers", "streamFilterValue"];
const PUBLISH_STRINGS = ["exchange", "contentType", "contentEncoding", "correlationId", "replyTo", "messageId",
  "type", "userId", "appId"];
const CALL_OPTIONS = ["timeout", ...PUBLISH_OPTIONS.filter((name) => name !== "replyTo")];
const REPLY_OPTIONS = PUBLISH_OPTIONS.filter((name) => name !== "exchange" && name !== "replyTo");
const CALL_TIMEOUT = 30000;
const EVENTS = ["status", "connecting", "connected", "reconnecting", "renewing", "renewed", "consumer-ready", "consumer-failed", "publishes-held-back", "publishes-flowing",
  "warning", "stopped", "subscription-gap"];
const EXCHANGE_DECLARE_OPTIONS = ["durable", "autoDelete"];
const MAX_U32 = 4294967295;

/**
 * Connects to RabbitMQ's Web-STOMP at `url` (or the first of several URLs, the
 * nodes of a cluster) and keeps the connection up until `close()`.
 */
export function connect(url, options) {
  const where = "connect";
  const urls = typeof url === "string" ? [url] : url;
  if (!Array.isArray(urls) || urls.length === 0) {
    throw check.wrong(where, "url", "a ws:// or wss:// URL, or a non-empty array of them", url);
  }
  urls.forEach((each, n) => {
    const what = typeof url === "string" ? "url" : `url[${n}]`;
    if (typeof each !== "string" || !/^wss?:\/\//.test(each)) {
      throw check.wrong(where, what, "a ws:// or wss:// URL (such as ws://127.0.0.1:15674/ws)", each);
    }
  });
  const given = check.options(where, "options", options, CONNECT_OPTIONS) ?? {};
  const settings = {};
  for (const name of ["login", "passcode", "vhost"]) {
    settings[name] = check.optionalString(where, `options.${name}`, given[name]);
  }
  settings.heartbeatOutgoing = check.optionalMillis(where, "options.heartbeatOutgoing", given.heartbeatOutgoing, 0);
  settings.heartbeatIncoming = check.optionalMillis(where, "options.heartbeatIncoming", given.heartbeatIncoming, 0);
  settings.reconnectDelay = check.optionalMillis(where, "options.reconnectDelay", given.reconnectDelay, 1);
  settings.maxReconnectDelay = check.optionalMillis(where, "options.maxReconnectDelay", given.maxReconnectDelay, 1);
  const first = settings.reconnectDelay ?? 500;
  if (settings.maxReconnectDelay !== undefined && settings.maxReconnectDelay < first) {
    throw new TypeError(`${where}: options.maxReconnectDelay (${settings.maxReconnectDelay}) must be at least options.reconnectDelay (${first}${settings.reconnectDelay === undefined ? ", the default" : ""})`);
  }
  settings.window = check.optionalWhole(where, "options.window", given.window, 1, 65535);
  // Infinity, like 0: never batch.
  settings.writesPerMs = given.writesPerMs === Infinity
    ? 0
    : check.optionalWhole(where, "options.writesPerMs", given.writesPerMs, 0, 1000000);
  settings.outboxMessages = check.optionalWhole(where, "options.outboxMessages", given.outboxMessages, 1, MAX_U32);
  settings.outboxBytes = check.optionalWhole(where, "options.outboxBytes", given.outboxBytes, 1, MAX_U32);
  settings.managementUrl = check.optionalString(where, "options.managementUrl", given.managementUrl);
  // A path is on the page's origin: a same-origin proxy's (QA: "/api" was refused).
  if (settings.managementUrl !== undefined && !/^(https?:\/\/|\/)/.test(settings.managementUrl)) {
    throw check.wrong(where, "options.managementUrl", "an http:// or https:// URL (such as http://127.0.0.1:15672/api), or a path such as /api", settings.managementUrl);
  }
  const onStatus = check.optionalFunction(where, "options.onStatus", given.onStatus);
  const provider = check.optionalFunction(where, "options.credentials", given.credentials);
  if (provider !== undefined && settings.passcode !== undefined) {
    throw check.wrong(where, "options.credentials", "left out when options.passcode is given (a provider or fixed credentials, not both)", provider);
  }
  settings.credentialsTimeout = check.optionalMillis(where, "options.credentialsTimeout", given.credentialsTimeout, 1);
  if (provider !== undefined) settings.credentials = check.credentialsProvider(provider, settings.login);
  needInit(where);
  // By position in CONNECT_OPTIONS (onStatus's place empty); the wasm fills in the defaults.
  return new Connection(CREATE, urls.slice(), CONNECT_OPTIONS.map((name) => settings[name]), onStatus);
}

/** A connection to RabbitMQ that survives outages; made by `connect()`. */
export class Connection {
  #id;
  #onStatus;
  #listeners = new Map();
  #status = null;
  #stopped = false;
  #whenStopped = [];

  constructor(token, urls, settings, onStatus) {
    if (token !== CREATE) throw new TypeError("Connection: made by connect(url, options), not with new");
    this.#onStatus = onStatus;
    this.#id = raw.rawConnect(urls, settings, this, (event) => this[DISPATCH](event));
  }

  /** pika's queue_declare; resolves once RabbitMQ accepted it. */
  queueDeclare(queue, options) {
    const where = "queueDeclare";
    try {
      check.string(where, "queue", queue);
      const given = check.options(where, "options", options, DECLARE_OPTIONS) ?? {};
      const durable = check.optionalBoolean(where, "options.durable", given.durable) ?? false;
      const exclusive = check.optionalBoolean(where, "options.exclusive", given.exclusive) ?? false;
      const autoDelete = check.optionalBoolean(where, "options.autoDelete", given.autoDelete) ?? false;
      const args = check.record(where, "options.arguments", given.arguments) ?? {};
      const flat = [];
      for (const [name, value] of Object.entries(args)) {
        const what = `options.arguments[${JSON.stringify(name)}]`;
        if (typeof value === "string") flat.push(name, value);
        else if (Number.isSafeInteger(value)) flat.push(name, String(value));
        else throw check.wrong(where, what, "a string or a whole number", value);
      }
      const id = this.#id;
      return new Promise((resolve, reject) => raw.rawDeclare(id, queue, durable, exclusive, autoDelete, flat, resolve, reject));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** pika's basic_publish with a publisher confirm: resolves when RabbitMQ has the message. */
  publish(routingKey, body, options) {
    if (typeof routingKey !== "string") {
      return Promise.reject(check.wrong("publish", "routingKey", "a string (the queue, for the default exchange)", routingKey));
    }
    let properties;
    try {
      if (options !== undefined) properties = publishProperties(options);
      // A stompjs destination ("/topic/k", "/exchange/x/k", "/amq/queue/q") names
      // the exchange too; else a key that starts with "/" would route nowhere.
      const to = stompDestination("publish", routingKey);
      if (to !== null) {
        if (properties?.exchange !== undefined) {
          throw new TypeError(`publish: "${routingKey}" is a destination, which names the exchange; leave out options.exchange`);
        }
        properties = to.queue === undefined ? { ...properties, exchange: to.exchange } : properties;
        routingKey = to.queue ?? to.routingKey;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#id;
    // The confirm settles the Promise straight from the wasm: no task per message.
    if (typeof body === "string") {
      return new Promise((resolve, reject) => raw.rawPublishText(id, routingKey, body, packed(properties), resolve, reject));
    }
    const bytes = check.bytesOf(body);
    if (bytes === null) {
      return Promise.reject(check.wrong("publish", "body", "a string, an ArrayBuffer or an ArrayBufferView (such as a Uint8Array)", body));
    }
    return new Promise((resolve, reject) => raw.rawPublishBytes(id, routingKey, bytes, packed(properties), resolve, reject));
  }

  /**
   * An RPC call (RabbitMQ's tutorial 6): publishes `body` to `routingKey` with
   * `replyTo` set to this connection's reply queue and a `correlationId`, and
   * resolves with the reply Message. Rejects with TimeoutError after
   * `options.timeout` ms (default 30000), ConnectionLostError when the connection
   * dropped after RabbitMQ took the request, StoppedError after `close()`.
   */
  call(routingKey, body, options) {
    const where = "call";
    try {
      check.string(where, "routingKey", routingKey);
      const given = check.options(where, "options", options, CALL_OPTIONS) ?? {};
      const timeout = check.optionalMillis(where, "options.timeout", given.timeout, 1) ?? CALL_TIMEOUT;
      const { timeout: _, ...rest } = given;
      let properties = Object.keys(rest).length === 0 ? undefined : publishProperties(rest, where);
      // A stompjs destination names the server's queue or exchange, as publish reads it.
      const to = stompDestination(where, routingKey);
      if (to !== null) {
        if (properties?.exchange !== undefined) {
          throw new TypeError(`${where}: "${routingKey}" is a destination, which names the exchange; leave out options.exchange`);
        }
        properties = to.queue === undefined ? { ...properties, exchange: to.exchange } : properties;
      }
      const queue = to === null ? routingKey : to.queue ?? to.routingKey;
      const bytes = bodyBytes(where, body);
      const id = this.#id;
      return new Promise((resolve, reject) => raw.rawCall(id, queue, bytes, packed(properties), timeout, resolve, reject));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Answers an RPC request: publishes `body` to `message.replyTo` with its
   * `correlationId`; resolves on RabbitMQ's confirm. A message without a replyTo
   * is refused with NoReplyToError (nothing is sent).
   */
  reply(message, body, options) {
    const where = "reply";
    try {
      if (!(message instanceof Message)) throw check.wrong(where, "message", "a Message a consumer received", message);
      const given = check.options(where, "options", options, REPLY_OPTIONS);
      const properties = given === undefined ? undefined : publishProperties(given, where);
      const bytes = bodyBytes(where, body);
      const id = this.#id;
      return new Promise((resolve, reject) =>
        raw.rawReply(id, message.replyTo, message.correlationId, bytes, packed(properties), resolve, reject));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Replies that matched no call in flight (a late reply after a timeout): dropped, counted here. */
  get unmatchedReplies() {
    return this.#stopped ? 0 : raw.rawUnmatchedReplies(this.#id);
  }

  /**
   * pika's basic_consume: `onMessage` is called with each message until `cancel()`
   * or `close()`. `source` is a queue's name, or `{ exchange, routingKey }` (a
   * transient subscription: lost across reconnects, announced by a
   * `subscription-gap` status event), or `{ exchange, routingKey, queue, durable: true }`.
   */
  consume(source, onMessage, options) {
    const where = "consume";
    const from = consumeSource(where, source);
    if (typeof onMessage !== "function") throw check.wrong(where, "onMessage", "a function", onMessage);
    const settings = consumeOptions(where, options, 0, from);
    let subscription = null;
    const onEnd = (error) => subscription?.[ENDED](error);
    const key = rawConsume(this.#id, from, settings, settings.auto, settings.broker, onMessage, onEnd);
    subscription = new Subscription(CREATE, this.#id, key);
    return subscription;
  }

  /**
   * The messages of `source` (as for `consume`) as an async iterator, for
   * `for await`. At most `prefetch` messages wait in it: a slow loop slows the
   * broker down.
   */
  messages(source, options) {
    const where = "messages";
    const from = consumeSource(where, source);
    const settings = consumeOptions(where, options, 1, from);
    // Always manual underneath: "auto" acks each message as the loop takes it, so
    // the broker still stops at the prefetch.
    const iterator = new MessageIterator(settings.auto);
    const push = (message) => iterator[PUSH](message);
    const end = (error) => iterator[END](error);
    const key = rawConsume(this.#id, from, settings, false, false, push, end);
    iterator[ATTACH](new Subscription(CREATE, this.#id, key));
    return iterator;
  }

  /**
   * pika's exchange_declare, through RabbitMQ's management API (STOMP cannot
   * declare an exchange). `type`: "direct", "fanout", "topic" or "headers".
   */
  exchangeDeclare(exchange, type, options) {
    const where = "exchangeDeclare";
    try {
      check.string(where, "exchange", exchange);
      check.string(where, "type", type);
      const given = check.options(where, "options", options, EXCHANGE_DECLARE_OPTIONS) ?? {};
      const durable = check.optionalBoolean(where, "options.durable", given.durable) ?? false;
      const autoDelete = check.optionalBoolean(where, "options.autoDelete", given.autoDelete) ?? false;
      return this.#exchangeCall(1, exchange, type, "", (durable ? 1 : 0) | (autoDelete ? 2 : 0));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** pika's exchange_delete; resolves with whether there was such an exchange. */
  exchangeDelete(exchange) {
    if (typeof exchange !== "string") return Promise.reject(check.wrong("exchangeDelete", "exchange", "a string", exchange));
    return this.#exchangeCall(2, exchange, "", "", 0);
  }

  /** pika's queue_bind(queue, exchange, routing_key), through the management API. */
  queueBind(queue, exchange, routingKey) {
    return this.#bindingCall("queueBind", 3, queue, exchange, routingKey);
  }

  /** pika's queue_unbind; resolves with whether there was such a binding. */
  queueUnbind(queue, exchange, routingKey) {
    return this.#bindingCall("queueUnbind", 4, queue, exchange, routingKey);
  }

  /**
   * pika's queue_delete, through the management API: how a durable subscription
   * ends for good (cancel() leaves its queue). Resolves with whether there was one.
   */
  queueDelete(queue) {
    if (typeof queue !== "string") return Promise.reject(check.wrong("queueDelete", "queue", "a string", queue));
    return this.#exchangeCall(5, queue, "", "", 0);
  }

  #bindingCall(where, op, queue, exchange, routingKey) {
    try {
      check.string(where, "queue", queue);
      check.string(where, "exchange", exchange);
      const key = routingKey === undefined ? "" : check.string(where, "routingKey", routingKey);
      return this.#exchangeCall(op, queue, exchange, key, 0);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #exchangeCall(op, a, b, c, flags) {
    const id = this.#id;
    return new Promise((resolve, reject) => raw.rawExchange(id, op, a, b, c, flags, resolve, reject));
  }

  /** Adds a status listener: `event` is a StatusEvent type, or "status" for all of them. */
  on(event, listener) {
    this.#listenerArguments("on", event, listener);
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  /** Removes a listener added with `on`. */
  off(event, listener) {
    this.#listenerArguments("off", event, listener);
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  #listenerArguments(where, event, listener) {
    if (typeof event !== "string" || !EVENTS.includes(event)) {
      throw check.wrong(where, "event", `one of ${EVENTS.map((e) => JSON.stringify(e)).join(", ")}`, event);
    }
    if (typeof listener !== "function") throw check.wrong(where, "listener", "a function", listener);
  }

  /**
   * Closes: DISCONNECT, no more reconnects; unconfirmed publishes reject with
   * StoppedError. Resolves after the `stopped` event.
   */
  close() {
    if (this.#stopped) return Promise.resolve();
    const stopped = new Promise((resolve) => this.#whenStopped.push(resolve));
    raw.rawClose(this.#id);
    return stopped;
  }

  /** Whether it is connected now. */
  get connected() {
    return !this.#stopped && raw.rawConnected(this.#id);
  }

  /** Whether `close()` was called or RabbitMQ refused CONNECT for good. */
  get closed() {
    return this.#stopped || raw.rawClosed(this.#id);
  }

  /** The latest status event (`null` before the first). */
  get status() {
    return this.#status;
  }

  /** The outbox: messages and bytes waiting for their confirm, and how many are in flight. */
  get outbox() {
    const [messages, bytes, inFlight] = this.#stopped ? [0, 0, 0] : raw.rawOutbox(this.#id);
    return { messages, bytes, inFlight };
  }

  /** Milliseconds until the next reconnect attempt, or `null` when none is scheduled. */
  get reconnectIn() {
    return this.#stopped ? null : raw.rawReconnectIn(this.#id);
  }

  [SETTLE](token, how) {
    const error = raw.rawSettle(this.#id, token, how);
    if (error !== undefined) throw error;
  }

  [DISPATCH](event) {
    Object.freeze(event);
    this.#status = event;
    if (event.type === "stopped") this.#stopped = true;
    const call = (listener) => {
      try {
        listener.call(undefined, event);
      } catch (thrown) {
        // A listener that throws must not stop the others.
        console.error("burrow-rabbitmq: a status listener threw", thrown);
      }
    };
    if (this.#onStatus !== undefined) call(this.#onStatus);
    for (const type of ["status", event.type]) {
      const set = this.#listeners.get(type);
      if (set !== undefined) [...set].forEach(call);
    }
    if (event.type === "stopped") this.#whenStopped.splice(0).forEach((resolve) => resolve());
  }
}

/** A consumer made by `connection.consume`; it lives until `cancel()` or the connection's `close()`. */
export class Subscription {
  #connection;
  #key;
  #active = true;

  constructor(token, connection, key) {
    if (token !== CREATE) throw new TypeError("Subscription: made by connection.consume(), not with new");
    this.#connection = connection;
    this.#key = key;
  }

  /** pika's basic_cancel: no more messages after those already on their way. */
  cancel() {
    if (!this.#active) return;
    // Inactive at once, as the types say: the wasm's consumer task ends later.
    this.#active = false;
    raw.rawCancel(this.#connection, this.#key);
  }

  /** The queue it reads now, by name, once subscribed (`consumer-ready`): its queue,
   * a durable subscription's queue, or the queue Burrow names for a transient
   * exchange subscription (`stomp-subscription-…`, a new one after each reconnect);
   * undefined before that. */
  get queue() {
    return this.#active ? raw.rawConsumerQueue(this.#connection, this.#key) : undefined;
  }

  /** The consumer's number, as in `consumer-ready` / `consumer-failed` status events. */
  get consumer() {
    return this.#key;
  }

  /**
   * How many messages its stream filter kept back on the client: RabbitMQ
   * filters a stream per chunk, so other values come along; they are acked (a
   * stream's credit) and counted here instead of reaching `onMessage`.
   */
  get filteredOut() {
    return raw.rawFilteredOut(this.#connection, this.#key);
  }

  /** False once cancelled, closed with its connection, or refused by RabbitMQ. */
  get active() {
    return this.#active;
  }

  [ENDED]() {
    this.#active = false;
  }
}

/** Starts a consumer in the wasm from a checked source and settings; returns its
 * number. `auto`: no acks by the reader; `broker`: RabbitMQ's own auto-ack. */
function rawConsume(id, from, settings, auto, broker, onMessage, onEnd) {
  const { prefetch, offsetKind, offset, filter, matchUnfiltered, priority } = settings;
  return raw.rawConsume(id, from.exchange, from.routingKey, from.queue, auto, broker, prefetch, offsetKind, offset, filter,
    matchUnfiltered, priority, onMessage, onEnd);
}

/** The publish options, checked, as the wasm reads them; `undefined` when there are none. */
function publishProperties(options, where = "publish") {
  const given = check.options(where, "options", options, PUBLISH_OPTIONS);
  const out = {};
  let any = false;
  for (const name of PUBLISH_STRINGS) {
    if (given[name] !== undefined) {
      out[name] = check.string(where, `options.${name}`, given[name]);
      any = true;
    }
  }
  if (given.persistent !== undefined) {
    out.persistent = check.optionalBoolean(where, "options.persistent", given.persistent);
    any = true;
  }
  if (given.priority !== undefined) {
    out.priority = check.optionalWhole(where, "options.priority", given.priority, 0, 255);
    any = true;
  }
  if (given.streamFilterValue !== undefined) {
    out.streamFilterValue = filterValue(where, "options.streamFilterValue", given.streamFilterValue);
    any = true;
  }
  if (given.expiration !== undefined) {
    const value = given.expiration;
    const ok = (typeof value === "string" && /^[0-9]{1,10}$/.test(value)) || (Number.isInteger(value) && value >= 0 && value <= MAX_U32);
    if (!ok) throw check.wrong(where, "options.expiration", "milliseconds to live: a whole number or a string of digits", value);
    out.expiration = String(value);
    any = true;
  }
  if (given.timestamp !== undefined) {
    out.timestamp = check.epochSeconds(where, "options.timestamp", given.timestamp);
    any = true;
  }
  if (given.headers !== undefined) {
    const headers = check.record(where, "options.headers", given.headers);
    const flat = [];
    for (const [name, value] of Object.entries(headers)) {
      // STOMP headers are text: numbers and booleans travel as their text.
      if (typeof value === "string") flat.push(name, value);
      else if ((typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean") flat.push(name, String(value));
      else throw check.wrong(where, `options.headers[${JSON.stringify(name)}]`, "a string, a finite number or a boolean", value);
    }
    out.headers = flat;
    any = true;
  }
  return any ? out : undefined;
}

/** Checked properties as the wasm reads them: by position, in PUBLISH_OPTIONS's order. */
const packed = (properties) => properties && PUBLISH_OPTIONS.map((name) => properties[name]);

const utf8 = new TextEncoder();

/** A body as bytes: a string's UTF-8, or an ArrayBuffer's or ArrayBufferView's bytes. */
function bodyBytes(where, body) {
  if (typeof body === "string") return utf8.encode(body);
  const bytes = check.bytesOf(body);
  if (bytes === null) throw check.wrong(where, "body", "a string, an ArrayBuffer or an ArrayBufferView (such as a Uint8Array)", body);
  return bytes;
}

/**
 * Burrow's STOMP frame decoder on its own: push the bytes of each WebSocket
 * message; returns how many whole frames they completed. For measuring.
 */
export class FrameDecoder {
  #decoder;

  constructor() {
    needInit("FrameDecoder");
    this.#decoder = new raw.FrameDecoder();
  }

  /** Takes one chunk; returns how many whole frames it completed (heart-beats not counted). */
  push(chunk) {
    const bytes = check.bytesOf(chunk);
    if (bytes === null) throw check.wrong("FrameDecoder.push", "chunk", "an ArrayBuffer or an ArrayBufferView (such as a Uint8Array)", chunk);
    return this.#decoder.push(bytes);
  }
}

