// The consume options and sources of `consume` and `messages`, checked at the
// door as checks.js says (a wrong one is a TypeError naming what it got), and
// encoded as the wasm's rawConsume takes them.

import * as check from "./checks.js";

const CONSUME_OPTIONS = ["ack", "prefetch", "offset", "streamFilter", "matchUnfiltered", "priority"];
const SOURCE_KEYS = ["exchange", "routingKey", "queue", "durable"];

/**
 * What `consume` and `messages` read: `{ queue }` for a queue's name, or
 * `{ exchange, routingKey, queue }` (queue only for a durable subscription).
 */
/**
 * A stompjs destination as Burrow's source: `/topic/<key>` (amq.topic),
 * `/exchange/<name>[/<key>]`, `/amq/queue/<name>`, `/reply-queue/<name>`; null for a plain name. `%2F`
 * reads as `/`, as RabbitMQ reads it. `/queue/…` and `/temp-queue/…` make RabbitMQ
 * declare a queue, which Burrow never does unasked: a TypeError says what to call.
 */
export function stompDestination(where, text) {
  if (text.charCodeAt(0) !== 47) return null; // not "/": a queue's or key's name
  const decode = (part) => part.replaceAll("%2F", "/");
  if (text.startsWith("/topic/")) return { exchange: "amq.topic", routingKey: decode(text.slice(7)) };
  if (text.startsWith("/exchange/")) {
    const rest = text.slice(10);
    const at = rest.indexOf("/");
    if (at < 0) return { exchange: decode(rest), routingKey: "" };
    return { exchange: decode(rest.slice(0, at)), routingKey: decode(rest.slice(at + 1)) };
  }
  if (text.startsWith("/amq/queue/")) return { queue: decode(text.slice(11)) };
  // How Web-STOMP writes an AMQP reply_to (a message's replyTo): that queue.
  if (text.startsWith("/reply-queue/")) return { queue: decode(text.slice(13)) };
  if (text.startsWith("/queue/")) {
    const name = decode(text.slice(7));
    throw new TypeError(`${where}: "${text}" is a stompjs destination that makes RabbitMQ declare the queue; Burrow never declares unasked: `
      + `call queueDeclare(${JSON.stringify(name)}, { durable: true }) once, then use the name ${JSON.stringify(name)}`);
  }
  if (text.startsWith("/temp-queue/")) {
    throw new TypeError(`${where}: "${text}" is a reply queue: use connection.call() for request/reply`);
  }
  return null;
}

export function consumeSource(where, source) {
  if (typeof source === "string") {
    const to = stompDestination(where, source);
    if (to === null || to.queue !== undefined) return { queue: to?.queue ?? source };
    return { exchange: to.exchange, routingKey: to.routingKey, queue: undefined };
  }
  // The first argument is `queue` unless it is an exchange subscription.
  if (source === null || typeof source !== "object" || Array.isArray(source) || !("exchange" in source)) {
    throw check.wrong(where, "queue", "a queue's name, or { exchange, routingKey, queue?, durable? } to subscribe to an exchange", source);
  }
  const given = check.options(where, "source", source, SOURCE_KEYS);
  const exchange = check.string(where, "source.exchange", given.exchange);
  const routingKey = given.routingKey === undefined ? "" : check.string(where, "source.routingKey", given.routingKey);
  const durable = check.optionalBoolean(where, "source.durable", given.durable) ?? false;
  if (durable) {
    if (typeof given.queue !== "string" || given.queue === "") {
      throw check.wrong(where, "source.queue", "a queue's name (a durable subscription is a named queue)", given.queue);
    }
    return { exchange, routingKey, queue: given.queue };
  }
  if (given.queue !== undefined) {
    throw check.wrong(where, "source.durable", "true with source.queue (a transient subscription's queue is RabbitMQ's)", given.durable);
  }
  return { exchange, routingKey, queue: undefined };
}

/** Only a stream has offsets and filters: an exchange subscription's queue is classic. */
function sourceWithOffset(where, from, settings) {
  if (from.exchange !== undefined && settings.offsetKind !== 0) {
    throw new TypeError(`${where}: options.offset is for a stream; an exchange subscription's queue has no offsets`);
  }
  if (from.exchange !== undefined && settings.filter !== undefined) {
    throw check.wrong(where, "options.streamFilter", "left out for an exchange subscription (its queue is classic, not a stream)", settings.filter);
  }
}

/**
 * One stream filter value: a non-empty string without a comma (RabbitMQ's STOMP
 * plugin splits x-stream-filter at commas, so no consumer could name it).
 */
export function filterValue(where, what, value) {
  if (typeof value !== "string" || value === "" || value.includes(",")) {
    throw check.wrong(where, what, "a non-empty string without commas", value);
  }
  return value;
}

/** A stream filter, `undefined` or its values joined with commas (none holds one). */
function streamFilter(where, value) {
  const what = "options.streamFilter";
  if (value === undefined) return undefined;
  if (typeof value === "string") return filterValue(where, what, value);
  if (!Array.isArray(value) || value.length === 0) {
    throw check.wrong(where, what, "a non-empty string without commas, or a non-empty array of them", value);
  }
  return value.map((one, at) => filterValue(where, `${what}[${at}]`, one)).join(",");
}

/**
 * The consume options, checked against the source `from`; `minPrefetch` is 1 for
 * `messages()` (its buffer must be bounded). `auto`: no acks by the reader
 * (ack "auto" or "broker"); `broker`: RabbitMQ's own auto-ack (ack "broker").
 */
export function consumeOptions(where, options, minPrefetch, from) {
  const given = check.options(where, "options", options, CONSUME_OPTIONS) ?? {};
  if (given.ack !== undefined && given.ack !== "manual" && given.ack !== "auto" && given.ack !== "broker") {
    throw check.wrong(where, "options.ack", '"manual", "auto" or "broker"', given.ack);
  }
  if (given.ack === "broker" && minPrefetch === 1) {
    throw new TypeError(`${where}: options.ack "broker" is RabbitMQ's own auto-ack, which has no window: the iterator's buffer `
      + 'could grow without bound; use "auto" (each message acked as the loop takes it, within the prefetch) or "manual"');
  }
  // RabbitMQ ignores a prefetch with its own auto-ack: a given one would promise a bound it never keeps.
  if (given.ack === "broker" && given.prefetch !== undefined && given.prefetch !== 0) {
    throw check.wrong(where, "options.prefetch", 'left out (or 0) with options.ack "broker": RabbitMQ\'s own auto-ack has no window', given.prefetch);
  }
  const prefetch = given.prefetch === undefined ? (given.ack === "broker" ? 0 : 1) : given.prefetch;
  if (typeof prefetch !== "number" || !Number.isInteger(prefetch) || prefetch < minPrefetch || prefetch > 65535) {
    const why = minPrefetch === 1 ? " (0, unlimited, would let the buffer grow without bound)" : " (0 is unlimited)";
    throw check.wrong(where, "options.prefetch", `a whole number from ${minPrefetch} to 65535${why}`, given.prefetch);
  }
  const [offsetKind, offset] = streamOffset(where, given.offset);
  const filter = streamFilter(where, given.streamFilter);
  const matchUnfiltered = check.optionalBoolean(where, "options.matchUnfiltered", given.matchUnfiltered) ?? false;
  if (matchUnfiltered && filter === undefined) {
    throw check.wrong(where, "options.matchUnfiltered", "given with options.streamFilter (it widens a stream filter)", given.matchUnfiltered);
  }
  // RabbitMQ's STOMP plugin passes x-priority on as a signed byte.
  const priority = check.optionalWhole(where, "options.priority", given.priority, -128, 127);
  const broker = given.ack === "broker";
  const settings = { auto: given.ack === "auto" || broker, broker, prefetch, offsetKind, offset, filter, matchUnfiltered, priority };
  sourceWithOffset(where, from, settings);
  return settings;
}

/** A stream offset as (kind, value): 0 none, 1 first, 2 last, 3 next, 4 an offset, 5 a timestamp in seconds. */
function streamOffset(where, value) {
  const what = "options.offset";
  if (value === undefined) return [0, 0];
  const named = ["first", "last", "next"].indexOf(value);
  if (named >= 0) return [named + 1, 0];
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw check.wrong(where, what, "a whole number 0 or more (an offset)", value);
    return [4, value];
  }
  if (value instanceof Date) return [5, check.epochSeconds(where, what, value)];
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const given = check.options(where, what, value, ["timestamp"]);
    return [5, check.epochSeconds(where, `${what}.timestamp`, given.timestamp)];
  }
  throw check.wrong(where, what, '"first", "last", "next", an offset, a Date or { timestamp }', value);
}
