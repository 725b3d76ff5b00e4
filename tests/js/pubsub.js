// Publish/subscribe, routing and topics from JavaScript (RabbitMQ's tutorials 3
// to 5), with nothing but the package (imported as "burrow-rabbitmq" through the
// page's import map): exchange subscriptions, transient and durable across a
// reconnect; exchanges and bindings with their refusals; pika running the
// tutorial's own programs on the other side (tests/support/pika_helper.py on
// 8099). tests/js_package.rs opens pubsub.html and reads #result; ?only=a,b runs
// some checks.
import * as burrow from "burrow-rabbitmq";
import { URL_, MANAGEMENT, RESTARTER, PROXY, managementAuth, options, fresh, within, until, pause, assert, event, run } from "./helpers.js";

const { connect } = burrow;
const PIKA = new URLSearchParams(location.search).get("pika") || "http://127.0.0.1:8099";

/** A consumer of `source` whose messages can be awaited one by one, ready when this resolves. */
async function subscriber(connection, source, consumeOptions) {
  const waiting = [];
  const arrived = [];
  const ready = event(connection, "consumer-ready");
  const subscription = connection.consume(source, (message) => {
    const next = waiting.shift();
    if (next) next(message); else arrived.push(message);
  }, consumeOptions);
  await ready;
  const next = (what, ms) => within(what, new Promise((resolve) => {
    const got = arrived.shift();
    if (got) resolve(got); else waiting.push(resolve);
  }), ms);
  return { subscription, next, arrived };
}

async function management(method, path) {
  const response = await fetch(`${MANAGEMENT}${path}`, { method, headers: managementAuth });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/** Force-closes (as an administrator would) the connections consuming from the
 * queues bound to `exchange`; the management API's figures lag, so it asks again. */
async function closeSubscribersOf(exchange) {
  for (let round = 0; round < 50; round++) {
    const { json: bindings } = await management("GET", `/exchanges/%2F/${encodeURIComponent(exchange)}/bindings/source`);
    let closed = 0;
    for (const binding of bindings ?? []) {
      const { json: queue } = await management("GET", `/queues/%2F/${encodeURIComponent(binding.destination)}`);
      for (const consumer of queue?.consumer_details ?? []) {
        const name = consumer.channel_details?.connection_name;
        if (name && (await management("DELETE", `/connections/${encodeURIComponent(name)}`)).status < 300) closed++;
      }
    }
    if (closed > 0) return closed;
    await pause(200);
  }
  throw new Error(`no subscriber of ${exchange} to close`);
}

async function pika(path) {
  const response = await fetch(`${PIKA}${path}`, { method: "POST" });
  const text = await response.text();
  assert(response.ok, `pika helper ${path}: HTTP ${response.status}: ${text} (is tests/support/pika_helper.py running?)`);
  return text;
}

async function fanoutTwoSubscribers() {
  const exchange = fresh("js-fanout");
  const publisher = connect(URL_, options);
  await publisher.exchangeDeclare(exchange, "fanout", { autoDelete: true });
  const a = connect(URL_, options);
  const b = connect(URL_, options);
  const sa = await subscriber(a, { exchange }, { prefetch: 5 });
  const sb = await subscriber(b, { exchange, routingKey: "" }, { ack: "auto" });
  // Each transient subscription reads a queue of its own, which it can name.
  const queues = [sa.subscription.queue, sb.subscription.queue];
  assert(queues.every((q) => typeof q === "string" && q.startsWith("stomp-subscription-")) && queues[0] !== queues[1],
    `each subscription names its own queue: ${queues}`);
  const { json: bindings } = await management("GET", `/exchanges/%2F/${encodeURIComponent(exchange)}/bindings/source`);
  const bound = (bindings ?? []).map((b) => b.destination).sort();
  assert(JSON.stringify(bound) === JSON.stringify([...queues].sort()), `the broker's bindings are those queues: ${bound}`);
  const sent = Array.from({ length: 10 }, (_, i) => `log ${i}`);
  for (const body of sent) await publisher.publish("", body, { exchange });
  for (const s of [sa, sb]) {
    const got = [];
    for (let i = 0; i < sent.length; i++) {
      const message = await s.next("every message");
      got.push(message.text);
      message.ack();
    }
    assert(JSON.stringify(got) === JSON.stringify(sent), `every message, in order: ${got}`);
  }
  await Promise.all([publisher.close(), a.close(), b.close()]);
}

async function topicPatterns() {
  const exchange = fresh("js-topic");
  const publisher = connect(URL_, options);
  await publisher.exchangeDeclare(exchange, "topic", { autoDelete: true });
  const c = connect(URL_, options);
  const critical = await subscriber(c, { exchange, routingKey: "*.critical" }, { ack: "auto" });
  const kern = await subscriber(c, { exchange, routingKey: "kern.*" });
  for (const key of ["kern.critical", "kern.info", "app.critical", "app.info", "kern.disk.full", "critical"]) {
    await publisher.publish(key, key, { exchange });
  }
  await publisher.publish("kern.critical", "end", { exchange });
  for (const [s, expected] of [[critical, ["kern.critical", "app.critical"]], [kern, ["kern.critical", "kern.info"]]]) {
    const got = [];
    for (;;) {
      const message = await s.next("the matching messages");
      message.ack();
      if (message.text === "end") break;
      got.push(message.routingKey);
    }
    assert(JSON.stringify(got) === JSON.stringify(expected), `exactly ${expected}, got ${got}`);
  }
  await Promise.all([publisher.close(), c.close()]);
}

/** What a stompjs user writes: destinations as strings, for consume and publish. */
async function stompjsDestinations() {
  const key = fresh("js-orders");
  const exchange = fresh("js-direct");
  const c = connect(URL_, options);
  await c.exchangeDeclare(exchange, "direct", { autoDelete: true });
  const topic = await subscriber(c, `/topic/${key}.*`, { ack: "auto" });
  const direct = await subscriber(c, `/exchange/${exchange}/${key}`, { ack: "auto" });
  assert(topic.subscription.queue.startsWith("stomp-subscription-"), `a topic subscription's queue: ${topic.subscription.queue}`);
  await c.publish(`/topic/${key}.new`, "to amq.topic");
  await c.publish(`/exchange/${exchange}/${key}`, "to the direct exchange");
  assert((await topic.next("/topic/ publish")).text === "to amq.topic", "the /topic/ subscription got the /topic/ publish");
  assert((await direct.next("/exchange/ publish")).text === "to the direct exchange", "the /exchange/ subscription got its publish");
  // A stompjs /queue/ destination would make RabbitMQ declare the queue: refused, saying what to call.
  let thrown = null;
  try { c.consume("/queue/js-auto", () => {}); } catch (error) { thrown = error; }
  assert(thrown instanceof TypeError && thrown.message.includes("queueDeclare"), `consume("/queue/…"): ${thrown}`);
  const rejected = await c.publish("/queue/js-auto", "x").then(() => null, (error) => error);
  assert(rejected instanceof TypeError && rejected.message.includes("queueDeclare"), `publish("/queue/…"): ${rejected}`);
  const both = await c.publish(`/topic/${key}`, "x", { exchange: "amq.topic" }).then(() => null, (error) => error);
  assert(both instanceof TypeError && both.message.includes("options.exchange"), `a destination and options.exchange: ${both}`);
  // Regression (QA): a reply to /reply-queue/<name> (how Web-STOMP writes an AMQP
  // reply_to) resolved and went to a queue called "/reply-queue/…", which is none.
  const replies = fresh("js-replies");
  await c.queueDeclare(replies, { exclusive: true });
  const replyTo = await subscriber(c, replies, { ack: "auto" });
  await c.publish(`/reply-queue/${replies}`, "a reply");
  assert((await replyTo.next("the /reply-queue/ publish")).text === "a reply", "the reply reached the queue it names");
  await c.close();
}

async function durableSurvivesReconnect() {
  const exchange = fresh("js-durable-topic");
  const queue = fresh("js-durable-sub");
  const publisher = connect(URL_, options);
  await publisher.exchangeDeclare(exchange, "topic", { durable: true });
  const c = connect(URL_, options);
  const gaps = [];
  c.on("subscription-gap", (e) => gaps.push(e));
  const s = await subscriber(c, { exchange, routingKey: "orders.*", queue, durable: true }, { prefetch: 10 });
  const { json: facts } = await management("GET", `/queues/%2F/${encodeURIComponent(queue)}`);
  assert(facts.durable === true && facts.auto_delete === false && facts.exclusive === false, `a durable named queue: ${JSON.stringify(facts)}`);
  const received = new Map();
  const take = async () => {
    const message = await s.next("an order", 15000);
    try { message.ack(); } catch (error) { assert(error instanceof burrow.StaleError, `${error}`); }
    const copies = received.get(message.text) ?? [];
    copies.push(message.possiblyDuplicate || message.redelivered);
    received.set(message.text, copies);
  };
  for (let i = 0; i < 10; i++) await publisher.publish("orders.new", `order ${i}`, { exchange, persistent: true });
  for (let i = 0; i < 5; i++) await take();
  const lost = event(c, "reconnecting");
  await closeSubscribersOf(exchange);
  await lost;
  for (let i = 10; i < 20; i++) await publisher.publish("orders.new", `order ${i}`, { exchange, persistent: true });
  while (received.size < 20) await take();
  for (let i = 0; i < 20; i++) assert(received.has(`order ${i}`), `order ${i} arrived`);
  for (const [body, copies] of received) {
    assert(copies.filter((marked) => !marked).length <= 1, `${body}: at most one unmarked copy: ${copies}`);
  }
  assert(gaps.length === 0, `a durable subscription has no gap: ${JSON.stringify(gaps)}`);
  s.subscription.cancel();
  await pause(300);
  assert((await management("GET", `/queues/%2F/${encodeURIComponent(queue)}`)).status === 200, "cancel() leaves the queue");
  assert(await c.queueDelete(queue) === true, "queueDelete ends it");
  assert(await c.queueDelete(queue) === false, "gone");
  assert(await publisher.exchangeDelete(exchange) === true, "exchangeDelete");
  await Promise.all([publisher.close(), c.close()]);
}

async function transientGap() {
  const exchange = fresh("js-transient");
  const publisher = connect(URL_, options);
  // Not autoDelete: it would go with the subscription's queue.
  await publisher.exchangeDeclare(exchange, "fanout");
  const c = connect(URL_, { ...options, reconnectDelay: 2000, maxReconnectDelay: 2000 });
  const s = await subscriber(c, { exchange }, { ack: "auto" });
  await publisher.publish("", "before", { exchange });
  assert((await s.next("before")).text === "before", "before");
  const lost = event(c, "reconnecting");
  const gap = event(c, "subscription-gap", 20000);
  await closeSubscribersOf(exchange);
  await lost;
  // Said right after the gap, in the same turn: listen before.
  const readyAgain = event(c, "consumer-ready", 20000);
  await publisher.publish("", "during the outage", { exchange, persistent: true });
  const said = await gap;
  assert(said.exchange === exchange && said.routingKey === "" && typeof said.consumer === "number", `the gap: ${JSON.stringify(said)}`);
  assert(said.consumer === s.subscription.consumer, "names the consumer");
  await readyAgain;
  await publisher.publish("", "after", { exchange });
  const next = await s.next("after");
  assert(next.text === "after", `what came during the outage is lost: got ${next.text}`);
  await publisher.exchangeDelete(exchange);
  await Promise.all([publisher.close(), c.close()]);
}

async function exchangeCallsInWords() {
  const exchange = fresh("js-direct");
  const queue = fresh("js-bound");
  const c = connect(URL_, options);
  const failure = (promise) => promise.then(() => null, (error) => error);
  assert(await c.exchangeDeclare(exchange, "direct") === undefined, "declared");
  await c.exchangeDeclare(exchange, "direct");
  const inequivalent = await failure(c.exchangeDeclare(exchange, "fanout"));
  assert(inequivalent instanceof burrow.InequivalentError && /inequivalent arg 'type'/.test(inequivalent.message), `${inequivalent}`);
  const unknown = await failure(c.exchangeDeclare(fresh("js-x"), "nonsense"));
  assert(unknown instanceof burrow.UnknownExchangeTypeError && /nonsense/.test(unknown.message), `${unknown}`);
  const reserved = await failure(c.exchangeDeclare("amq.js-test", "topic"));
  assert(reserved instanceof burrow.NoPermissionError && reserved instanceof burrow.BurrowError, `${reserved}`);
  const noQueue = await failure(c.queueBind(queue, exchange, "error"));
  assert(noQueue instanceof burrow.NotFoundError && noQueue.message.includes(`no queue '${queue}'`), `${noQueue}`);
  await c.queueDeclare(queue, { autoDelete: true });
  assert(await c.queueBind(queue, exchange, "error") === undefined, "bound");
  const got = [];
  const ready = event(c, "consumer-ready");
  c.consume(queue, (message) => got.push(message.text), { ack: "auto" });
  await ready;
  await c.publish("info", "not for this queue", { exchange });
  await c.publish("error", "disk full", { exchange });
  await until("the bound message", () => got.length === 1);
  await pause(100);
  assert(JSON.stringify(got) === '["disk full"]', `only what the binding routes: ${got}`);
  assert(await c.queueUnbind(queue, exchange, "error") === true, "unbound");
  assert(await c.queueUnbind(queue, exchange, "error") === false, "no such binding now");
  assert(await c.exchangeDelete(exchange) === true && await c.exchangeDelete(exchange) === false, "deleted once");
  const far = connect(URL_, { ...options, managementUrl: "http://127.0.0.1:9/api" });
  const unreachable = await failure(far.exchangeDeclare("logs", "fanout"));
  assert(unreachable instanceof burrow.ManagementUnreachableError && /not reachable/.test(unreachable.message), `${unreachable}`);
  await Promise.all([c.close(), far.close()]);
}

async function wrongArguments() {
  const c = connect(URL_, options);
  const throws = (call, words) => {
    let thrown = null;
    try { call(); } catch (error) { thrown = error; }
    assert(thrown instanceof TypeError && thrown.message.includes(words), `TypeError naming ${words}: ${thrown}`);
  };
  const noop = () => {};
  throws(() => c.consume({ exchange: 1 }, noop), "source.exchange");
  throws(() => c.consume({ routingKey: "k" }, noop), "{ exchange, routingKey");
  throws(() => c.consume({ exchange: "x", routingKey: 2 }, noop), "source.routingKey");
  throws(() => c.consume({ exchange: "x", queue: "q" }, noop), "source.durable");
  throws(() => c.consume({ exchange: "x", durable: true }, noop), "source.queue");
  throws(() => c.consume({ exchange: "x", durable: "yes", queue: "q" }, noop), "source.durable");
  throws(() => c.consume({ exchange: "x", bindingKey: "k" }, noop), "source.bindingKey");
  throws(() => c.consume(null, noop), "queue");
  throws(() => c.consume({ exchange: "x" }, noop, { offset: "first" }), "options.offset");
  throws(() => c.messages({ exchange: "x", queue: "q" }), "source.durable");
  const rejects = async (promise, words) => {
    const error = await promise.then(() => null, (e) => e);
    assert(error instanceof TypeError && error.message.includes(words), `TypeError naming ${words}: ${error}`);
  };
  await rejects(c.exchangeDeclare(1, "topic"), "exchange");
  await rejects(c.exchangeDeclare("x", undefined), "type");
  await rejects(c.exchangeDeclare("x", "topic", { durable: "yes" }), "options.durable");
  await rejects(c.exchangeDeclare("x", "topic", { internal: true }), "options.internal");
  await rejects(c.exchangeDelete(null), "exchange");
  await rejects(c.queueBind("q", 2, "k"), "exchange");
  await rejects(c.queueBind(3, "x", "k"), "queue");
  await rejects(c.queueUnbind("q", "x", 4), "routingKey");
  await rejects(c.queueDelete({}), "queue");
  const invalid = (() => { try { c.consume({ exchange: "a%2Fb" }, noop); return null; } catch (e) { return e; } })();
  assert(invalid instanceof burrow.ConsumeInvalidError && /%2F/.test(invalid.message), `a name RabbitMQ would read otherwise: ${invalid}`);
  await c.close();
}

async function pikaEmitLogReachesTwoSubscribers() {
  const a = connect(URL_, options);
  const b = connect(URL_, options);
  await a.exchangeDeclare("logs", "fanout");
  const sa = await subscriber(a, { exchange: "logs" }, { ack: "auto" });
  const sb = await subscriber(b, { exchange: "logs" }, { ack: "auto" });
  const run = fresh("js-run");
  const sent = Array.from({ length: 5 }, (_, i) => `${run} info: line ${i}`);
  for (const message of sent) await pika(`/emit_log?message=${encodeURIComponent(message)}`);
  for (const s of [sa, sb]) {
    const got = [];
    while (got.length < sent.length) {
      const text = (await s.next("pika's lines")).text;
      if (text.startsWith(run)) got.push(text);
    }
    assert(JSON.stringify(got) === JSON.stringify(sent), `every line of emit_log: ${got}`);
  }
  await Promise.all([a.close(), b.close()]);
}

async function browserEmitsForPikaTopicConsumer() {
  const c = connect(URL_, options);
  await c.exchangeDeclare("topic_logs", "topic");
  const id = await pika("/topic/start?keys=*.critical");
  const run = fresh("js-run");
  for (const key of ["kern.critical", "kern.info", "app.critical", "critical", "a.b.critical"]) {
    await c.publish(key, `${run} ${key}`, { exchange: "topic_logs" });
  }
  const mine = async () => (await pika(`/topic/received?id=${id}`)).split("\n")
    .map((line) => line.split("\t")).filter(([, body]) => body?.startsWith(run)).map(([key]) => key);
  let got = [];
  for (let round = 0; round < 100 && got.length < 2; round++) {
    got = await mine();
    if (got.length < 2) await pause(100);
  }
  await pause(300);
  got = await mine();
  await pika(`/topic/stop?id=${id}`);
  assert(JSON.stringify(got) === '["kern.critical","app.critical"]', `exactly the *.critical ones: ${got}`);
  await c.close();
}

/** Live events through a broker restart (QA): a publisher sends persistent
 * events all along; a durable subscription read by a `for await` loop that
 * catches the StaleError of a message its lost connection held (the README's
 * pattern) gets every confirmed event, none twice unmarked; every publish settles
 * resolved; the transient subscription beside it says its gap. */
async function liveEventsThroughARestart() {
  const exchange = fresh("js-live");
  const queue = fresh("js-live-durable");
  const fast = { ...options, reconnectDelay: 200, maxReconnectDelay: 1000 };
  const publisher = connect(URL_, fast);
  await publisher.exchangeDeclare(exchange, "topic", { durable: true });
  const c = connect(URL_, fast);
  const types = [];
  c.on("status", (e) => types.push(e.type));
  const gap = event(c, "subscription-gap", 60000);
  const events = c.messages({ exchange, routingKey: "ev.*", queue, durable: true }, { prefetch: 10 });
  await event(c, "consumer-ready");
  await subscriber(c, { exchange, routingKey: "#" }, { ack: "auto" });
  const got = new Map();
  const loop = (async () => {
    for await (const message of events) {
      await pause(5);
      const marks = got.get(message.text) ?? [];
      marks.push(message.possiblyDuplicate || message.redelivered);
      got.set(message.text, marks);
      try { message.ack(); } catch (error) { if (!(error instanceof burrow.StaleError)) throw error; }
    }
  })();
  const outcomes = [];
  let publishing = true;
  const pump = (async () => {
    for (let n = 0; publishing; n++) {
      outcomes.push(publisher.publish("ev.x", `event ${n}`, { exchange, persistent: true }).then(() => `event ${n}`));
      await pause(20);
    }
  })();
  await until("events flow", () => got.size >= 20, 20000);
  const restart = await fetch(`${RESTARTER}/restart`, { method: "POST" });
  assert(restart.ok, `the broker restarts: HTTP ${restart.status}`);
  const said = await gap;
  assert(said.exchange === exchange && said.routingKey === "#", `the transient subscription's gap: ${JSON.stringify(said)}`);
  await pause(500);
  publishing = false;
  await pump;
  const confirmed = await within("every publish settles, resolved", Promise.all(outcomes), 60000);
  await until(`every confirmed event (${got.size} of ${confirmed.length})`, () => confirmed.every((body) => got.has(body)), 30000);
  for (const [body, marks] of got) assert(marks.filter((marked) => !marked).length <= 1, `${body}: at most one unmarked copy: ${marks}`);
  const after = types.slice(types.indexOf("reconnecting"));
  assert(after.includes("connected") && after.includes("consumer-ready"), `reconnecting, then connected and the consumers again: ${types}`);
  events.cancel();
  await loop;
  assert(await c.queueDelete(queue) === true, "queueDelete ends it");
  assert(await publisher.exchangeDelete(exchange) === true, "exchangeDelete");
  await Promise.all([publisher.close(), c.close()]);
}

/** A network drop RabbitMQ has not noticed (the restarter's proxy cuts the
 * connection, no close either way): the old connection holds the exclusive
 * queue until RabbitMQ's heart-beat check drops it. The consumer comes back
 * then, said once as a warning, and never fails; one reconnect for the refusal
 * that tells the package the queue is held, none after. */
async function exclusiveQueueThroughANetworkDrop() {
  const queue = fresh("js-exclusive");
  const c = connect(PROXY, { ...options, heartbeatOutgoing: 10000, heartbeatIncoming: 1000, reconnectDelay: 200, maxReconnectDelay: 1000 });
  const seen = [];
  c.on("status", (e) => seen.push(e));
  await c.queueDeclare(queue, { exclusive: true });
  const { next } = await subscriber(c, queue, { ack: "auto" });
  await c.publish(queue, "before");
  assert((await next("before")).text === "before", "the message before the drop");
  const cut = await fetch(`${RESTARTER}/cut`, { method: "POST" });
  assert(cut.ok && (await cut.text()).trim() === "1", "the proxy cut one connection");
  const readies = () => seen.filter((e) => e.type === "consumer-ready").length;
  // RabbitMQ drops a connection silent at a 10 s heart-beat within 30 s.
  await until("the consumer back after the drop", () => readies() >= 2, 60000);
  await c.publish(queue, "after");
  assert((await next("after")).text === "after", "the message after");
  const types = seen.map((e) => e.type);
  const held = seen.filter((e) => e.type === "warning" && e.message.includes(`'${queue}' is still held by the connection that ended`));
  assert(held.length === 1, `one warning that the old connection holds the queue: ${JSON.stringify(seen)}`);
  assert(!types.includes("consumer-failed"), `no consumer failure: ${types}`);
  const reconnects = types.filter((type) => type === "reconnecting").length;
  assert(reconnects <= 2, `the drop's reconnect and the refusal's, no more: ${types}`);
  await c.close();
}

/** A `queueDeclare` sent into a network drop (cut first, so RabbitMQ never sees
 * it) and a consumer made after it, not awaited, as amqplib's tutorial writes:
 * the declare goes again on the next connection before the consumer, and its
 * Promise resolves there. Before, it rejected ConnectionLost and the consumer of
 * the exclusive queue failed NOT_FOUND. */
async function declareThroughANetworkDrop() {
  const queue = fresh("js-cut-declare");
  const c = connect(PROXY, { ...options, heartbeatOutgoing: 10000, heartbeatIncoming: 1000, reconnectDelay: 200, maxReconnectDelay: 1000 });
  await event(c, "connected");
  const cut = await fetch(`${RESTARTER}/cut`, { method: "POST" });
  assert(cut.ok && (await cut.text()).trim() === "1", "the proxy cut one connection");
  const failed = [];
  c.on("consumer-failed", (e) => failed.push(e));
  const declared = c.queueDeclare(queue, { exclusive: true });
  const { next } = await subscriber(c, queue, { ack: "auto" });
  await within("the declare, answered on the next connection", declared);
  await c.publish(queue, "after");
  assert((await next("after")).text === "after", "the message after the drop");
  assert(failed.length === 0, `no consumer failure: ${JSON.stringify(failed)}`);
  await c.close();
}

await burrow.default();
await run({
  fanoutTwoSubscribers,
  topicPatterns,
  stompjsDestinations,
  durableSurvivesReconnect,
  transientGap,
  liveEventsThroughARestart,
  exclusiveQueueThroughANetworkDrop,
  declareThroughANetworkDrop,
  exchangeCallsInWords,
  wrongArguments,
  pikaEmitLogReachesTwoSubscribers,
  browserEmitsForPikaTopicConsumer,
});
