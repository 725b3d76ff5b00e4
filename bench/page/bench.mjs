// Burrow's browser benchmark: the page side. bench/run.mjs (node) opens this page in
// headless Chromium and calls init() once, then run(spec) for every measurement,
// through a long-poll on its own HTTP server (/control/next, /control/result): the
// page is not attached to DevTools while it measures, because Playwright's page
// instrumentation (CDP Network events for every WebSocket frame) cut throughput 2-4x
// here. Node does everything outside the page (queues through the management API,
// checks, rounds, the table). window.bench = { init, run, hasParser } for manual use.
//
// ─── The adapter interface ──────────────────────────────────────────────────────
// One ES module per client, bench/page/clients/<name>.mjs, exporting:
//
//   export const name: string
//   export async function load(): Promise<void>                          (optional)
//       Loads what the client needs (e.g. its wasm). Throws if the client is
//       unavailable: the runner then skips it and prints its column blank.
//   export async function connect(opts): Promise<Client>
//       opts = { url:       'ws://127.0.0.1:15674/ws',
//                login:     string, passcode: string,
//                host:      '/',                      (the CONNECT host header: vhost)
//                heartbeat: [outgoingMs, incomingMs] } (what CONNECT's heart-beat
//                                                      offers; [0, 0] = none)
//       Resolves once CONNECTED arrived. Rejects on ERROR, on close, or on failure.
//   export function makeParser(onFrame): { push(chunk: ArrayBuffer): void } (optional)
//       The client's own incoming-frame parser, for the parse workload. push() takes
//       one WebSocket message's bytes (frames may be split across pushes or several
//       to a push); onFrame(frame) is called once per complete frame, heart-beats
//       excluded. What `frame` is, is the client's own business (only counted), but
//       it must be what the client would hand on: command, headers, body.
//
//   Client:
//   publishConfirmed({ destination, body, count, window, onReceipt? }): Promise<void>
//       Sends `count` SEND frames to `destination` (e.g. '/amq/queue/q'), each with
//       the bytes `body` (a Uint8Array, sent as is with content-length) and its own
//       distinct `receipt` header; never more than `window` SENDs (a number, or
//       Infinity) awaiting their RECEIPT; resolves when all `count` RECEIPTs have
//       arrived. Calls onReceipt() once per RECEIPT if given. Rejects with an Error
//       if the connection closes or an ERROR frame arrives first. No other headers
//       (no persistent, no content-type). Calls may overlap: the latency workload
//       starts one call with count 1 per message without awaiting the one before.
//   consume({ destination, count, ack, prefetch, onMessage? }): Promise<void>
//       SUBSCRIBEs to `destination` with `ack` ('client-individual', 'auto', or
//       'acked-on-take': client-individual, each message acked as it arrives, which
//       is what Burrow's own auto-ack does) and `prefetch-count: prefetch`; resolves
//       once `count` MESSAGE frames arrived and, unless 'auto', every one has been
//       ACKed (its ACK frame handed to the WebSocket, one ACK per message); then
//       UNSUBSCRIBEs. 'auto' is STOMP's ack:auto, RabbitMQ's own auto-ack (Burrow:
//       ack "broker"); 'acked-on-take' is Burrow's ack "auto". onMessage(body) is
//       called per message with its body as a Uint8Array (valid during the call
//       only). Rejects if the connection closes or an ERROR frame arrives first.
//   close(): Promise<void>
//       DISCONNECT with a receipt (so that earlier ACKs were processed), then close
//       the WebSocket. Must not hang: resolve within ~3 s whatever the peer does.
//   extraMemoryBytes?(): number                                           (optional)
//       Memory the client holds outside the JS heap (e.g. WebAssembly.Memory's
//       buffer.byteLength), reported beside the JS heap in the memory workload.
//
//   For the fan-out and RPC workloads (an adapter lists the ones it does in
//   `export const supports = ['fanout', 'rpc']`; the others are skipped for it):
//   subscribe({ exchange, routingKey, ack, prefetch, onMessage }): Promise<{ cancel() }>
//       An exchange subscription (`/exchange/<exchange>/<routingKey>`, the
//       exclusive auto-delete queue RabbitMQ makes for it), as the client's users
//       write one; onMessage(body) per MESSAGE (acked if ack is
//       'client-individual'). Resolves once RabbitMQ has the subscription (a
//       RECEIPT for the SUBSCRIBE, so that a publish from another connection after
//       it is routed to it). Rejects as consume does. publishConfirmed gets
//       destinations `/exchange/<exchange>/<routingKey>` too.
//   serve({ queue, prefetch }): Promise<{ cancel(), errors(): number }>      (rpc)
//       An RPC server: consumes `queue` (auto-ack) and answers each request with
//       its own body, sent to its reply-to with its correlation-id. errors()
//       counts replies that failed. Resolves once the subscription is sent.
//   call({ queue, body, timeoutMs }): Promise<Uint8Array>                   (rpc)
//       An RPC call to `queue` with a reply-to and a correlation-id of its own;
//       resolves with the reply's body (a copy). Calls overlap. Rejects after
//       timeoutMs, on ERROR or close.
//   unmatchedReplies?(): number                                       (rpc, optional)
//       Replies that matched no call in flight.
//
// Timing: only the awaited call is timed (connect and close are not).
// ────────────────────────────────────────────────────────────────────────────────

import { exchangeWorkloads } from './exchanges.mjs';

const KNOWN_CLIENTS = ['burrow', 'stompjs', 'raw', 'raw-batch'];
const adapters = {};
const availability = {};

/** Imports every adapter and runs its load(); says which are usable. */
export async function init({ clients = KNOWN_CLIENTS } = {}) {
  for (const name of new Set([...clients, 'raw'])) {
    try {
      const mod = await import(`./clients/${name}.mjs`);
      if (typeof mod.load === 'function') await mod.load();
      if (typeof mod.connect !== 'function') throw new Error('no connect() export');
      adapters[name] = mod;
      availability[name] = { ok: true };
    } catch (e) {
      availability[name] = { ok: false, error: describe(e) };
    }
  }
  return { availability, userAgent: navigator.userAgent };
}

function describe(e) {
  if (e instanceof Error) return e.message || String(e);
  if (e && typeof e === 'object' && 'type' in e) return `event ${e.type}`;
  return String(e);
}

function adapter(name) {
  const a = adapters[name];
  if (!a) throw new Error(`client ${name} is unavailable: ${availability[name]?.error ?? 'not loaded'}`);
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Timeout extends Error {}

/** Races `promise` against `ms`; on time-out rejects with Timeout. */
function within(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

let closeMs = 0; // time spent in close() during the current run (reported, not timed)
async function closeQuietly(client) {
  if (!client) return;
  const t0 = performance.now();
  try {
    await within(client.close(), 5000, 'close');
  } catch (_) {
    /* a client that cannot close is reported by the workload itself */
  }
  closeMs += performance.now() - t0;
}

function makeBody(size, seed = 0) {
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i++) body[i] = 97 + ((i + seed) % 26);
  return body;
}

function connectOpts(spec, heartbeat) {
  return {
    url: spec.url,
    login: spec.login,
    passcode: spec.passcode,
    host: spec.host ?? '/',
    heartbeat: heartbeat ?? spec.heartbeat ?? [10000, 10000],
  };
}

// ─── Workloads ──────────────────────────────────────────────────────────────────

/** Confirmed publish: count messages of size bytes, window at most awaiting receipt. */
async function publish(spec) {
  const a = adapter(spec.client);
  const client = await within(a.connect(connectOpts(spec)), 10000, 'connect');
  try {
    const body = makeBody(spec.size);
    let receipts = 0;
    const t0 = performance.now();
    await within(
      client.publishConfirmed({
        destination: spec.destination, body, count: spec.count, window: spec.window,
        onReceipt: () => { receipts++; },
      }),
      spec.timeoutMs, 'publishConfirmed',
    );
    const ms = performance.now() - t0;
    return {
      ms, count: spec.count, receipts,
      msgPerSec: (spec.count * 1000) / ms,
      mbPerSec: (spec.count * spec.size) / 1e6 / (ms / 1000),
    };
  } finally {
    await closeQuietly(client);
  }
}

/** Untimed: fills a queue (with the raw client unless told otherwise). */
async function prefill(spec) {
  return publish({ ...spec, client: spec.client ?? 'raw' });
}

/** Consume count messages, acking each (client-individual) or not (auto). */
async function consume(spec) {
  const a = adapter(spec.client);
  const client = await within(a.connect(connectOpts(spec)), 10000, 'connect');
  try {
    let got = 0;
    let bytes = 0;
    const t0 = performance.now();
    await within(
      client.consume({
        destination: spec.destination, count: spec.count, ack: spec.ack, prefetch: spec.prefetch,
        onMessage: spec.touch ? (body) => { got++; bytes += body.length; } : undefined,
      }),
      spec.timeoutMs, 'consume',
    );
    const ms = performance.now() - t0;
    return {
      ms, count: spec.count, seen: spec.touch ? got : undefined, bytes: spec.touch ? bytes : undefined,
      msgPerSec: (spec.count * 1000) / ms,
      mbPerSec: spec.size ? (spec.count * spec.size) / 1e6 / (ms / 1000) : undefined,
    };
  } finally {
    await closeQuietly(client);
  }
}

/**
 * End-to-end latency at a fixed rate: one connection publishes (each message its own
 * confirmed publish, count 1, not awaited), another consumes with client-individual
 * acks; the body's first 8 bytes carry performance.now() at the moment the message
 * is handed to the client. Timers tick every ~4 ms in Chromium, so messages leave in
 * small groups that keep to the schedule on average.
 */
async function latency(spec) {
  const a = adapter(spec.client);
  const total = Math.round(spec.rate * spec.seconds);
  const sub = await within(a.connect(connectOpts(spec)), 10000, 'connect (consumer)');
  let pub;
  try {
    pub = await within(a.connect(connectOpts(spec)), 10000, 'connect (publisher)');
    const lat = new Float64Array(total);
    let got = 0;
    let bad = 0;
    const consumed = sub.consume({
      destination: spec.destination, count: total, ack: 'client-individual', prefetch: spec.prefetch ?? 100,
      onMessage(body) {
        const t = performance.now();
        if (body.length < 8) { bad++; return; }
        const sent = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0, true);
        if (got < total) lat[got++] = t - sent;
      },
    });
    consumed.catch(() => {});
    await sleep(300); // let the SUBSCRIBE take effect before the clock starts
    const pubs = [];
    let pubErrors = 0;
    let firstPubError;
    const t0 = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * spec.rate) / 1000) + 1);
      while (sent < due) {
        const body = makeBody(spec.size, sent);
        new DataView(body.buffer).setFloat64(0, performance.now(), true);
        pubs.push(
          pub.publishConfirmed({ destination: spec.destination, body, count: 1, window: 1 }).catch((e) => {
            pubErrors++;
            firstPubError ??= describe(e);
          }),
        );
        sent++;
      }
      if (performance.now() - t0 > spec.seconds * 1000 * 3 + 5000) break; // hopelessly behind
      await sleep(1);
    }
    const publishMs = performance.now() - t0;
    let outcome = 'completed';
    try {
      await within(Promise.all(pubs), spec.timeoutMs, 'receipts');
      await within(consumed, spec.timeoutMs, 'consume');
    } catch (e) {
      outcome = describe(e);
    }
    const xs = Array.from(lat.subarray(0, got)).sort((x, y) => x - y);
    const pct = (p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN);
    return {
      // Figures from a run that did not complete are kept in the record, not summarized.
      error: outcome === 'completed' ? undefined : `${outcome}; ${got}/${total} received; publish errors ${pubErrors}${firstPubError ? ` (${firstPubError})` : ''}`,
      outcome, sent, received: got, bad, pubErrors, firstPubError,
      achievedRate: (sent * 1000) / publishMs,
      p50: pct(50), p90: pct(90), p99: pct(99), max: xs.length ? xs[xs.length - 1] : NaN,
      mean: xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN,
    };
  } finally {
    await closeQuietly(pub);
    await closeQuietly(sub);
  }
}

/** Unbounded burst: count confirmed SENDs with no window. Reports, never hangs. */
async function burst(spec) {
  const a = adapter(spec.client);
  const client = await within(a.connect(connectOpts(spec, spec.heartbeat)), 10000, 'connect');
  let receipts = 0;
  let outcome = 'completed';
  let reason;
  const t0 = performance.now();
  let lastReceiptMs = 0;
  try {
    await within(
      client.publishConfirmed({
        destination: spec.destination, body: makeBody(spec.size), count: spec.count, window: Infinity,
        onReceipt: () => { receipts++; lastReceiptMs = performance.now() - t0; },
      }),
      spec.timeoutMs, 'burst',
    );
  } catch (e) {
    outcome = e instanceof Timeout ? 'timeout' : 'connection dropped';
    reason = describe(e);
  }
  const ms = performance.now() - t0;
  await closeQuietly(client);
  return {
    outcome, reason, receipts, count: spec.count, ms, lastReceiptMs,
    msgPerSec: outcome === 'completed' ? (spec.count * 1000) / ms : undefined,
  };
}

// The recorded stream for the parse workload: MESSAGE frames as RabbitMQ 3.10.8's
// Web-STOMP sends them (captured here: its headers in its order, the SEND's receipt
// header carried along, an EOL after each frame), 100-byte bodies.
let streamCache;
function recordedStream(frames, bodySize) {
  const key = `${frames}/${bodySize}`;
  if (streamCache?.key === key) return streamCache;
  const enc = new TextEncoder();
  const session = 'session-Jq7v2bXxS0mPZk3nT9eLwA';
  const parts = [];
  let total = 0;
  for (let i = 1; i <= frames; i++) {
    const id = `T_sub-0@@${session}@@${i}`;
    const head = enc.encode(
      `MESSAGE\nsubscription:sub-0\ndestination:/queue/burrow.bench.consume\n` +
      `message-id:${id}\nredelivered:false\nack:${id}\nreceipt:${i}\ncontent-length:${bodySize}\n\n`,
    );
    const frame = new Uint8Array(head.length + bodySize + 2);
    frame.set(head, 0);
    frame.set(makeBody(bodySize, i), head.length);
    frame[frame.length - 1] = 10; // the NUL, then RabbitMQ's EOL
    parts.push(frame);
    total += frame.length;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  // 'frame': one frame per WebSocket message, as Web-STOMP sends them.
  const perFrame = parts.map((p) => p.buffer);
  // '4KiB': fixed 4096-byte pieces that cut frames anywhere.
  const fixed = [];
  for (let i = 0; i < total; i += 4096) fixed.push(all.slice(i, Math.min(total, i + 4096)).buffer);
  streamCache = { key, total, chunks: { frame: perFrame, '4KiB': fixed } };
  return streamCache;
}

/** Feeds the recorded stream to the client's own parser until minMs have passed. */
async function parse(spec) {
  const a = adapter(spec.client);
  if (typeof a.makeParser !== 'function') throw new Error(`${spec.client} has no makeParser()`);
  const stream = recordedStream(spec.frames, spec.bodySize);
  const chunks = stream.chunks[spec.chunking];
  if (!chunks) throw new Error(`unknown chunking ${spec.chunking}`);
  let frames = 0;
  const parser = a.makeParser(() => { frames++; });
  // One untimed pass: warms the JIT and checks the count.
  for (const c of chunks) parser.push(c);
  if (frames !== spec.frames) throw new Error(`parser saw ${frames} frames, expected ${spec.frames}`);
  frames = 0;
  let passes = 0;
  const t0 = performance.now();
  let ms = 0;
  do {
    for (const c of chunks) parser.push(c);
    passes++;
    ms = performance.now() - t0;
  } while (ms < spec.minMs);
  if (frames !== spec.frames * passes) throw new Error(`parser saw ${frames} frames in ${passes} passes`);
  return {
    ms, passes, bytes: stream.total * passes,
    mbPerSec: (stream.total * passes) / 1e6 / (ms / 1000),
    framesPerSec: (frames * 1000) / ms,
  };
}

// Memory: the JS heap (performance.memory, precise with --enable-precise-memory-info;
// gc() from --js-flags=--expose-gc) before connecting, after receiving `count`
// messages with the client still open (before and after a full GC), and after close.
async function fullGc() {
  if (typeof gc !== 'function') throw new Error('gc() is not exposed (--js-flags=--expose-gc)');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
}

function heapUsed() {
  return performance.memory ? performance.memory.usedJSHeapSize : NaN;
}

async function memory(spec) {
  const a = adapter(spec.client);
  await fullGc();
  const base = heapUsed();
  let client = await within(a.connect(connectOpts(spec)), 10000, 'connect');
  let ms;
  let extraBytes = 0;
  let pre;
  let post;
  try {
    const t0 = performance.now();
    await within(
      client.consume({ destination: spec.destination, count: spec.count, ack: spec.ack, prefetch: spec.prefetch }),
      spec.timeoutMs, 'consume',
    );
    ms = performance.now() - t0;
    pre = heapUsed();
    await fullGc();
    post = heapUsed();
    extraBytes = typeof client.extraMemoryBytes === 'function' ? client.extraMemoryBytes() : 0;
  } finally {
    await closeQuietly(client);
    client = undefined;
  }
  await fullGc();
  const released = heapUsed();
  const mb = (x) => x / 1e6;
  return {
    ms, msgPerSec: (spec.count * 1000) / ms,
    retainedMB: mb(post - base), beforeGcMB: mb(pre - base), afterCloseMB: mb(released - base),
    extraMB: mb(extraBytes), heap: { base, pre, post, released },
  };
}

// Fan-out and RPC (exchange subscriptions, request/reply): in exchanges.mjs.
const { fanout, rpc } = exchangeWorkloads({ adapter, within, connectOpts, closeQuietly, makeBody, sleep, describe });

const workloads = { publish, prefill, consume, latency, burst, parse, memory, fanout, rpc };

/** One measurement. Never throws: failures come back as { error }. */
export async function run(spec) {
  const fn = workloads[spec.workload];
  if (!fn) return { error: `unknown workload ${spec.workload}` };
  closeMs = 0;
  const t0 = performance.now();
  try {
    const r = await fn(spec);
    return { ...r, pageMs: performance.now() - t0, closeMs };
  } catch (e) {
    return { error: describe(e), timeout: e instanceof Timeout, pageMs: performance.now() - t0, closeMs };
  }
}

/** Whether the client brings its own parser (the parse workload needs one). */
export function hasParser(name) {
  return typeof adapters[name]?.makeParser === 'function';
}

/** Whether the client's adapter does the workload (`export const supports`). */
export function supports({ client, workload }) {
  return !!adapters[client]?.supports?.includes(workload);
}

window.bench = { init, run, hasParser, supports };
window.benchReady = true;

// ─── Control channel (when opened as index.html?control) ────────────────────────

async function controlLoop() {
  const handlers = { init, run, hasParser, supports };
  for (;;) {
    let job;
    try {
      // Which page this is: the runner ignores polls from a page it has replaced.
      const page = new URLSearchParams(location.search).get('page') ?? '';
      const r = await fetch(`/control/next?page=${page}`, { cache: 'no-store' });
      if (r.status === 204) continue;
      if (r.status === 410) return; // the runner is done with this page
      job = await r.json();
    } catch (_) {
      await sleep(500);
      continue;
    }
    let value;
    try {
      value = await handlers[job.fn](job.arg);
    } catch (e) {
      value = { error: describe(e) };
    }
    await fetch('/control/result', { method: 'POST', body: JSON.stringify({ id: job.id, value: value ?? null }) })
      .catch(() => {});
  }
}

function report(kind, text) {
  fetch('/control/log', { method: 'POST', body: JSON.stringify({ kind, text: String(text) }) }).catch(() => {});
}

if (new URLSearchParams(location.search).has('control')) {
  window.addEventListener('error', (e) => report('error', e.message));
  window.addEventListener('unhandledrejection', (e) => report('unhandled rejection', describe(e.reason)));
  controlLoop();
}
