// RPC (RabbitMQ's tutorial 6) from JavaScript, as an app that installed Burrow's
// npm package writes it: connection.call and connection.reply against the real
// broker, and pika's tutorial programs on the other side (pika_helper.py).
// tests/js_package.rs bundles this with esbuild and reads #result.
import init, { connect, TimeoutError, ConnectionLostError, NoReplyToError, StoppedError, BurrowError } from "burrow-rabbitmq";
import wasm from "burrow-rabbitmq/burrow_bg.wasm";
import { URL_, RESTARTER, MANAGEMENT, options, log, fresh, within, until, collect, assert, run, event, pause, queueFacts } from "./helpers.js";

const PIKA = new URLSearchParams(location.search).get("pika") || "http://127.0.0.1:8099";

function fib(n) {
  let [a, b] = [0, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/** A connection serving tutorial 6's Fibonacci on a fresh queue; `seen` gets each request's replyTo. */
async function fibServer(queue) {
  const server = connect(URL_, options);
  await server.queueDeclare(queue);
  const seen = [];
  server.consume(queue, async (message) => {
    seen.push(message.replyTo);
    await server.reply(message, String(fib(Number(message.text))));
    message.ack();
  }, { ack: "manual", prefetch: 10 });
  await event(server, "consumer-ready");
  return { server, seen };
}

async function pika(path) {
  const response = await fetch(`${PIKA}${path}`, { method: "POST" });
  const text = await response.text();
  assert(response.ok, `pika_helper answered ${path} with HTTP ${response.status}: ${text}`);
  return text;
}

async function callAndReply() {
  const queue = fresh("rpc_queue");
  const { server, seen } = await fibServer(queue);
  const client = connect(URL_, options);
  const reply = await within("fib(30)", client.call(queue, "30", { timeout: 5000 }));
  assert(reply.text === "832040", `the reply: ${reply.text}`);
  assert(typeof reply.correlationId === "string", `the reply carries its correlationId: ${reply.correlationId}`);
  reply.ack(); // nothing to ack: a no-op
  assert(/^amq\.gen-/.test(seen[0]), `the server sees the reply queue's name: ${seen[0]}`);
  const many = await within("ten concurrent calls", Promise.all(
    Array.from({ length: 10 }, (_, n) => client.call(queue, String(n + 10), { timeout: 5000 }))));
  many.forEach((message, n) => assert(message.text === String(fib(n + 10)), `call ${n} got ${message.text}`));
  assert(client.unmatchedReplies === 0, `no unmatched reply: ${client.unmatchedReplies}`);
  // Regression: stompjs's destination for the queue went nowhere, and the call timed out.
  const destination = await within("a call to /amq/queue/…", client.call(`/amq/queue/${queue}`, "20", { timeout: 5000 }));
  assert(destination.text === String(fib(20)), `the reply through /amq/queue/: ${destination.text}`);
  const twice = await client.call("/topic/x", "1", { exchange: "amq.direct" }).then(() => null, (e) => e);
  assert(twice instanceof TypeError && /names the exchange/.test(twice.message), `an exchange named twice: ${twice}`);
  server.close();
  client.close();
  log("rpc: fib(30) = 832040 from a server in the page; ten concurrent calls each got their own reply");
}

async function timeoutAndUnmatched() {
  const queue = fresh("rpc_slow");
  const server = connect(URL_, options);
  await server.queueDeclare(queue);
  const inbox = collect(server, queue, { ack: "manual", prefetch: 1 });
  const client = connect(URL_, options);
  const warnings = [];
  client.on("warning", (e) => warnings.push(e.message));
  let failed = null;
  try { await client.call(queue, "1", { timeout: 300 }); } catch (error) { failed = error; }
  assert(failed instanceof TimeoutError && failed instanceof BurrowError && failed.name === "Timeout",
    `a TimeoutError: ${failed}`);
  const request = await inbox.next("the request");
  await server.reply(request, "late");
  request.ack();
  await until("the late reply counted", () => client.unmatchedReplies === 1);
  assert(warnings.some((w) => w.includes(request.correlationId) && w.includes("after its call timed out (300 ms)")),
    `a warning names it as late: ${warnings}`);
  let refused = null;
  const plain = fresh("rpc_plain");
  await server.queueDeclare(plain);
  const plainInbox = collect(server, plain, { ack: "auto" });
  await server.publish(plain, "no reply wanted");
  const message = await plainInbox.next("a plain message");
  try { await server.reply(message, "?"); } catch (error) { refused = error; }
  assert(refused instanceof NoReplyToError && /no reply_to/.test(refused.message), `NoReplyToError: ${refused}`);
  // Refused at once by a stopped connection, a reply says why it stopped, as a publish does.
  const afterStop = new Promise((resolve) => server.on("stopped", () => {
    const settle = (promise) => promise.then(() => null, (error) => error);
    resolve(Promise.all([settle(server.reply(request, "after")), settle(server.publish(plain, "after"))]));
  }));
  await server.close();
  const [reply, publish] = await within("the reply and publish refused after stopped", afterStop);
  assert(publish instanceof StoppedError && publish.reason === "disconnected", `the publish's StoppedError has the reason: ${publish?.reason}`);
  assert(reply instanceof StoppedError && reply.reason === "disconnected", `the reply's StoppedError has the reason too: ${reply} (${reply?.reason})`);
  client.close();
  log("rpc: a TimeoutError after 300 ms; the late reply counted (unmatchedReplies 1) and warned; reply to a message without replyTo refused; a reply refused after stopped says why");
}

/** Tutorial 6's client started before its server (which declares the queue): the
 * call ended in "no reply within 5000 ms" alone, as RabbitMQ confirms and drops a
 * request no queue takes. Its TimeoutError now says the queue does not exist. */
async function callToAMissingQueue() {
  const queue = fresh("rpc_nobody");
  const client = connect(URL_, options);
  let failed = null;
  try { await within("the call's end", client.call(queue, "30", { timeout: 1000 })); } catch (error) { failed = error; }
  assert(failed instanceof TimeoutError && failed.name === "Timeout", `a TimeoutError: ${failed}`);
  assert(failed.message.startsWith("no reply within 1000 ms: ") && failed.message.includes(`there is no queue '${queue}' in vhost '/'`),
    `it says the queue does not exist: ${failed.message}`);
  client.close();
  log(`rpc: a call to a queue nobody declared says so: ${failed.message}`);
}

/** QA on 4.0.5: a call to a queue whose server stopped (the queue there, no
 * consumer) said only "no reply within 2000 ms". It says no consumer took it. */
async function callToAQueueWithoutConsumer() {
  const queue = fresh("rpc_idle");
  const client = connect(URL_, options);
  await client.queueDeclare(queue);
  // A new queue's consumer count comes with its first statistics (a few seconds).
  let facts = {};
  const started = Date.now();
  while (!("consumers" in facts) && Date.now() - started < 15000) {
    facts = await queueFacts(queue);
    if (!("consumers" in facts)) await pause(250);
  }
  assert(facts.consumers === 0, `the management API counts its consumers: ${JSON.stringify(facts.consumers)}`);
  let failed = null;
  try { await within("the call's end", client.call(queue, "30", { timeout: 1000 })); } catch (error) { failed = error; }
  assert(failed instanceof TimeoutError && failed.name === "Timeout", `a TimeoutError: ${failed}`);
  assert(failed.message.includes(`queue '${queue}' had no consumer`), `it says no consumer took it: ${failed.message}`);
  await client.queueDelete(queue);
  client.close();
  log(`rpc: a call to a queue without a consumer says so: ${failed.message}`);
}

async function connectionLost() {
  const queue = fresh("rpc_dropped");
  const server = connect(URL_, options);
  await server.queueDeclare(queue);
  const inbox = collect(server, queue, { ack: "manual", prefetch: 1 });
  const client = connect(URL_, options);
  const call = client.call(queue, "1", { timeout: 60000 });
  const request = await inbox.next("the request");
  await until("the request's confirm", () => client.outbox.messages === 0);
  // RabbitMQ closes the connection for a subscription to a missing queue.
  client.consume(fresh("no-such-queue"), () => {});
  let failed = null;
  try { await within("the call's end", call); } catch (error) { failed = error; }
  assert(failed instanceof ConnectionLostError, `a ConnectionLostError: ${failed}`);
  request.ack();
  await event(client, "connected");
  server.close();
  client.close();
  log("rpc: a call whose request RabbitMQ had fails with ConnectionLostError when the connection drops");
}

async function withPika() {
  const queue = fresh("rpc_queue-pika");
  await pika(`/rpc_server/start?queue=${queue}`);
  const client = connect(URL_, options);
  const reply = await within("pika's reply", client.call(queue, "30", { timeout: 10000 }));
  assert(reply.text === "832040", `pika's rpc_server answered ${reply.text}`);
  assert(await pika(`/rpc_server/stop?queue=${queue}`) === "1", "pika served one call");
  client.close();
  const served = fresh("rpc_queue-browser");
  const { server } = await fibServer(served);
  const answer = await within("pika's rpc_client", pika(`/rpc_client?queue=${served}&n=30`), 15000);
  assert(answer === "832040", `pika's rpc_client got ${answer}`);
  server.close();
  log("rpc with pika: the browser calls pika's rpc_server (832040); pika's rpc_client calls the browser (832040)");
}

/** Regression (QA): at each token renewal (credentials with `expiresAt`, make-
 * before-break) the call in flight failed with ConnectionLostError, "the
 * connection dropped", though nothing had dropped: the old connection closed, and
 * its reply queue with it, as soon as its confirms were in. It now stays for the
 * replies while publishing moves to the new one. */
async function callsAcrossTokenRenewals() {
  const queue = fresh("rpc_renewals");
  const server = connect(URL_, options);
  // Goes with the server's consumer.
  await server.queueDeclare(queue, { autoDelete: true });
  server.consume(queue, async (request) => {
    await pause(300);
    await server.reply(request, `re ${request.text}`);
    request.ack();
  }, { prefetch: 50 });
  await event(server, "consumer-ready");
  const credentials = async () => ({ ...options, expiresAt: Date.now() + 4000 });
  const client = connect(URL_, { credentials });
  const renewed = [];
  client.on("renewed", (e) => renewed.push(e));
  const outcomes = [];
  const started = performance.now();
  while (renewed.length < 3 && performance.now() - started < 20000) {
    const n = outcomes.length;
    outcomes.push(await client.call(queue, String(n), { timeout: 10000 }).then((reply) => reply.text === `re ${n}` || reply.text, (error) => `${error.name}: ${error.message}`));
  }
  assert(renewed.length >= 3, `three renewals: ${renewed.length}`);
  const failed = outcomes.filter((outcome) => outcome !== true);
  assert(failed.length === 0, `${failed.length} of ${outcomes.length} calls failed across the renewals: ${failed.slice(0, 2)}`);
  await Promise.all([server.close(), client.close()]);
  log(`rpc: ${outcomes.length} calls across ${renewed.length} token renewals, each answered`);
}

/** QA: tutorial 6's server as written (queueDeclare("rpc_queue"): not durable,
 * then consume). A broker restart deleted its queue; the reconnect subscribed to
 * it again without declaring it, which failed (NOT_FOUND, after two reconnects on
 * 3.10.8): the server never served again and calls only timed out. The
 * connection now declares its queues again on every later connection, before
 * the consumers subscribe. */
async function serverAcrossABrokerRestart() {
  const queue = fresh("rpc_queue");
  const fast = { ...options, reconnectDelay: 200, maxReconnectDelay: 1000 };
  const server = connect(URL_, fast);
  const warnings = [];
  server.on("warning", (e) => warnings.push(e.message));
  await server.queueDeclare(queue);
  server.consume(queue, async (request) => {
    await server.reply(request, String(fib(Number(request.text))));
    request.ack();
  }, { ack: "manual", prefetch: 1 });
  await event(server, "consumer-ready");
  const client = connect(URL_, fast);
  const before = await within("a call before the restart", client.call(queue, "10", { timeout: 5000 }));
  assert(before.text === "55", `fib(10) before the restart: ${before.text}`);
  const back = within("the server's consumer after the restart", new Promise((resolve, reject) => {
    server.on("consumer-ready", resolve);
    server.on("consumer-failed", (e) => reject(new Error(`the server's consumer failed: ${e.reason}`)));
  }), 90000);
  const restart = await fetch(`${RESTARTER}/restart`, { method: "POST" });
  assert(restart.ok, `the broker restarts: HTTP ${restart.status}`);
  await back;
  const facts = await queueFacts(queue);
  assert(facts.durable === false && facts.auto_delete === false, `declared again as declared: ${JSON.stringify(facts)}`);
  const after = await within("a call after the restart", client.call(queue, "30", { timeout: 10000 }), 30000);
  assert(after.text === "832040", `fib(30) after the restart: ${after.text}`);
  assert(warnings.length === 0, `no warning: ${warnings}`);
  assert(await server.queueDelete(queue) === true, "queueDelete");
  await Promise.all([server.close(), client.close()]);
  log("rpc: tutorial 6's server serves again after a broker restart deleted its non-durable queue (declared again, then subscribed)");
}

await init(wasm);
await run({ callAndReply, timeoutAndUnmatched, callToAMissingQueue, callToAQueueWithoutConsumer, connectionLost, callsAcrossTokenRenewals, withPika, serverAcrossABrokerRestart });
