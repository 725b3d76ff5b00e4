// Messages through the package: bodies of every kind byte for byte, every
// property both ways, and the async iterator's bound (see contract.js).
import * as burrow from "burrow-rabbitmq";
import { URL_, LOGIN, options, fresh, within, until, pause, assert, collect, queueFacts, managementGet } from "./helpers.js";

const { connect } = burrow;
const bytes = (view) => Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
const same = (a, b) => a.length === b.length && a.every((x, n) => x === b[n]);

/** Rejects (or throws) a TypeError that names `name`; anything else fails. */
async function typeError(what, name, call) {
  let error = null;
  try {
    await call();
  } catch (thrown) {
    error = thrown;
  }
  assert(error instanceof TypeError && error.message.includes(name),
    `${what}: a TypeError naming ${name}, got ${error === null ? "no error" : `${error.name}: ${error.message}`}`);
}

/** Regression: an ArrayBuffer (and any view but a Uint8Array) went out as an empty
 * body, and a Symbol body resolved, having sent an empty message. */
export async function bodies() {
  const queue = fresh("bodies");
  const connection = connect(URL_, options);
  await connection.queueDeclare(queue);
  const every = Uint8Array.from({ length: 256 }, (_, n) => n);
  const backing = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]).buffer;
  const cases = [
    ["a string, as UTF-8", "大郎 起来喝药了 ✓", [...new TextEncoder().encode("大郎 起来喝药了 ✓")]],
    ["an empty string", "", []],
    ["an ArrayBuffer", Uint8Array.from([1, 2, 3, 4, 5]).buffer, [1, 2, 3, 4, 5]],
    ["an empty ArrayBuffer", new ArrayBuffer(0), []],
    ["a Uint8Array of every byte", every, [...every]],
    ["a Uint8Array over part of a buffer", new Uint8Array(backing, 3, 4), [6, 5, 4, 3]],
    ["a DataView over part of a buffer", new DataView(backing, 7), [2, 1, 0]],
    ["an Int16Array", Int16Array.of(-1, 258), [0xff, 0xff, 0x02, 0x01]],
    ["a Float64Array", Float64Array.of(1), [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]],
    ["a Uint8ClampedArray", Uint8ClampedArray.of(0, 255), [0, 255]],
    ["a BigInt64Array", BigInt64Array.of(-2n), [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
  ];
  for (const [, body] of cases) await within("a confirm", connection.publish(queue, body));
  // The bytes are taken at publish: changing the array afterwards changes nothing.
  const changed = Uint8Array.from([1, 1, 1]);
  const sent = connection.publish(queue, changed);
  changed.fill(0);
  await sent;
  cases.push(["a Uint8Array changed after publish", null, [1, 1, 1]]);
  const inbox = collect(connection, queue, { prefetch: 50 });
  for (const [what, , expected] of cases) {
    const message = await inbox.next(what);
    assert(same(bytes(message.body), expected), `${what}: got [${bytes(message.body)}], expected [${expected}]`);
    message.ack();
  }
  const wrong = [undefined, null, 42, true, {}, [1, 2], Symbol("body"), () => {}, 10n, new Blob(["x"]), new Date()];
  for (const body of wrong) await typeError(`publish(queue, ${String(body?.toString?.() ?? body)})`, "body", () => connection.publish(queue, body));
  await connection.publish(queue, "the end");
  const end = await inbox.next("the message after the wrong bodies");
  assert(end.text === "the end", `nothing was sent for a wrong body: got ${JSON.stringify(end.text)} where "the end" was next`);
  end.ack();
  await connection.close();
}

/** Regression: replyTo, correlationId, timestamp, priority, type, appId,
 * expiration and userId never reached the Message; non-string header values were dropped. */
export async function properties() {
  const queue = fresh("properties");
  const connection = connect(URL_, options);
  await connection.queueDeclare(queue, { arguments: { "x-max-priority": 10 } });
  const stamp = new Date(1733250000123);
  const headers = { text: "a: b\\c\nd", number: 42, fraction: 1.5, negative: -3, yes: true, no: false, 名前: "値" };
  await connection.publish(queue, '{"a":[1,"x"]}', {
    contentType: "application/json", contentEncoding: "identity", headers, persistent: true, priority: 7,
    correlationId: "corr-1", replyTo: "reply-queue", expiration: 60000, messageId: "id-1", timestamp: stamp,
    type: "greeting", userId: LOGIN, appId: "burrow-test",
  });
  await connection.publish(queue, "plain, not JSON");
  const inbox = collect(connection, queue, { prefetch: 10 });
  const full = await inbox.next("the message with every property");
  const expected = {
    contentType: "application/json", contentEncoding: "identity", persistent: true, priority: 7,
    correlationId: "corr-1", replyTo: "reply-queue", expiration: "60000", messageId: "id-1", type: "greeting",
    userId: LOGIN, appId: "burrow-test",
  };
  for (const [name, value] of Object.entries(expected)) {
    assert(full[name] === value, `${name}: got ${JSON.stringify(full[name])}, expected ${JSON.stringify(value)}`);
  }
  assert(full.timestamp instanceof Date && full.timestamp.getTime() === 1733250000000, `timestamp, to the second: ${full.timestamp}`);
  const textHeaders = { text: "a: b\\c\nd", number: "42", fraction: "1.5", negative: "-3", yes: "true", no: "false", 名前: "値" };
  const sorted = (record) => JSON.stringify(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
  assert(sorted(full.headers) === sorted(textHeaders), `headers arrive as text: ${JSON.stringify(full.headers)}`);
  const json = full.json();
  assert(JSON.stringify(json) === '{"a":[1,"x"]}', `json(): ${JSON.stringify(json)}`);
  full.ack();
  const plain = await inbox.next("the plain message");
  for (const name of [...Object.keys(expected).filter((n) => n !== "persistent"), "timestamp", "deliveryCount", "streamOffset"]) {
    assert(plain[name] === undefined, `a message without ${name} has none: ${plain[name]}`);
  }
  assert(!plain.persistent && Object.keys(plain.headers).length === 0, "not persistent, no headers");
  let notJson = null;
  try { plain.json(); } catch (error) { notJson = error; }
  assert(notJson instanceof SyntaxError && /not JSON/.test(notJson.message) && /plain, not JSON/.test(notJson.message),
    `json() on a body that is not JSON: ${notJson}`);
  plain.ack();
  for (const value of [{}, null, undefined, Symbol("h"), NaN, Infinity, [], () => {}, 10n, new Date()]) {
    await typeError("a header value of another type", 'options.headers["h"]', () => connection.publish(queue, "x", { headers: { h: value } }));
  }
  await connection.publish(queue, "the end");
  const end = await inbox.next("the message after the wrong headers");
  assert(end.text === "the end", `nothing was sent for a wrong header: got ${JSON.stringify(end.text)}`);
  end.ack();
  await requestReply(connection);
  await connection.close();
}

/** Request/reply, as the RabbitMQ tutorial's RPC: replyTo and correlationId carry it. */
async function requestReply(connection) {
  const requests = fresh("rpc");
  const replies = fresh("rpc-replies");
  await connection.queueDeclare(requests);
  await connection.queueDeclare(replies);
  const service = connect(URL_, options);
  service.consume(requests, (request) => {
    service.publish(request.replyTo, `${request.text} squared is ${Number(request.text) ** 2}`, { correlationId: request.correlationId });
    request.ack();
  });
  const inbox = collect(connection, replies, { prefetch: 10 });
  await connection.publish(requests, "7", { replyTo: replies, correlationId: "question-7" });
  const reply = await inbox.next("the reply");
  assert(reply.correlationId === "question-7" && reply.text === "7 squared is 49", `the reply: ${reply.correlationId} ${reply.text}`);
  reply.ack();
  await service.close();
}

/** messages(): at most `prefetch` wait in the iterator while the loop is slow; "auto" acks as it takes. */
export async function iterator() {
  const queue = fresh("iterator");
  const connection = connect(URL_, options);
  await connection.queueDeclare(queue);
  await Promise.all(Array.from({ length: 30 }, (_, n) => connection.publish(queue, `m-${n}`)));
  const consumer = connect(URL_, options);
  const messages = consumer.messages(queue, { prefetch: 5 });
  let most = 0;
  const got = [];
  for await (const message of messages) {
    most = Math.max(most, messages.buffered);
    got.push(message.text);
    await pause(20); // a slow loop
    most = Math.max(most, messages.buffered);
    message.ack();
    if (got.length === 30) break;
  }
  assert(got.every((text, n) => text === `m-${n}`), `all 30, in order: ${got}`);
  assert(most <= 5, `the buffer stays within the prefetch of 5: it held ${most}`);
  assert(most >= 2, `the slow loop let the buffer fill (to ${most}), so the bound was tested`);

  // "auto": the loop never acks, yet every message comes (each acked as taken).
  const autoQueue = fresh("iterator-auto");
  await connection.queueDeclare(autoQueue);
  await Promise.all(Array.from({ length: 10 }, (_, n) => connection.publish(autoQueue, `a-${n}`)));
  const auto = consumer.messages(autoQueue, { ack: "auto", prefetch: 3 });
  const taken = [];
  let autoMost = 0;
  await within("10 messages with ack: auto", (async () => {
    for await (const message of auto) {
      taken.push(message.text);
      await pause(20);
      autoMost = Math.max(autoMost, auto.buffered);
      if (taken.length === 10) break;
    }
  })());
  assert(autoMost <= 3, `ack "auto" stays within its prefetch of 3: ${autoMost}`);

  // The iterator ends when its connection closes.
  const last = consumer.messages(queue, { prefetch: 1 });
  const pending = last.next();
  await consumer.close();
  const end = await within("the iterator ends with its connection", pending);
  assert(end.done === true, "done after close()");
  await connection.close();
}

/** Leaving the loop cancels the consumer; what it had not taken stays with the
 * connection (Web-STOMP ignores acks after a cancel) and comes back once it closes. */
export async function iteratorEnds() {
  const queue = fresh("iterator-ends");
  const connection = connect(URL_, options);
  await connection.queueDeclare(queue);
  await Promise.all(Array.from({ length: 20 }, (_, n) => connection.publish(queue, `m-${n}`)));
  const messages = connection.messages(queue, { prefetch: 5 });
  const first = [];
  for await (const message of messages) {
    first.push(message.text);
    message.ack();
    if (first.length === 5) break;
  }
  const done = await messages.next();
  assert(done.done === true && messages.buffered === 0, "after break the iterator is done and empty");
  await connection.close();
  const other = connect(URL_, options);
  const rest = collect(other, queue, { prefetch: 50 });
  const second = [];
  for (let n = 0; n < 15; n++) {
    const message = await rest.next(`message ${n} of the 15 left`);
    second.push(message.text);
    message.ack();
  }
  await pause(300);
  assert(rest.arrived.length === 0, `nothing more: ${rest.arrived.map((m) => m.text)}`);
  const all = new Set([...first, ...second]);
  assert(all.size === 20, `each of the 20 exactly once: ${first} | ${second}`);
  await other.close();
}

/** The management API's consumers of `queue` (RabbitMQ's list lags a little). */
async function consumersOf(queue) {
  const consumers = await managementGet("/consumers/%2F", "the consumers");
  return consumers.filter((consumer) => consumer.queue?.name === queue);
}

/** Calls `look()` every 200 ms until `holds(answer)` or `ms` pass; returns the last answer. */
async function poll(look, holds, ms = 15000) {
  const deadline = performance.now() + ms;
  let answer = await look();
  while (!holds(answer) && performance.now() < deadline) {
    await pause(200);
    answer = await look();
  }
  return answer;
}

/** Waits until RabbitMQ lists one consumer of `queue`; returns it. */
async function theConsumerOf(queue) {
  const found = await poll(() => consumersOf(queue), (consumers) => consumers.length === 1);
  assert(found.length === 1, `one consumer of ${queue} in /api/consumers: ${JSON.stringify(found)}`);
  return found[0];
}

/** ack "broker": RabbitMQ's own auto-ack (SUBSCRIBE ack:auto). Every message
 * comes, the broker lists the consumer without acks, and the queue ends empty
 * with nothing unacked; from an exchange too. */
export async function brokerAcks() {
  const N = 200;
  const queue = fresh("broker-acks");
  const producer = connect(URL_, options);
  await producer.queueDeclare(queue);
  await Promise.all(Array.from({ length: N }, (_, n) => producer.publish(queue, `b-${n}`)));
  const consumer = connect(URL_, options);
  const got = [];
  const subscription = consumer.consume(queue, (message) => got.push(message.text), { ack: "broker" });
  await until(`${N} messages with ack: "broker"`, () => got.length >= N, 15000);
  await pause(200);
  assert(got.length === N && got.every((text, n) => text === `b-${n}`), `each of the ${N} once, in order: ${got.length}`);
  const listed = await theConsumerOf(queue);
  assert(listed.ack_required === false, `RabbitMQ counts it as its own auto-ack (ack_required false): ${JSON.stringify(listed)}`);
  const facts = await poll(() => queueFacts(queue), (f) => f.messages === 0 && f.messages_unacknowledged === 0);
  assert(facts.messages === 0 && facts.messages_unacknowledged === 0,
    `the queue ends empty with nothing unacked: ${facts.messages} ready+unacked, ${facts.messages_unacknowledged} unacked`);
  subscription.cancel();
  const gone = await poll(() => consumersOf(queue), (consumers) => consumers.length === 0);
  assert(gone.length === 0, `the cancelled consumer leaves RabbitMQ's list: ${JSON.stringify(gone)}`);

  // Burrow's own "auto" subscribes client-individual: RabbitMQ counts acks for it.
  const burrowAuto = consumer.consume(queue, () => {}, { ack: "auto" });
  const autoListed = await theConsumerOf(queue);
  assert(autoListed.ack_required === true, `ack "auto" is Burrow's, acked by the client: ${JSON.stringify(autoListed)}`);
  burrowAuto.cancel();

  // An exchange subscription with ack "broker".
  const key = fresh("broker-acks-key");
  const topic = [];
  const sub = consumer.consume({ exchange: "amq.topic", routingKey: key }, (message) => topic.push(message.text), { ack: "broker" });
  await until("the exchange subscription's queue", () => sub.queue !== undefined);
  const subListed = await theConsumerOf(sub.queue);
  assert(subListed.ack_required === false, `an exchange subscription with ack "broker" too: ${JSON.stringify(subListed)}`);
  for (let n = 0; n < 10; n++) await producer.publish(key, `t-${n}`, { exchange: "amq.topic" });
  await until("10 messages from the exchange", () => topic.length === 10);
  sub.cancel();
  await producer.close();
  await consumer.close();
}

/** A wrong `ack` names the three values; messages() refuses "broker", which has
 * no window to bound its buffer. */
export async function ackValues() {
  const queue = fresh("ack-values");
  const consumer = connect(URL_, options);
  await typeError("a wrong ack", "options.ack", () => consumer.consume(queue, () => {}, { ack: "client" }));
  let wrong = null;
  try { consumer.consume(queue, () => {}, { ack: "client" }); } catch (error) { wrong = error; }
  assert(["\"manual\"", "\"auto\"", "\"broker\""].every((value) => wrong.message.includes(value)),
    `a wrong ack lists the three values: ${wrong.message}`);
  let iterated = null;
  try { consumer.messages(queue, { ack: "broker" }); } catch (error) { iterated = error; }
  assert(iterated instanceof TypeError && /options\.ack/.test(iterated.message) && /window/.test(iterated.message),
    `messages() refuses ack "broker" (no window to bound its buffer): ${iterated}`);
  await consumer.close();
}

/** Regression (QA): stompjs's users take `ack` off the message
 * (`({ ack, text }) => …`); it threw "Cannot read properties of undefined" and,
 * with a prefetch of 1, the consumer stalled. Now ack and nack are bound. */
export async function destructuredAck() {
  const queue = fresh("destructured");
  const connection = connect(URL_, options);
  await connection.queueDeclare(queue, { exclusive: true });
  const got = [];
  let thrown = null;
  connection.consume(queue, ({ ack, nack, text }) => {
    got.push(text);
    try {
      if (text === "second") nack({ requeue: false }); else ack();
    } catch (error) {
      thrown = error;
    }
  }, { prefetch: 1 });
  for (const body of ["first", "second", "third"]) await connection.publish(queue, body);
  // One at a time: each arrives only once the one before was settled.
  await until(`all three, each settled (got ${got}, threw ${thrown})`, () => got.length === 3 || thrown !== null, 10000);
  assert(thrown === null && got.join() === "first,second,third", `settled through the taken functions: ${got} / ${thrown}`);
  await connection.close();
}
