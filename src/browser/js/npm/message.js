// The Message a consumer receives. The wasm glue builds it through makeMessage
// (imported by src/browser/js/consume.rs): one call per delivery with the body
// copied out once; wasm keeps only the acker, under `token`, until ack or nack.

const utf8 = new TextDecoder();
const noHeaders = Object.freeze({});

/** What a message's ack and nack call on their connection: `(token, how)`. */
export const SETTLE = Symbol("burrow.settle");

/** A message delivered to a consumer (see index.d.ts for each field). */
export class Message {
  #owner;
  #token;
  #ack;
  #nack;

  constructor(owner, token, body, routingKey, exchange, flags, headers,
    contentType, contentEncoding, correlationId, replyTo, expiration, messageId, type, userId, appId,
    priority, timestamp, deliveryCount, streamOffset, streamFilterValue) {
    this.#owner = owner;
    this.#token = token;
    this.body = body;
    this.routingKey = routingKey;
    this.exchange = exchange;
    this.redelivered = (flags & 1) !== 0;
    this.possiblyDuplicate = (flags & 2) !== 0;
    this.persistent = (flags & 4) !== 0;
    this.headers = headers === undefined ? noHeaders : Object.freeze(headers);
    this.contentType = contentType;
    this.contentEncoding = contentEncoding;
    this.correlationId = correlationId;
    this.replyTo = replyTo;
    this.expiration = expiration;
    this.messageId = messageId;
    this.type = type;
    this.userId = userId;
    this.appId = appId;
    this.priority = priority;
    this.timestamp = timestamp === undefined ? undefined : new Date(timestamp * 1000);
    this.deliveryCount = deliveryCount;
    this.streamOffset = streamOffset;
    this.streamFilterValue = streamFilterValue;
  }

  /** The body as text (UTF-8; invalid bytes shown as U+FFFD). */
  get text() {
    return utf8.decode(this.body);
  }

  /** The body parsed as JSON; a SyntaxError saying so when it is not JSON. */
  json() {
    const text = this.text;
    try {
      return JSON.parse(text);
    } catch (cause) {
      const start = text.length > 40 ? `${text.slice(0, 40)}…` : text;
      throw new SyntaxError(`message body is not JSON (${cause.message}); it starts ${JSON.stringify(start)}`, { cause });
    }
  }

  // ack and nack are bound to their message, made when first read: stompjs's
  // users take them off it (`consume(q, ({ ack, text }) => …)`), which with
  // methods threw "Cannot read properties of undefined" and left it unacked (QA).

  /** pika's basic_ack; see index.d.ts. */
  get ack() {
    // 0: auto-ack, nothing to settle.
    return (this.#ack ??= () => {
      if (this.#token !== 0) this.#owner[SETTLE](this.#token, 0);
    });
  }

  /** pika's basic_nack; see index.d.ts. */
  get nack() {
    return (this.#nack ??= (options) => this.#nackWith(options));
  }

  #nackWith(options) {
    let requeue = true;
    if (options !== undefined) {
      if (options === null || typeof options !== "object" || Array.isArray(options)) {
        throw new TypeError(`message.nack: options must be an object such as { requeue: false }, got ${describeValue(options)}`);
      }
      for (const key of Object.keys(options)) {
        if (key !== "requeue") throw new TypeError(`message.nack: unknown option options.${key} (known: requeue)`);
      }
      if (options.requeue !== undefined && typeof options.requeue !== "boolean") {
        throw new TypeError(`message.nack: options.requeue must be a boolean, got ${describeValue(options.requeue)}`);
      }
      requeue = options.requeue !== false;
    }
    if (this.#token !== 0) this.#owner[SETTLE](this.#token, requeue ? 1 : 2);
  }
}

/** For the wasm glue: one call per delivery. */
export function makeMessage(owner, token, body, routingKey, exchange, flags, headers,
  contentType, contentEncoding, correlationId, replyTo, expiration, messageId, type, userId, appId,
  priority, timestamp, deliveryCount, streamOffset, streamFilterValue) {
  return new Message(owner, token, body, routingKey, exchange, flags, headers,
    contentType, contentEncoding, correlationId, replyTo, expiration, messageId, type, userId, appId,
    priority, timestamp, deliveryCount, streamOffset, streamFilterValue);
}

/** How an argument error names what it got: its type, and the value when short. */
export function describeValue(value) {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case "number":
      return `a number (${value})`;
    case "bigint":
      return `a bigint (${value}n)`;
    case "boolean":
      return `a boolean (${value})`;
    case "symbol":
      return `a symbol (${value.toString()})`;
    case "function":
      return value.name ? `a function (${value.name})` : "a function";
    default:
      break;
  }
  if (Array.isArray(value)) return `an array (length ${value.length})`;
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  return tag === "Object" ? "an object" : `a ${tag}`;
}
