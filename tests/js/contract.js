// The package's contract, with nothing but the package (imported as
// "burrow-rabbitmq" through the page's import map, unbundled): lifetimes that
// never depend on the garbage collector, close() settling everything, status
// listeners, bodies of every kind, every property both ways, the async iterator's
// bound. tests/js_package.rs opens contract.html in headless Chromium (with
// --js-flags=--expose-gc) and reads #result; ?only=a,b runs some checks.
import * as burrow from "burrow-rabbitmq";
import { URL_, options, fresh, within, until, pause, assert, collect, event, collectGarbage, run, MANAGEMENT } from "./helpers.js";
import { bodies, properties, iterator, iteratorEnds, brokerAcks, ackValues } from "./contract_messages.js";
import { theIssuesWrongCalls, wrongArguments } from "./contract_arguments.js";

const { connect } = burrow;

/** A connection (made with `onStatus`, as the first releases had only that) whose
 * consumer on `queue` is ready when this resolves. */
async function readyConsumer(queue, onMessage, consumeOptions) {
  let ready;
  const isReady = new Promise((resolve) => { ready = resolve; });
  const connection = connect(URL_, { ...options, onStatus: (e) => { if (e.type === "consumer-ready") ready(); } });
  connection.consume(queue, onMessage, consumeOptions);
  await within("the consumer is ready", isReady);
  return connection;
}

async function beforeInit() {
  // Runs first, before init(): a clear error, not a trap in the wasm.
  let thrown = null;
  try { connect(URL_, options); } catch (error) { thrown = error; }
  assert(thrown && thrown.name === "NotInitialized" && thrown instanceof burrow.BurrowError && /init\(\)/.test(thrown.message),
    `connect before init() says to await init(): ${thrown}`);
}

/** Regression: a consumer whose Subscription was not kept was cancelled by the
 * first garbage collection (wasm-bindgen's FinalizationRegistry freed it). */
async function unkeptSubscription() {
  const queue = fresh("unkept-subscription");
  const producer = connect(URL_, options);
  await producer.queueDeclare(queue);
  const got = [];
  const consumer = await readyConsumer(queue, (message) => { got.push(message.text); message.ack(); }, { prefetch: 10 });
  await producer.publish(queue, "before");
  await until("the first message", () => got.length === 1);
  await collectGarbage();
  for (let n = 0; n < 5; n++) await producer.publish(queue, `after ${n}`);
  await until(`5 of 5 after the collections (got ${got.length - 1})`, () => got.length === 6);
  producer.close();
  consumer.close();
}

/** Regression: a Connection held only in a local variable stopped silently when
 * collected: no stopped event, messages no longer delivered. */
async function unkeptConnection() {
  const queue = fresh("unkept-connection");
  const producer = connect(URL_, options);
  await producer.queueDeclare(queue);
  const got = [];
  let weak;
  await (async () => {
    const consumer = await readyConsumer(queue, (message) => { got.push(message.text); message.ack(); }, { prefetch: 10 });
    weak = new WeakRef(consumer);
  })();
  await collectGarbage();
  for (let n = 0; n < 5; n++) await producer.publish(queue, `after ${n}`);
  await until(`5 of 5 to a connection nobody kept (got ${got.length})`, () => got.length === 5);
  const kept = weak.deref();
  assert(kept !== undefined && kept.connected, "the connection lives until close()");
  producer.close();
  kept.close();
}

/** close(): a Promise that resolves after `stopped`; every pending publish and
 * declare settles, as StoppedError; a late ack is StaleError, never a call into freed memory. */
async function closeSettlesEverything() {
  const queue = fresh("close");
  const connection = connect(URL_, { ...options, outboxMessages: 5 });
  await connection.queueDeclare(queue);
  const inbox = collect(connection, queue, { prefetch: 1 });
  await connection.publish(queue, "to ack late");
  const message = await inbox.next("a delivery");
  const seen = [];
  connection.on("stopped", () => seen.push("listener"));
  const pending = [];
  for (let n = 0; n < 300; n++) pending.push(connection.publish(queue, `late ${n}`));
  const closed = connection.close().then(() => seen.push("close() resolved"));
  const settled = await within("every publish settled after close()", Promise.allSettled(pending));
  await within("close() resolves", closed);
  assert(seen.join() === "listener,close() resolved", `close() resolves after the stopped event: ${seen}`);
  assert(connection.status.type === "stopped" && connection.closed && !connection.connected, "stopped");
  const wrong = settled.filter((s) => s.status === "rejected" && !(s.reason instanceof burrow.StoppedError && s.reason.name === "Stopped"));
  assert(wrong.length === 0, `unconfirmed publishes reject with StoppedError: ${wrong.map((s) => s.reason)}`);
  assert(settled.some((s) => s.status === "rejected"), "close() came before some confirms");
  let late = null;
  try { message.ack(); } catch (error) { late = error; }
  assert(late instanceof burrow.StaleError && late.name === "Stale", `an ack after close() is Stale: ${late}`);
  // Once the connection is gone from the wasm's table too.
  await pause(50);
  late = null;
  try { message.nack(); } catch (error) { late = error; }
  assert(late instanceof burrow.StaleError, `a nack after close() is Stale: ${late}`);
  const after = await connection.publish(queue, "after close").then(() => null, (error) => error);
  assert(after instanceof burrow.StoppedError, `a publish after close() rejects with StoppedError: ${after}`);
  // Regression: it said the message "may or may not have arrived", though nothing was sent.
  assert(/not sent/.test(after.message) && !/may or may not/.test(after.message), `nothing was sent, in words: ${after.message}`);
  const declare = await connection.queueDeclare(queue).then(() => null, (error) => error);
  assert(declare instanceof burrow.StoppedError, `a declare after close() rejects with StoppedError: ${declare}`);
  let consume = null;
  try { connection.consume(queue, () => {}); } catch (error) { consume = error; }
  assert(consume instanceof burrow.StoppedError, `a consume after close() throws StoppedError: ${consume}`);
  await within("close() again resolves", connection.close());
}

/** on / off besides onStatus; a throwing listener does not stop the others. */
async function statusListeners() {
  const calls = [];
  const connection = connect(URL_, { ...options, onStatus: (e) => calls.push(`onStatus ${e.type}`) });
  const all = (e) => calls.push(`status ${e.type}`);
  const removed = () => calls.push("removed");
  connection.on("status", all).on("connected", () => { throw new Error("a listener that throws"); });
  connection.on("connected", removed).off("connected", removed);
  connection.on("connected", (e) => calls.push(`connected ${e.server}`));
  await event(connection, "connected");
  await connection.close();
  assert(calls.includes("onStatus connected") && calls.includes("status connected") && calls.includes("status stopped"),
    `onStatus and on("status") get every event: ${calls}`);
  assert(calls.some((c) => /^connected RabbitMQ/.test(c)), `on("connected") gets the event, after one that threw: ${calls}`);
  assert(!calls.includes("removed"), "off() removes the listener");
}

/** Errors are classes under one base class; error.name still tells them apart. */
async function errorClasses() {
  const connection = connect(URL_, options);
  const queue = fresh("errors");
  await connection.queueDeclare(queue, { durable: true });
  const refused = await connection.queueDeclare(queue, { durable: false }).then(() => null, (e) => e);
  assert(refused instanceof burrow.DeclareRefusedError && refused instanceof burrow.BurrowError && refused instanceof Error
    && refused.name === "DeclareRefused" && /PRECONDITION_FAILED/.test(refused.message), `DeclareRefusedError: ${refused}`);
  const invalid = await connection.publish("k".repeat(300), "x").then(() => null, (e) => e);
  assert(invalid instanceof burrow.PublishInvalidError && invalid.name === "PublishInvalid", `PublishInvalidError: ${invalid}`);
  const reserved = await connection.publish(queue, "x", { headers: { "x-mine": "1" } }).then(() => null, (e) => e);
  assert(reserved instanceof burrow.PublishInvalidError, `a reserved header: ${reserved}`);
  // Regression: sent and confirmed, it then cut every consumer of it off, again and again.
  const huge = await connection.publish(queue, "x", { headers: { big: "y".repeat(20000) } }).then(() => null, (e) => e);
  assert(huge instanceof burrow.PublishInvalidError && /could not be read back/.test(huge.message), `a header no consumer could read: ${huge}`);
  const missing = await connection.publish("k", "x", { exchange: "burrow-no-such-exchange" }).then(() => null, (e) => e);
  assert(missing instanceof burrow.PublishRefusedError && missing.name === "PublishRefused", `PublishRefusedError: ${missing}`);
  const failed = connection.messages(fresh("no-such-queue"));
  const notFound = await within("the refusal", failed.next().then(() => null, (e) => e), 15000);
  assert(notFound instanceof burrow.ConsumeRefusedError && /NOT_FOUND|no queue|not found|does not exist/i.test(notFound.message), `ConsumeRefusedError: ${notFound}`);
  await connection.close();
}

/** Regression: a queue deleted under its consumer. RabbitMQ cancels the
 * subscription with an ERROR that names it and keeps the connection; the
 * iterator used to wait for good, with no event. */
async function queueDeletedUnderConsumer() {
  const connection = connect(URL_, { ...options, managementUrl: MANAGEMENT });
  const queue = fresh("deleted");
  await connection.queueDeclare(queue);
  const messages = connection.messages(queue, { prefetch: 5 });
  await connection.publish(queue, "one");
  const first = await within("the first message", messages.next());
  assert(first.value && first.value.text === "one", `the first message: ${first.value && first.value.text}`);
  const failed = event(connection, "consumer-failed", 15000);
  assert(await connection.queueDelete(queue) === true, "the queue is deleted");
  const ended = await within("the iterator's end", messages.next().then(() => null, (e) => e), 15000);
  assert(ended instanceof burrow.ConsumeRefusedError && /cancelled the consumer/.test(ended.message), `ConsumeRefusedError: ${ended}`);
  const status = await failed;
  assert(/Server cancelled subscription/.test(status.reason), `consumer-failed in RabbitMQ's words: ${status.reason}`);
  // The connection goes on: another queue is consumed on it.
  const other = fresh("after-delete");
  await connection.queueDeclare(other);
  const next = connection.messages(other, { prefetch: 5 });
  await connection.publish(other, "two");
  const second = await within("a message on the same connection", next.next());
  assert(second.value && second.value.text === "two", "the connection goes on");
  await second.value.ack();
  await connection.queueDelete(other);
  await connection.close();
}

/** Regression (QA): consuming a queue that does not exist failed every other
 * consumer of the connection first. RabbitMQ 3.10.8 closes without words and
 * loses the receipts of the valid subscriptions sent beside the fatal one. */
async function aMissingQueueFailsAlone() {
  const connection = connect(URL_, { ...options, managementUrl: MANAGEMENT, reconnectDelay: 20, maxReconnectDelay: 400 });
  const queue = fresh("kept");
  await connection.queueDeclare(queue);
  const failed = [];
  const ready = new Set();
  connection.on("consumer-failed", (e) => failed.push(e.consumer));
  connection.on("consumer-ready", (e) => ready.add(e.consumer));
  const got = [];
  const kept = [
    connection.consume(queue, (m) => { got.push(m.text); m.ack(); }, { prefetch: 5 }),
    connection.consume("/topic/burrow.kept", () => {}),
    connection.consume({ exchange: "amq.fanout" }, () => {}),
  ];
  await until("three consumers ready", () => kept.every((s) => ready.has(s.consumer)), 10000);
  const missing = connection.consume(fresh("no-such-queue"), () => {});
  await until(`the missing queue's consumer fails (failed: ${failed})`, () => failed.includes(missing.consumer), 60000);
  assert(failed.length === 1, `only it failed: ${failed} (it is ${missing.consumer})`);
  assert(kept.every((s) => s.active), "the others go on");
  await connection.publish(queue, "after");
  await until("a message for a kept consumer", () => got.includes("after"), 15000);
  await connection.queueDelete(queue);
  await connection.close();
}

const checks = {
  beforeInit,
  unkeptSubscription,
  unkeptConnection,
  closeSettlesEverything,
  statusListeners,
  errorClasses,
  queueDeletedUnderConsumer,
  aMissingQueueFailsAlone,
  bodies,
  properties,
  iterator,
  iteratorEnds,
  brokerAcks,
  ackValues,
  theIssuesWrongCalls,
  wrongArguments,
};

// beforeInit needs the wasm not loaded yet: it runs before init().
const only = new URLSearchParams(location.search).get("only")?.split(",");
const early = !only || only.includes("beforeInit") ? await beforeInit().then(() => null, (e) => e) : null;
await burrow.default();
await run({ ...checks, beforeInit: async () => { if (early) throw early; } });
