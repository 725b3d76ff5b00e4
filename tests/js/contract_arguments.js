// Every public function and option called with wrong values: each must throw (or
// reject with) a TypeError that names the argument and what it got, send nothing,
// and leave the module working (see contract.js).
import * as burrow from "burrow-rabbitmq";
import * as widget from "burrow-rabbitmq/widget";
import { URL_, options, fresh, assert, collect } from "./helpers.js";

const { connect } = burrow;

const VALUES = {
  undefined: undefined, null: null, zero: 0, number: 42, negative: -1, fraction: 1.5, huge: 1e300, NaN: NaN,
  Infinity: Infinity, empty: "", text: "x", true: true, object: {}, array: [], symbol: Symbol("wrong"),
  function: () => {}, bigint: 10n,
};
const pick = (...names) => names.map((name) => [name, VALUES[name]]);
const except = (...valid) => Object.entries(VALUES).filter(([name]) => !valid.includes(name));
/** Not a string (nor undefined, when optional). */
const notString = (optional) => except("empty", "text", ...(optional ? ["undefined"] : []));
const notBoolean = except("undefined", "true");
const notFunction = (optional) => except("function", ...(optional ? ["undefined"] : []));
const notObject = except("undefined", "object");
/** Not a number of milliseconds from `min`. */
const notMillis = (min) => [...pick("null", "negative", "huge", "NaN", "Infinity", "empty", "text", "true", "object", "array", "symbol", "function", "bigint"),
  ...(min > 0 ? pick("zero") : [])];
/** Not a whole number in range (`zero` is wrong when min is 1). */
const notWhole = (min, max) => [...notMillis(min), ["fraction", 1.5], ["too big", max + 1]];
const unknown = [["an unknown option", { nope: 1 }]];

/** The wrong calls: [label, the name the error must mention, wrong values, call(value)]. */
function table(connection, message, decoder) {
  const connectWith = (name) => (value) => connect(URL_, { ...options, [name]: value });
  const publishWith = (name) => (value) => connection.publish("q", "x", { [name]: value });
  const consumeWith = (name) => (value) => connection.consume("q", () => {}, { [name]: value });
  const rows = [
    ["connect url", "url", [...notString(false), ["not ws", "http://x"], ["an empty array", []], ["[42]", [42]], ['["x"]', ["x"]]], (v) => connect(v, options)],
    ["connect options", "options", [...notObject, ...unknown], (v) => connect(URL_, v)],
    ...["login", "passcode", "vhost", "managementUrl"].map((name) => [`connect ${name}`, `options.${name}`, notString(true), connectWith(name)]),
    ["connect managementUrl", "options.managementUrl", [["not http", "ws://x"]], connectWith("managementUrl")],
    ...["heartbeatOutgoing", "heartbeatIncoming"].map((name) => [`connect ${name}`, `options.${name}`, notMillis(0), connectWith(name)]),
    ...["reconnectDelay", "maxReconnectDelay"].map((name) => [`connect ${name}`, `options.${name}`, notMillis(1), connectWith(name)]),
    ["connect window", "options.window", notWhole(1, 65535), connectWith("window")],
    ["connect writesPerMs", "options.writesPerMs", notWhole(0, 1000000).filter(([n]) => n !== "Infinity"), connectWith("writesPerMs")],
    ...["outboxMessages", "outboxBytes"].map((name) => [`connect ${name}`, `options.${name}`, notWhole(1, 4294967295), connectWith(name)]),
    ["connect onStatus", "options.onStatus", notFunction(true), connectWith("onStatus")],
    ["connect credentials", "options.credentials", notFunction(true), (v) => connect(URL_, { vhost: "/", credentials: v })],
    ["connect credentials with a passcode", "options.credentials", [["both", async () => ({ passcode: "x" })]], connectWith("credentials")],
    ["connect credentialsTimeout", "options.credentialsTimeout", notMillis(1), connectWith("credentialsTimeout")],
    ["queueDeclare queue", "queue", notString(false), (v) => connection.queueDeclare(v)],
    ["queueDeclare options", "options", [...notObject, ...unknown], (v) => connection.queueDeclare("q", v)],
    ...["durable", "exclusive", "autoDelete"].map((name) => [`queueDeclare ${name}`, `options.${name}`, notBoolean, (v) => connection.queueDeclare("q", { [name]: v })]),
    ["queueDeclare arguments", "options.arguments", notObject, (v) => connection.queueDeclare("q", { arguments: v })],
    ["queueDeclare an argument's value", 'options.arguments["x-max-length"]', except("zero", "number", "negative", "empty", "text"),
      (v) => connection.queueDeclare("q", { arguments: { "x-max-length": v } })],
    ["publish routingKey", "routingKey", notString(false), (v) => connection.publish(v, "x")],
    ["publish body", "body", except("empty", "text"), (v) => connection.publish("q", v)],
    ["publish options", "options", [...notObject, ...unknown], (v) => connection.publish("q", "x", v)],
    ...["exchange", "contentType", "contentEncoding", "correlationId", "replyTo", "messageId", "type", "userId", "appId"]
      .map((name) => [`publish ${name}`, `options.${name}`, notString(true), publishWith(name)]),
    ["publish persistent", "options.persistent", notBoolean, publishWith("persistent")],
    ["publish priority", "options.priority", notWhole(0, 255), publishWith("priority")],
    ["publish expiration", "options.expiration", [...except("undefined", "zero", "number"), ["-5", "-5"], ["1e3", "1e3"]], publishWith("expiration")],
    ["publish timestamp", "options.timestamp", [...except("undefined", "zero", "number"), ["milliseconds", Date.now()], ["an invalid Date", new Date(NaN)]], publishWith("timestamp")],
    ["publish headers", "options.headers", notObject, publishWith("headers")],
    ["consume queue", "queue", notString(false), (v) => connection.consume(v, () => {})],
    ["consume onMessage", "onMessage", notFunction(false), (v) => connection.consume("q", v)],
    ["consume options", "options", [...notObject, ...unknown], (v) => connection.consume("q", () => {}, v)],
    ["consume ack", "options.ack", except("undefined"), consumeWith("ack")],
    ["consume prefetch", "options.prefetch", notWhole(0, 65535), consumeWith("prefetch")],
    ["consume prefetch with ack broker", "options.prefetch", [["one", 1], ["ten", 10]],
      (v) => connection.consume("q", () => {}, { ack: "broker", prefetch: v })],
    ["consume offset", "options.offset", [...except("undefined", "zero", "number"), ["{ timestamp: 'x' }", { timestamp: "x" }],
      ["{ nope }", { nope: 1 }], ["{ timestamp: milliseconds }", { timestamp: Date.now() }], ["an invalid Date", new Date(NaN)]], consumeWith("offset")],
    ["consume streamFilter", "options.streamFilter", [...except("undefined", "text"), ["a comma", "a,b"], ["[42]", [42]], ['["a", ""]', ["a", ""]],
      ['["a,b"]', ["a,b"]]], (v) => connection.consume("stream", () => {}, { streamFilter: v, offset: "first", prefetch: 10 })],
    ["consume matchUnfiltered", "options.matchUnfiltered", notBoolean,
      (v) => connection.consume("stream", () => {}, { streamFilter: "a", matchUnfiltered: v, prefetch: 10 })],
    ["consume matchUnfiltered without a filter", "options.matchUnfiltered", pick("true"), consumeWith("matchUnfiltered")],
    ["consume priority", "options.priority", [...notWhole(-128, 127).filter(([name]) => name !== "negative"), ["too small", -129]], consumeWith("priority")],
    ["consume streamFilter on an exchange", "options.streamFilter", pick("text"),
      (v) => connection.consume({ exchange: "x", routingKey: "k" }, () => {}, { streamFilter: v, prefetch: 10 })],
    ["messages streamFilter", "options.streamFilter", [["an empty array", []], ["a comma", "a,b"]], (v) => connection.messages("stream", { streamFilter: v })],
    ["publish streamFilterValue", "options.streamFilterValue", [...notString(true), ["empty", ""], ["a comma", "a,b"]], publishWith("streamFilterValue")],
    ["messages queue", "queue", notString(false), (v) => connection.messages(v)],
    ["consume source.exchange", "source.exchange", notString(false), (v) => connection.consume({ exchange: v }, () => {})],
    ["consume source.routingKey", "source.routingKey", notString(true), (v) => connection.consume({ exchange: "x", routingKey: v }, () => {})],
    ["consume source.durable", "source.durable", notBoolean, (v) => connection.consume({ exchange: "x", durable: v, queue: "q" }, () => {})],
    ["consume source.queue", "source.queue", [...notString(false), ["empty", ""]],
      (v) => connection.consume({ exchange: "x", durable: true, queue: v }, () => {})],
    ["consume source", "source", unknown, (v) => connection.consume({ exchange: "x", ...v }, () => {})],
    ["messages source.exchange", "source.exchange", notString(false), (v) => connection.messages({ exchange: v })],
    ["exchangeDeclare exchange", "exchange", notString(false), (v) => connection.exchangeDeclare(v, "topic")],
    ["exchangeDeclare type", "type", notString(false), (v) => connection.exchangeDeclare("x", v)],
    ["exchangeDeclare options", "options", [...notObject, ...unknown], (v) => connection.exchangeDeclare("x", "topic", v)],
    ["exchangeDeclare durable", "options.durable", notBoolean, (v) => connection.exchangeDeclare("x", "topic", { durable: v })],
    ["exchangeDeclare autoDelete", "options.autoDelete", notBoolean, (v) => connection.exchangeDeclare("x", "topic", { autoDelete: v })],
    ["exchangeDelete exchange", "exchange", notString(false), (v) => connection.exchangeDelete(v)],
    ["queueBind queue", "queue", notString(false), (v) => connection.queueBind(v, "x", "k")],
    ["queueBind exchange", "exchange", notString(false), (v) => connection.queueBind("q", v, "k")],
    ["queueBind routingKey", "routingKey", notString(true), (v) => connection.queueBind("q", "x", v)],
    ["queueUnbind queue", "queue", notString(false), (v) => connection.queueUnbind(v, "x", "k")],
    ["queueUnbind exchange", "exchange", notString(false), (v) => connection.queueUnbind("q", v, "k")],
    ["queueUnbind routingKey", "routingKey", notString(true), (v) => connection.queueUnbind("q", "x", v)],
    ["queueDelete queue", "queue", notString(false), (v) => connection.queueDelete(v)],
    ["messages options", "options", [...notObject, ...unknown], (v) => connection.messages("q", v)],
    ["messages prefetch", "options.prefetch", [...notWhole(1, 65535)], (v) => connection.messages("q", { prefetch: v })],
    ["on event", "event", [...except(), ["an unknown event", "nope"]], (v) => connection.on(v, () => {})],
    ["on listener", "listener", notFunction(false), (v) => connection.on("status", v)],
    ["off event", "event", [...except(), ["an unknown event", "nope"]], (v) => connection.off(v, () => {})],
    ["off listener", "listener", notFunction(false), (v) => connection.off("status", v)],
    ["message.nack options", "options", [...notObject, ...unknown], (v) => message.nack(v)],
    ["message.nack requeue", "options.requeue", notBoolean, (v) => message.nack({ requeue: v })],
    ["FrameDecoder.push chunk", "chunk", except(), (v) => decoder.push(v)],
    ["init wasm", "wasm", except("undefined", "empty", "text"), (v) => burrow.default(v)],
    ["widget init wasm", "wasm", except("undefined", "empty", "text"), (v) => widget.default(v)],
    ["widget mount element", "element", [...except(), ["document", document]], (v) => widget.mount(v)],
    ["widget mount options", "options", [...notObject, ...unknown], (v) => widget.mount(document.createElement("div"), v)],
    ["widget mount panels", "options.panels", [...except("undefined", "array"), ['["nope"]', ["nope"]]],
      (v) => widget.mount(document.createElement("div"), { panels: v })],
    ["widget mount url", "options.url", [...notString(true), ["not ws", "http://x"]], (v) => widget.mount(document.createElement("div"), { url: v })],
    ["widget mount connect", "options.connect", notBoolean, (v) => widget.mount(document.createElement("div"), { connect: v })],
    // QA: connect: true without a passcode left the widget "Not connected" without a word.
    ["widget mount connect without a passcode", "options.connect", [["true", true]],
      (v) => widget.mount(document.createElement("div"), { connect: v, login: "guest" })],
    ["widget mount managementUrl", "options.managementUrl", [...notString(true), ["not http", "ws://x"]],
      (v) => widget.mount(document.createElement("div"), { managementUrl: v, connect: false })],
  ];
  return rows;
}

/** Calls `call(value)`; returns what is wrong about the outcome, or null for a TypeError naming `name`. */
async function outcome(name, call, value) {
  let result;
  try {
    result = call(value);
    if (result instanceof Promise) result = await result;
  } catch (error) {
    if (!(error instanceof TypeError)) return `${error?.name}: ${error?.message}`;
    if (!error.message.includes(name) || !/got |unknown option/.test(error.message)) return `a TypeError not naming ${name} and what it got: ${error.message}`;
    return null;
  }
  // It was taken: undo what it made, and say so.
  if (result instanceof burrow.Connection) await result.close();
  else if (result instanceof burrow.Subscription || typeof result?.cancel === "function") result.cancel();
  else if (typeof result?.unmount === "function") result.unmount();
  return "no error";
}

/** Regression: consume(42, f) and consume({ queue }, f) trapped inside the wasm
 * ("memory access out of bounds"), publish(undefined, "x") threw from the glue,
 * publish(queue, Symbol()) resolved having sent an empty body. */
export async function theIssuesWrongCalls() {
  const queue = fresh("issue-calls");
  const connection = connect(URL_, options);
  await connection.queueDeclare(queue);
  const problems = [];
  const calls = [
    ["consume(42, f)", "queue", () => connection.consume(42, () => {})],
    ["consume({ queue }, f)", "queue", () => connection.consume({ queue }, () => {})],
    ["publish(undefined, \"x\")", "routingKey", () => connection.publish(undefined, "x")],
    ["publish(queue, Symbol())", "body", () => connection.publish(queue, Symbol("body"))],
  ];
  for (const [what, name, call] of calls) {
    const problem = await outcome(name, call);
    if (problem !== null) problems.push(`${what}: ${problem}`);
  }
  assert(problems.length === 0, problems.join("; "));
  // A path is a same-origin proxy's (QA: "/api" threw a TypeError): the calls go
  // to the page's origin, whose plain file server answers a PUT with 501.
  const proxied = connect(URL_, { ...options, managementUrl: "/rabbitmq/api" });
  let answer = null;
  try { await proxied.exchangeDeclare(fresh("proxied"), "fanout"); } catch (error) { answer = error; }
  assert(String(answer).includes("HTTP 501: a web page, not RabbitMQ's answer"), `asked the page's origin: ${answer}`);
  await proxied.close();
  const inbox = collect(connection, queue, { prefetch: 1 });
  await connection.publish(queue, "still working");
  const after = await inbox.next("a message after the wrong calls");
  assert(after.text === "still working", `after the wrong calls: ${JSON.stringify(after.text)}`);
  after.ack();
  connection.close();
}

export async function wrongArguments() {
  await widget.default();
  const queue = fresh("arguments");
  const connection = connect(URL_, options);
  await connection.queueDeclare(queue);
  await connection.publish(queue, "to nack");
  const inbox = collect(connection, queue, { prefetch: 1 });
  const message = await inbox.next("a message to nack wrongly");
  const decoder = new burrow.FrameDecoder();
  const problems = [];
  let calls = 0;
  for (const [label, name, values, call] of table(connection, message, decoder)) {
    for (const [what, value] of values) {
      calls++;
      const problem = await outcome(name, call, value);
      if (problem !== null) problems.push(`${label} with ${what}: ${problem}`);
    }
  }
  for (const [what, make] of [["Connection", () => new burrow.Connection()], ["Subscription", () => new burrow.Subscription()]]) {
    calls++;
    let thrown = null;
    try { make(); } catch (error) { thrown = error; }
    if (!(thrown instanceof TypeError && thrown.message.includes(what))) problems.push(`new ${what}(): ${thrown}`);
  }
  assert(problems.length === 0, `${problems.length} of ${calls} wrong calls went wrong:\n${problems.join("\n")}`);
  // The README says "over a thousand wrong calls": a table that shrank would say less.
  assert(calls > 1000, `only ${calls} wrong calls were made`);
  // And the module works afterwards: a publish and a consume.
  message.ack();
  await connection.publish(queue, "still working");
  const after = await inbox.next("a message after the wrong calls");
  assert(after.text === "still working", `after the wrong calls: ${after.text}`);
  after.ack();
  await connection.close();
  document.getElementById("log").textContent += `    (${calls} wrong calls, each a TypeError naming its argument)\n`;
}
