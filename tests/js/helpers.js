// What the JavaScript test pages share: the broker's address and user (from the
// page's query), waiting with a bounded timeout, consumers whose messages can be
// awaited one by one, and the management API.

const params = new URLSearchParams(location.search);
export const URL_ = params.get("url") || "ws://127.0.0.1:15674/ws";
export const LOGIN = params.get("login") || "burrow";
export const PASSCODE = params.get("passcode") || "burrow";
export const RESTARTER = params.get("restarter") || "http://127.0.0.1:8093";
/** The restarter's Web-STOMP proxy (POST `${RESTARTER}/cut` cuts what goes through it). */
export const PROXY = params.get("proxy") || "ws://127.0.0.1:8089/ws";
/** The management API's base, ending in /api: the suites' BURROW_MANAGEMENT_URL
 * is the server's address (the Rust client adds /api), so /api is added to it. */
export const MANAGEMENT = apiBase(params.get("management") || "http://127.0.0.1:15672");

function apiBase(address) {
  const trimmed = address.replace(/\/+$/, "");
  return trimmed.endsWith("/api") ? trimmed : `${trimmed}/api`;
}
/** Every connection's options: the management address is given, never derived,
 * because the suites also run against a second broker on other ports, where the
 * address derived from its Web-STOMP port would be wrong. */
export const options = { login: LOGIN, passcode: PASSCODE, managementUrl: MANAGEMENT };

export const log = (line) => { document.getElementById("log").textContent += line + "\n"; };
export const fresh = (prefix) => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;

/** `promise`, or a rejection naming `what` after `ms`. */
export function within(what, promise, ms = 10000) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until `condition()` holds, checking every 20 ms; fails naming `what` after `ms`. */
export function until(what, condition, ms = 10000) {
  return within(what, new Promise((resolve) => {
    const check = () => (condition() ? resolve() : setTimeout(check, 20));
    check();
  }), ms);
}

export const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function assert(condition, words) {
  if (!condition) throw new Error(words);
}

/** A consumer whose messages can be awaited one by one. */
export function collect(connection, queue, consumeOptions) {
  const waiting = [];
  const arrived = [];
  const subscription = connection.consume(queue, (message) => {
    const next = waiting.shift();
    if (next) next(message); else arrived.push(message);
  }, consumeOptions);
  const next = (what, ms) => within(what, new Promise((resolve) => {
    const ready = arrived.shift();
    if (ready) resolve(ready); else waiting.push(resolve);
  }), ms);
  return { subscription, next, arrived };
}

/** Resolves on the connection's first status event of `type`. */
export function event(connection, type, ms = 10000) {
  return within(`a ${type} event`, new Promise((resolve) => {
    const listener = (e) => { connection.off(type, listener); resolve(e); };
    connection.on(type, listener);
  }), ms);
}

/** The test user's authorization for the management API. */
export const managementAuth = { authorization: `Basic ${btoa(`${LOGIN}:${PASSCODE}`)}` };

/** GETs `path` (under /api) from the management API and returns its JSON; an
 * HTTP error fails the check, naming `what` was asked for. */
export async function managementGet(path, what) {
  const response = await fetch(`${MANAGEMENT}${path}`, { headers: managementAuth });
  assert(response.ok, `management API: HTTP ${response.status} for ${what}`);
  return response.json();
}

/** The management API's view of `queue` (its counts lag up to a second). */
export function queueFacts(queue) {
  return managementGet(`/queues/%2F/${encodeURIComponent(queue)}`, queue);
}

/** Forces garbage collections (Chromium with --js-flags=--expose-gc), letting
 * FinalizationRegistry callbacks run in between. */
export async function collectGarbage() {
  assert(typeof globalThis.gc === "function", "the page needs Chromium's --js-flags=--expose-gc");
  for (let round = 0; round < 5; round++) {
    globalThis.gc();
    await pause(50);
  }
}

/** Runs `checks` (name → async function) in order, or those named in ?only=a,b;
 * writes {"ok": …, "failed": {name: error}} to #result. */
export async function run(checks) {
  const only = params.get("only")?.split(",");
  const failed = {};
  for (const [name, check] of Object.entries(checks)) {
    if (only && !only.includes(name)) continue;
    const started = performance.now();
    try {
      await check();
      log(`ok    ${name} (${Math.round(performance.now() - started)} ms)`);
    } catch (error) {
      failed[name] = `${error?.name}: ${error?.message}`;
      log(`FAIL  ${name}: ${failed[name]}`);
    }
  }
  const result = document.getElementById("result");
  result.textContent = JSON.stringify({ ok: Object.keys(failed).length === 0, failed });
  result.dataset.done = "true";
}
