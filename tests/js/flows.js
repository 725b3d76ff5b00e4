// The RabbitMQ tutorial's four flows (and quorum queues and streams), as an app
// that installed Burrow's npm package writes them. tests/js_package.rs installs
// the tarball with npm, bundles this with esbuild, serves the bundle and reads
// #result in headless Chromium.
import init, { connect } from "burrow-rabbitmq";
// A bundler's file loader gives the wasm's URL (esbuild: --loader:.wasm=file).
import wasm from "burrow-rabbitmq/burrow_bg.wasm";
import { URL_, RESTARTER, options, log, fresh, within, until, collect, event, assert, run } from "./helpers.js";

async function helloWorld() {
  const queue = fresh("水续传");
  const producer = connect(URL_, options);
  await producer.queueDeclare(queue);
  const consumer = connect(URL_, options);
  const inbox = collect(consumer, queue, { ack: "auto", prefetch: 0 });
  await within("the confirm", producer.publish(queue, "大郎 起来喝药了"));
  const message = await inbox.next("the delivery");
  assert(message.text === "大郎 起来喝药了", `body arrived as ${JSON.stringify(message.text)}`);
  assert(!message.redelivered && !message.possiblyDuplicate, "a first delivery is not marked");
  producer.close();
  consumer.close();
  log("1. hello world: the Chinese queue name and body arrive byte for byte");
}

async function workQueues() {
  const queue = fresh("task_queue");
  const producer = connect(URL_, options);
  await producer.queueDeclare(queue);
  // Each worker says when RabbitMQ accepted its subscription: dispatch is then
  // round-robin from the first message. Its other status events are kept, so a
  // failure says whether a connection was lost meanwhile.
  const ready = [];
  const events = [[], []];
  const workers = [0, 1].map((i) => {
    let signal;
    ready.push(new Promise((resolve) => { signal = resolve; }));
    return connect(URL_, { ...options, onStatus: (event) => {
      events[i].push(event.type === "reconnecting" ? `reconnecting (${event.reason})` : event.type);
      if (event.type === "consumer-ready") signal();
    } });
  });
  const got = [[], []];
  let arrived = () => {};
  // Each worker acks as it goes (prefetch 1). Each task is published once the
  // last one arrived, so both workers are idle and the broker's round-robin alone
  // picks: the ten go five and five. (Published all at once, the split follows
  // which worker acks first: RabbitMQ 4.0.5 split them 6 and 4 in 1 run of 5.)
  workers.forEach((worker, i) => worker.consume(queue, (message) => {
    got[i].push(message.text);
    message.ack();
    arrived();
  }, { ack: "manual", prefetch: 1 }));
  await within("both consumers ready", Promise.all(ready));
  for (let n = 0; n < 10; n++) {
    const delivered = new Promise((resolve) => { arrived = resolve; });
    await producer.publish(queue, `task ${n}`);
    try {
      await within(`task ${n}`, delivered);
    } catch (error) {
      throw new Error(`${error.message}: got ${JSON.stringify(got)}, worker status ${JSON.stringify(events)}`);
    }
  }
  assert(got[0].length === 5 && got[1].length === 5, `5 and 5: ${JSON.stringify(got)}, status ${JSON.stringify(events)}`);
  const distinct = new Set([...got[0], ...got[1]]);
  assert(distinct.size === 10, `every task once: ${JSON.stringify(got)}`);
  producer.close();
  workers.forEach((worker) => worker.close());
  log(`2. work queues: round-robin, ${got[0].length} and ${got[1].length}`);
}

async function acknowledgements() {
  const queue = fresh("ack_queue");
  const producer = connect(URL_, options);
  await producer.queueDeclare(queue);
  const crashing = connect(URL_, options);
  const first = collect(crashing, queue, { ack: "manual", prefetch: 1 });
  await within("the confirm", producer.publish(queue, "important work"));
  const taken = await first.next("the first delivery");
  assert(taken.text === "important work", taken.text);
  crashing.close(); // the worker dies before it acks
  let stale = null;
  try { taken.ack(); } catch (error) { stale = error; }
  assert(stale && (stale.name === "Stopped" || stale.name === "Stale"), `an ack after the crash is refused: ${stale}`);
  const survivor = connect(URL_, options);
  const second = collect(survivor, queue, { ack: "manual", prefetch: 1 });
  const again = await second.next("the redelivery");
  assert(again.text === "important work" && again.redelivered && again.possiblyDuplicate, "redelivered, marked");
  again.ack();
  producer.close();
  survivor.close();
  log("3. acknowledgements: a crash before the ack redelivers the message, marked");
}

async function durability() {
  const queue = fresh("task_queue_durable");
  const producer = connect(URL_, options);
  await producer.queueDeclare(queue, { durable: true });
  await within("the confirms", Promise.all([
    producer.publish(queue, "saved 1", { persistent: true }),
    producer.publish(queue, "saved 2", { persistent: true }),
  ]));
  let refused = null;
  try { await producer.queueDeclare(queue, { durable: false }); } catch (error) { refused = error; }
  assert(refused && refused.name === "DeclareRefused" && /PRECONDITION_FAILED/.test(refused.message) && /durable/.test(refused.message),
    `the redeclare is refused in RabbitMQ's words: ${refused}`);
  producer.close();
  // Live events from a non-durable exchange this page declared: the restart
  // deletes it, and the connection declares it again before it subscribes (QA:
  // the subscription failed NOT_FOUND for good).
  const exchange = fresh("live_events");
  const live = connect(URL_, { ...options, reconnectDelay: 200, maxReconnectDelay: 1000 });
  await live.exchangeDeclare(exchange, "fanout");
  const ready = event(live, "consumer-ready");
  const events = collect(live, { exchange }, { ack: "auto" });
  await ready;
  const readyAgain = event(live, "consumer-ready", 60000);
  const failed = [];
  live.on("consumer-failed", (e) => failed.push(e.reason));
  const restart = await fetch(`${RESTARTER}/restart`, { method: "POST" })
    .catch((error) => { throw new Error(`POST ${RESTARTER}/restart: ${error}`); });
  assert(restart.ok, `the broker restarts: HTTP ${restart.status}`);
  await readyAgain;
  await within("the live event's confirm", live.publish("", "after the restart", { exchange }), 60000);
  const after = await events.next("a live event after the restart", 60000);
  assert(after.text === "after the restart" && failed.length === 0, `the exchange came back: ${after.text}, failed ${failed}`);
  await live.exchangeDelete(exchange);
  live.close();
  const consumer = connect(URL_, { ...options, reconnectDelay: 200, maxReconnectDelay: 1000 });
  const inbox = collect(consumer, queue, { ack: "manual", prefetch: 10 });
  const bodies = [];
  for (let n = 0; n < 2; n++) {
    const message = await within("a persistent message after the restart", inbox.next(`message ${n}`), 60000);
    assert(message.persistent, "persistent");
    bodies.push(message.text);
    message.ack();
  }
  assert(bodies.join() === "saved 1,saved 2", `both survived, in order: ${bodies}`);
  consumer.close();
  log("4. durability: persistent messages in a durable queue survive a broker restart, and a non-durable exchange the page declared comes back; a redeclare with other durability is refused");
}

async function statusAndErrors() {
  const events = [];
  const connection = connect(URL_, { ...options, onStatus: (event) => events.push(event) });
  await connection.queueDeclare(fresh("status"));
  let invalid = null;
  try { await connection.publish("k".repeat(300), "x"); } catch (error) { invalid = error; }
  assert(invalid && invalid.name === "PublishInvalid" && /255 bytes/.test(invalid.message), `refused at publish: ${invalid}`);
  connection.close();
  await within("stopped", new Promise((resolve) => {
    const check = () => events.some((e) => e.type === "stopped") ? resolve() : setTimeout(check, 20);
    check();
  }));
  const types = events.map((e) => e.type);
  assert(types[0] === "connecting" && types.includes("connected") && types[types.length - 1] === "stopped",
    `status events: ${types}`);
  log("status events: connecting, connected, stopped last; an impossible publish is refused in words");
}

async function credentialsProvider() {
  // Credentials from a function before every CONNECT: the first call fails (a
  // reconnecting event says so in its words), the second throws what is not an
  // Error (said as JSON), the third gives them.
  const events = [];
  let calls = 0;
  const credentials = async () => {
    calls += 1;
    if (calls === 1) throw new Error("identity provider down");
    if (calls === 2) throw { code: 503 };
    return { login: options.login, passcode: options.passcode };
  };
  const connection = connect(URL_, { credentials, reconnectDelay: 50, onStatus: (event) => events.push(event) });
  const queue = fresh("tokens");
  await within("the declare", connection.queueDeclare(queue));
  const inbox = collect(connection, queue, { ack: "auto", prefetch: 0 });
  await within("the confirm", connection.publish(queue, "with fresh credentials"));
  const message = await inbox.next("the delivery");
  assert(message.text === "with fresh credentials", `delivered: ${message.text}`);
  const [failed, thrown] = events.filter((e) => e.type === "reconnecting");
  assert(failed && failed.reason === "the credentials provider failed: identity provider down" && failed.fault === "local",
    `the failing provider in the status: ${JSON.stringify(failed)}`);
  assert(thrown && thrown.reason === 'the credentials provider failed: {"code":503}',
    `a thrown object in the status: ${JSON.stringify(thrown)}`);
  assert(calls === 3, `the provider was called before each CONNECT: ${calls}`);
  connection.close();
  log("credentials from a provider: a rejection is a reconnecting event in its words, retried; then connected with what it gave");
}

async function publishOutcomes() {
  // A message the broker refuses fails alone; the next one is confirmed.
  const connection = connect(URL_, options);
  const queue = fresh("outcomes");
  await connection.queueDeclare(queue);
  let refused = null;
  const doomed = connection.publish("x", "doomed", { exchange: "burrow-no-such-exchange" }).catch((error) => { refused = error; });
  const after = connection.publish(queue, "after");
  await within("the refusal", doomed, 20000);
  assert(refused && refused.name === "PublishRefused", `a publish to a missing exchange is refused: ${refused}`);
  await within("the publish after the refused one", after, 20000);

  // More publishes at once than the outbox holds: each waits its turn, all are
  // confirmed, in order.
  const small = connect(URL_, { ...options, outboxMessages: 5 });
  await small.queueDeclare(queue);
  const count = 41;
  const confirms = [];
  for (let n = 0; n < count - 1; n++) confirms.push(small.publish(queue, `m-${n}`));
  // Published when the first confirm frees a slot, while 35 others wait for one:
  // it must not overtake them.
  const last = confirms[0].then(() => small.publish(queue, `m-${count - 1}`));
  await within("41 confirms through an outbox of 5", Promise.all([...confirms, last]), 20000);
  const inbox = collect(connection, queue, { ack: "manual", prefetch: 50 });
  const first = await inbox.next("the message after the refused one");
  assert(first.text === "after", `the message after the refused one arrived: ${first.text}`);
  first.ack();
  for (let n = 0; n < count; n++) {
    const message = await inbox.next(`m-${n}`);
    assert(message.text === `m-${n}`, `in the order published: expected m-${n}, got ${message.text}`);
    message.ack();
  }
  inbox.subscription.cancel();

  // Closing with publishes unconfirmed: every Promise settles, confirmed or "Stopped".
  const pending = [];
  for (let n = 0; n < 300; n++) pending.push(small.publish(queue, `late-${n}`));
  small.close();
  const settled = await within("every publish settled after close()", Promise.allSettled(pending));
  const wrong = settled.filter((s) => s.status === "rejected" && s.reason.name !== "Stopped");
  assert(wrong.length === 0, `unconfirmed publishes fail with "Stopped": ${wrong.map((s) => s.reason)}`);
  assert(settled.some((s) => s.status === "rejected"), "close() came before some confirms");
  connection.close();
  log("publish outcomes: a refused message fails alone; 41 publishes through an outbox of 5, in order; close() settles every pending publish");
}

async function quorumAndStreams() {
  const connection = connect(URL_, options);
  let invalid = null;
  const exclusive = { durable: true, exclusive: true, arguments: { "x-queue-type": "quorum" } };
  try { await connection.queueDeclare(fresh("quorum"), exclusive); } catch (error) { invalid = error; }
  assert(invalid && invalid.name === "DeclareInvalid" && /quorum queue cannot be exclusive/.test(invalid.message),
    `an exclusive quorum queue is refused before sending: ${invalid}`);
  const stream = fresh("stream");
  await connection.queueDeclare(stream, { durable: true, arguments: { "x-queue-type": "stream" } });
  for (const n of [0, 1, 2]) {
    await within("a confirm", connection.publish(stream, `e-${n}`, { persistent: true }));
  }
  let refused = null;
  try { connection.consume(stream, () => {}, { ack: "auto", offset: "first" }); } catch (error) { refused = error; }
  assert(refused && refused.name === "ConsumeInvalid", `auto-ack on a stream is refused: ${refused}`);
  refused = null;
  try { connection.consume(stream, () => {}, { ack: "broker", offset: "first" }); } catch (error) { refused = error; }
  assert(refused && refused.name === "ConsumeInvalid", `RabbitMQ's own auto-ack on a stream is refused as "auto" is: ${refused}`);
  // Regression (QA): without an offset these went, and RabbitMQ closed the connection at
  // each SUBSCRIBE until the consumer failed in words that did not say why.
  for (const [asked, consumeOptions] of [["RabbitMQ's own auto-ack", { ack: "broker" }], ["prefetch 0", { prefetch: 0 }]]) {
    refused = null;
    try { connection.consume(stream, () => {}, consumeOptions); } catch (error) { refused = error; }
    assert(refused?.name === "ConsumeInvalid", `${asked} on a stream this connection declared, without an offset: ${refused}`);
  }
  const quorum = fresh("quorum-offset");
  await connection.queueDeclare(quorum, { durable: true, arguments: { "x-queue-type": "quorum" } });
  refused = null;
  try { connection.consume(quorum, () => {}, { offset: "first" }); } catch (error) { refused = error; }
  assert(refused?.name === "ConsumeInvalid" && /declared quorum/.test(refused.message), `an offset on a quorum queue: ${refused}`);
  await connection.queueDelete(quorum);
  const reader = collect(connection, stream, { offset: 1, prefetch: 10 });
  const first = await reader.next("offset 1");
  assert(first.streamOffset === 1 && first.text === "e-1" && first.deliveryCount === undefined,
    `read from offset 1: ${first.streamOffset} ${first.text} ${first.deliveryCount}`);
  let nack = null;
  try { first.nack(); } catch (error) { nack = error; }
  assert(nack && nack.name === "StreamNack", `a stream message is not nacked: ${nack}`);
  first.ack();
  const second = await reader.next("offset 2");
  assert(second.streamOffset === 2 && second.text === "e-2", `then offset 2: ${second.streamOffset}`);
  second.ack();
  reader.subscription.cancel();
  connection.close();
  log("quorum queues and streams: an exclusive quorum queue refused before sending; a stream read from offset 1, each message's offset; auto-ack, prefetch 0, an offset on a quorum queue and nack refused");
}

/** RabbitMQ's version from a `connected` event's server header: [major, minor]. */
function brokerVersion(server) {
  const found = /^RabbitMQ\/(\d+)\.(\d+)/.exec(server ?? "");
  assert(found, `CONNECTED's server header names RabbitMQ's version: ${server}`);
  return [Number(found[1]), Number(found[2])];
}

/** Publishes each body with its filter value (or none) and waits for every confirm. */
async function publishValued(connection, stream, bodies) {
  const confirms = bodies.map(([body, value]) => connection.publish(stream, body, value ? { streamFilterValue: value } : {}));
  await within("the confirms", Promise.all(confirms));
}

/** Stream filters (RabbitMQ 3.13+): read back with only their value, or refused in words. */
async function streamFilters() {
  const connection = connect(URL_, options);
  const { server } = await event(connection, "connected");
  const [major, minor] = brokerVersion(server);
  const stream = fresh("stream-filter");
  await connection.queueDeclare(stream, { durable: true, arguments: { "x-queue-type": "stream" } });
  if (major < 3 || (major === 3 && minor < 13)) {
    const words = `stream filtering needs RabbitMQ 3.13.0 or later; this broker is ${server}`;
    let refused = null;
    try { connection.consume(stream, () => {}, { streamFilter: "red", prefetch: 10 }); } catch (error) { refused = error; }
    assert(refused?.name === "ConsumeInvalid" && refused.message === words, `a stream filter on ${server} is refused in words: ${refused}`);
    let rejected = null;
    try { await connection.publish(stream, "x", { streamFilterValue: "red" }); } catch (error) { rejected = error; }
    assert(rejected?.name === "PublishInvalid" && rejected.message === words, `a filter value on ${server} is refused in words: ${rejected}`);
    connection.close();
    log(`stream filters on ${server}: refused in words, nothing sent`);
    return;
  }
  const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));
  await publishValued(connection, stream, range(20, (i) => [`red-${i}`, "red"]));
  await publishValued(connection, stream, range(60, (i) => [`blue-${i}`, "blue"]));
  await publishValued(connection, stream, range(40, (i) => [i % 2 ? `blue-mixed-${i}` : `red-mixed-${i}`, i % 2 ? "blue" : "red"]));
  await publishValued(connection, stream, [["none-0", null], ["end", "red"]]);
  const reader = collect(connection, stream, { streamFilter: ["red"], offset: "first", prefetch: 10 });
  const red = [];
  for (;;) {
    const message = await reader.next("a red message");
    message.ack();
    assert(message.streamFilterValue === "red", `only red arrives: ${message.text} (${message.streamFilterValue})`);
    if (message.text === "end") break;
    red.push(message.text);
  }
  assert(red.length === 40, `every red message: ${red.length}`);
  const keptBack = reader.subscription.filteredOut;
  assert(keptBack >= 0 && keptBack <= 81, `kept back on the client: ${keptBack}`);
  reader.subscription.cancel();
  connection.close();
  log(`stream filters on ${server}: 40 red of 122 read back; the client kept back ${keptBack} that came in red chunks`);
}

/** Consumer priorities (RabbitMQ 4.0+): the higher one gets what it has room for, or refused in words. */
async function consumerPriorities() {
  const connection = connect(URL_, options);
  const { server } = await event(connection, "connected");
  const [major] = brokerVersion(server);
  const queue = fresh("priority");
  await connection.queueDeclare(queue, { durable: true });
  if (major < 4) {
    let refused = null;
    try { connection.consume(queue, () => {}, { priority: 10 }); } catch (error) { refused = error; }
    const words = `a consumer priority (x-priority) needs RabbitMQ 4.0.0 or later; this broker is ${server}`;
    assert(refused?.name === "ConsumeInvalid" && refused.message === words, `x-priority on ${server} is refused in words: ${refused}`);
    connection.close();
    log(`consumer priorities on ${server}: refused in words, nothing sent`);
    return;
  }
  const got = { high: 0, low: 0 };
  const consumer = async (name, priority) => {
    const c = connect(URL_, options);
    const ready = event(c, "consumer-ready");
    c.consume(queue, (message) => { got[name] += 1; message.ack(); }, { prefetch: 100, priority });
    await ready;
    return c;
  };
  const low = await consumer("low", 0);
  const high = await consumer("high", 10);
  await publishValued(connection, queue, Array.from({ length: 30 }, (_, i) => [`m-${i}`, null]));
  await until("30 deliveries", () => got.high + got.low === 30);
  assert(got.high === 30 && got.low === 0, `all to priority 10: ${JSON.stringify(got)}`);
  for (const c of [low, high, connection]) c.close();
  log(`consumer priorities on ${server}: 30 of 30 to priority 10, 0 to priority 0 (prefetch 100 each)`);
}

await init(wasm);
await run({ helloWorld, workQueues, acknowledgements, durability, statusAndErrors, credentialsProvider, publishOutcomes, quorumAndStreams,
  streamFilters, consumerPriorities });
