#!/usr/bin/env node
// Burrow's browser benchmark runner. See bench/README.md.
//
//   cd bench && npm ci && cd .. && node bench/run.mjs [--short] [options]
//
// Serves bench/page/ on 127.0.0.1, launches Debian's Chromium headless through
// playwright-core, and runs every workload for every client (Burrow, @stomp/stompjs,
// a raw WebSocket), rounds interleaved (A B C, A B C, …), against RabbitMQ's
// Web-STOMP and against the fast local peer (examples/fast_peer.rs). Queues are made
// fresh for each measurement through the management API and checked afterwards
// (depth = what was sent, empty after consuming); RabbitMQ's log is read for errors
// during each measurement. Prints a table; writes target/bench/results.json.
//
// The benchmark page is opened with a bare CDP Target.createTarget, in a browser
// context Playwright does not manage, so Playwright leaves it alone: Playwright's
// page instrumentation (the CDP Network domain, which reports every WebSocket frame
// with its payload) cut WebSocket throughput 2-4x on this machine. The page takes its
// jobs from this server instead (a long-poll on /control/next, answers on
// /control/result).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { exchangeCases } from './cases-exchange.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');

// ─── Options ────────────────────────────────────────────────────────────────────

const HELP = `usage: node bench/run.mjs [--short] [options]
  --short                 CI mode: 1 round, small counts, latency 2 s (under ~3 min)
  --rounds N              rounds (full: 3, short: 1)
  --n N                   messages per RabbitMQ publish/consume run (full 10000, short 2000)
  --sizes a,b,c           publish body sizes in bytes (100,4096,65536)
  --window W              receipts awaited at most (128)
  --prefetch P            prefetch-count for client-individual consumers (100)
  --rate R --latency-seconds S   latency workload (1000 msg/s for 10 s; short 2 s)
  --burst N               messages in the unbounded burst (5000)
  --peer-n N              messages per fast-peer publish run (full 20000, short 5000)
  --peer-consume-n N      messages per fast-peer consume run (full 100000, short 20000)
  --memory-n N            messages received before the heap is read (full 100000, short 30000)
  --fanout-n N            messages published to the topic exchange per fan-out run (full 10000, short 1000)
  --fanout-subs K         subscriptions in the page (10), each its own binding key
  --fanout-ack A          the subscriptions' ack mode: client-individual (default), auto
                          (STOMP's ack:auto; Burrow: ack "broker") or acked-on-take (Burrow: ack "auto")
  --rpc-n N               calls per RPC run (full 2000, short 200)
  --rpc-in-flight a,b     calls in flight at once, one row each (1,10)
  --peer-frames F         MESSAGE frames per WebSocket message from the fast peer
                          (1, as Web-STOMP sends them; 0 packs up to 16 KiB)
  --clients a,b,c         burrow,stompjs,raw,raw-batch (those whose adapter loads)
  --targets a,b           rabbit,peer
  --only a,b              publish,consume,latency,burst,parse,memory,fanout,rpc
  --url URL               Web-STOMP (ws://127.0.0.1:15674/ws)
  --mgmt URL              management API (http://127.0.0.1:15672)
  --user U --password P   (BURROW_RABBIT_USER / BURROW_RABBIT_PASSWORD, else burrow/burrow)
  --peer-url URL          fast peer (ws://127.0.0.1:15699/ws); started from --peer-bin
  --peer-bin PATH         (target/release/examples/fast_peer)
  --burrow-pkg DIR        served at /burrow/ for the Burrow adapter (target/bench/burrow-pkg)
  --chromium PATH         (/usr/bin/chromium)
  --out FILE              (target/bench/results.json)
  --verbose               print every record (JSON) as it is made
  --strict                exit 1 on a finding not about another client, or a client that did not load (CI)
  --page-query Q          query string for the page, read by adapters (burrowWritesPerMs=0,
                          stompjsRpcReceipts: stompjs asks a RECEIPT for each RPC request and reply)`;

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(HELP); process.exit(0); }
    if (a === '--short' || a === '--verbose' || a === '--strict') { o[a.slice(2)] = true; continue; }
    if (!a.startsWith('--')) { console.error(`unexpected argument ${a}\n${HELP}`); process.exit(2); }
    const key = a.slice(2);
    const v = argv[++i];
    if (v === undefined) { console.error(`${a} needs a value`); process.exit(2); }
    o[key] = v;
  }
  return o;
}

const args = parseArgs(process.argv.slice(2));
const short = !!args.short;
const list = (v, d) => (v ? String(v).split(',').map((s) => s.trim()).filter(Boolean) : d);
const num = (v, d) => (v === undefined ? d : Number(v));

const cfg = {
  mode: short ? 'short' : 'full',
  rounds: num(args.rounds, short ? 1 : 3),
  n: num(args.n, short ? 2000 : 10000),
  sizes: list(args.sizes, ['100', '4096', '65536']).map(Number),
  window: num(args.window, 128),
  prefetch: num(args.prefetch, 100),
  rate: num(args.rate, 1000),
  latencySeconds: num(args['latency-seconds'], short ? 2 : 10),
  latencySize: 100,
  burst: num(args.burst, 5000),
  burstSize: 100,
  burstTimeoutMs: short ? 15000 : 30000,
  peerN: num(args['peer-n'], short ? 5000 : 20000),
  peerConsumeN: num(args['peer-consume-n'], short ? 20000 : 100000),
  consumeSize: 100,
  parseFrames: 10000,
  parseBodySize: 100,
  parseMinMs: short ? 300 : 1000,
  memoryN: num(args['memory-n'], short ? 30000 : 100000),
  peerFrames: num(args['peer-frames'], 1),
  fanoutN: num(args['fanout-n'], short ? 1000 : 10000),
  fanoutSubs: num(args['fanout-subs'], 10),
  fanoutSize: 100,
  fanoutAck: args['fanout-ack'] ?? 'client-individual',
  rpcN: num(args['rpc-n'], short ? 200 : 2000),
  rpcInFlight: list(args['rpc-in-flight'], ['1', '10']).map(Number),
  rpcSize: 100,
  clients: list(args.clients, ['burrow', 'stompjs', 'raw', 'raw-batch']),
  targets: list(args.targets, ['rabbit', 'peer']),
  only: list(args.only, ['publish', 'consume', 'latency', 'burst', 'parse', 'memory', 'fanout', 'rpc']),
  url: args.url ?? 'ws://127.0.0.1:15674/ws',
  mgmt: (args.mgmt ?? 'http://127.0.0.1:15672').replace(/\/$/, ''),
  user: args.user ?? process.env.BURROW_RABBIT_USER ?? 'burrow',
  password: args.password ?? process.env.BURROW_RABBIT_PASSWORD ?? 'burrow',
  peerUrl: args['peer-url'] ?? 'ws://127.0.0.1:15699/ws',
  peerBin: args['peer-bin'] ?? path.join(repoRoot, 'target/release/examples/fast_peer'),
  burrowPkg: path.resolve(args['burrow-pkg'] ?? path.join(repoRoot, 'target/bench/burrow-pkg')),
  chromium: args.chromium ?? '/usr/bin/chromium',
  out: path.resolve(args.out ?? path.join(repoRoot, 'target/bench/results.json')),
  verbose: !!args.verbose,
  strict: !!args.strict,
  heartbeat: [10000, 10000], // what every client offers (stompjs's default)
  runTimeoutMs: short ? 60000 : 180000,
};
// Burrow's auto-ack window (max(prefetch, 256)): the prefetch of the others'
// 'acked-on-take' consumers, so that each may have as many unacked.
const BURROW_AUTO_WINDOW = 256;

const log = (...a) => console.log(...a);
const vlog = (...a) => { if (cfg.verbose) console.log(...a); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ─── Static server ──────────────────────────────────────────────────────────────

const MIME = {
  '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript', '.js': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json',
  '.css': 'text/css', '.txt': 'text/plain',
};

function startServer() {
  const stompDir = path.join(benchDir, 'node_modules/@stomp/stompjs/esm6');
  const routes = [
    ['/vendor/stompjs/', stompDir],
    ['/burrow/', cfg.burrowPkg],
    ['/', path.join(benchDir, 'page')],
  ];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/control/')) return controlRoute(url.pathname, req, res, url.searchParams.get('page'));
    let p = decodeURIComponent(url.pathname);
    if (p === '/') p = '/index.html';
    for (const [prefix, root] of routes) {
      if (!p.startsWith(prefix)) continue;
      const file = path.normalize(path.join(root, p.slice(prefix.length)));
      if (!file.startsWith(root)) break;
      fs.readFile(file, (err, data) => {
        if (err) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found');
          return;
        }
        res.writeHead(200, {
          'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
          'cache-control': 'no-store',
        });
        res.end(data);
      });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ─── Control channel: jobs for the page ─────────────────────────────────────────

const control = { queue: [], waiter: null, pending: new Map(), nextId: 1, closed: false, page: 0 };

function deliver() {
  if (!control.waiter) return;
  const res = control.waiter;
  if (control.closed) {
    control.waiter = null;
    res.writeHead(410);
    res.end();
    return;
  }
  if (!control.queue.length) return;
  control.waiter = null;
  clearTimeout(res.pollTimer);
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(control.queue.shift()));
}

function readBody(req) {
  return new Promise((resolve) => {
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => resolve(b));
  });
}

async function controlRoute(pathname, req, res, page) {
  if (pathname === '/control/next') {
    // A poll from a page already replaced (it may arrive after its target closed)
    // must not take the next job: that job would be lost with it.
    if (page !== String(control.page)) { res.writeHead(410); res.end(); return; }
    if (control.waiter) { control.waiter.writeHead(204); control.waiter.end(); }
    control.waiter = res;
    res.pollTimer = setTimeout(() => {
      if (control.waiter === res) { control.waiter = null; res.writeHead(204); res.end(); }
    }, 20000);
    deliver();
    return;
  }
  const body = await readBody(req);
  res.writeHead(200);
  res.end();
  let msg;
  try { msg = JSON.parse(body); } catch (_) { return; }
  if (pathname === '/control/result') {
    const p = control.pending.get(msg.id);
    if (p) { control.pending.delete(msg.id); p(msg.value); }
  } else if (pathname === '/control/log') {
    log(`  [page ${msg.kind}] ${msg.text}`);
  }
}

/** Calls fn(arg) in the page; resolves with its value, or { error, hung } after ms. */
function callPage(fn, arg, ms) {
  const id = control.nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      control.pending.delete(id);
      control.queue = control.queue.filter((j) => j.id !== id);
      resolve({ error: `the page did not answer within ${ms} ms`, hung: true });
    }, ms);
    control.pending.set(id, (v) => { clearTimeout(timer); resolve(v); });
    control.queue.push({ id, fn, arg });
    deliver();
  });
}

// ─── Management API ─────────────────────────────────────────────────────────────

const auth = 'Basic ' + Buffer.from(`${cfg.user}:${cfg.password}`).toString('base64');

async function mgmt(method, p, body) {
  const res = await fetch(cfg.mgmt + p, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}

const QUEUE_PREFIX = 'burrow.bench.';
let queueSeq = 0;
const queuesMade = new Set();

async function newQueue(kind) {
  const name = `${QUEUE_PREFIX}${kind}.${process.pid}.${++queueSeq}`;
  await mgmt('PUT', `/api/queues/%2F/${encodeURIComponent(name)}`, { durable: true, auto_delete: false });
  queuesMade.add(name);
  return name;
}

async function deleteQueue(name) {
  try {
    await mgmt('DELETE', `/api/queues/%2F/${encodeURIComponent(name)}`);
  } catch (e) {
    if (!/404/.test(e.message)) log(`  (could not delete ${name}: ${e.message})`);
  }
  queuesMade.delete(name);
}

async function deleteLeftoverQueues() {
  const qs = await mgmt('GET', '/api/queues/%2F?columns=name');
  for (const q of qs) if (q.name.startsWith(QUEUE_PREFIX)) await deleteQueue(q.name);
  const xs = await mgmt('GET', '/api/exchanges/%2F?columns=name');
  for (const x of xs) if (x.name.startsWith(QUEUE_PREFIX)) await deleteExchange(x.name);
}

const exchangesMade = new Set();

/** A fresh exchange of `type` (transient), for one measurement. */
async function newExchange(kind, type) {
  const name = `${QUEUE_PREFIX}${kind}.${process.pid}.${++queueSeq}`;
  await mgmt('PUT', `/api/exchanges/%2F/${encodeURIComponent(name)}`, { type, durable: false, auto_delete: false });
  exchangesMade.add(name);
  return name;
}

async function deleteExchange(name) {
  try {
    await mgmt('DELETE', `/api/exchanges/%2F/${encodeURIComponent(name)}`);
  } catch (e) {
    if (!/404/.test(e.message)) log(`  (could not delete exchange ${name}: ${e.message})`);
  }
  exchangesMade.delete(name);
}

/** How long the broker node has been up, or undefined if it does not answer. */
async function brokerUptimeMs() {
  try {
    const nodes = await mgmt('GET', '/api/nodes?columns=name,uptime');
    return Math.min(...nodes.map((n) => n.uptime ?? Infinity));
  } catch (_) {
    return undefined;
  }
}

/** Waits until the management API answers again (after a broker restart). */
async function waitForBroker(ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    try {
      await mgmt('GET', '/api/overview');
      await sleep(2000); // let Web-STOMP come up too
      return true;
    } catch (_) {
      await sleep(1000);
    }
  }
  return false;
}

/**
 * The queue's exact depth (ready messages), now. The queue figures of the
 * management API lag by up to ~5 s here (5 s samples), so this asks the queue
 * itself: a basic.get through the management API (POST …/get, requeued at once,
 * payload truncated) answers with message_count, the messages left behind it.
 * The one message looked at is requeued (and flagged redelivered).
 */
async function depth(name) {
  const got = await mgmt('POST', `/api/queues/%2F/${encodeURIComponent(name)}/get`, {
    count: 1, ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 1,
  });
  return got.length === 0 ? 0 : got[0].message_count + 1;
}

/** Polls the depth until it equals `want` (and, for 0, stays so), or gives up. */
async function waitDepth(name, want, ms = 5000) {
  const t0 = Date.now();
  let seen;
  while (Date.now() - t0 < ms) {
    seen = await depth(name);
    if (seen === want) {
      if (want === 0) {
        // A consumer's unacked messages come back when its channel closes: look again.
        await sleep(300);
        seen = await depth(name);
        if (seen !== 0) continue;
      }
      return { ok: true, observed: seen, waitedMs: Date.now() - t0 };
    }
    await sleep(100);
  }
  return { ok: false, observed: seen, waitedMs: Date.now() - t0 };
}

/** The depth once it has stopped moving (for the burst, where the count is unknown). */
async function settledDepth(name) {
  let last = await depth(name);
  for (let i = 0; i < 10; i++) {
    await sleep(300);
    const d = await depth(name);
    if (d === last) return d;
    last = d;
  }
  return last;
}

// ─── RabbitMQ log ───────────────────────────────────────────────────────────────

const LOG_DIR = '/var/log/rabbitmq';
const logOffsets = new Map();

function logFiles() {
  try {
    return fs.readdirSync(LOG_DIR).filter((f) => f.endsWith('.log')).map((f) => path.join(LOG_DIR, f));
  } catch (_) {
    return [];
  }
}

function markLogs() {
  for (const f of logFiles()) {
    try { logOffsets.set(f, fs.statSync(f).size); } catch (_) { /* gone */ }
  }
}

/** The telling line of a report: its exit reason or detail, else its first line. */
function logGist(lines) {
  const strip = (x) => x.replace(/^\S+ \S+ \[error\] <[^>]*>\s*/, '');
  const l = lines.find((x) => /exception exit:|reason:|Reason for termination|caused a channel exception|Detail:/.test(x));
  if (l && /Reason for termination/.test(l)) {
    const next = lines[lines.indexOf(l) + 1];
    if (next) return strip(next).slice(0, 240);
  }
  return strip(l ?? lines[0]).slice(0, 240);
}

/**
 * Splits error lines into reports (one per process and instant) and says which
 * name this benchmark's queues. The broker is shared (other test suites use it,
 * with the same user), so a report that names none of our queues cannot be tied
 * to our connections by the log alone.
 */
function logReports(lines) {
  const reports = [];
  let cur;
  for (const l of lines) {
    const m = /^(\S+ \S+) \[error\] (<[^>]*>)/.exec(l);
    const key = m ? m[1].slice(0, 22) + m[2] : cur?.key;
    if (!cur || key !== cur.key) {
      cur = { key, lines: [] };
      reports.push(cur);
    }
    cur.lines.push(l);
  }
  return reports.map((r) => {
    const gist = logGist(r.lines);
    return {
      gist,
      ours: r.lines.some((l) => l.includes(QUEUE_PREFIX)),
      // Noise RabbitMQ 3.10 logs when a Web-STOMP connection closes normally.
      closeNoise: r.lines.some((l) => /shutdown_error/.test(l)),
      // A rabbit_channel dying of noproc on the 'terminate' cast (see HEARTBEAT_KILL).
      channelNoproc: /^(\*\* |exception exit: )noproc$/.test(gist)
        && r.lines.some((l) => /\{'\$gen_cast',terminate\}|initial call: rabbit_channel:init\/1/.test(l)),
      lines: r.lines.length,
    };
  });
}

/**
 * The burst's known crash: Web-STOMP's heart-beat process dies of
 * {unexpected_message,resume} and takes the connection down. Sometimes (2 in 32
 * raw-batch burst runs with heart-beats here on 2026-12-06, 0 in 27 each for raw and
 * stompjs, once in the CI before; never in Burrow's 54) the connection's rabbit_channel
 * then crashes as well, "Last message in was {'$gen_cast',terminate}", "** noproc":
 * the direct connection's close emits connection_closed, rabbit_channel_tracking
 * casts terminate to the channel still alive, and RabbitMQ 3.10.8's
 * rabbit_channel:handle_cast(terminate) (rabbit_channel.erl:672) calls
 * rabbit_writer:flush on its writer, the Web-STOMP connection's amqp_channel, which
 * the kill already took: gen:call exits noproc. The same report appears whenever
 * the broker stops with Web-STOMP connections open. RabbitMQ 4.1.2 and 4.2.0 catch
 * it (commits 9e14040456, 9bd0731a5a). Its state names our queue, so without this it
 * would count as a finding; it still does in any other row or in Burrow's.
 */
const HEARTBEAT_KILL = /unexpected_message,resume/;
const WINDOWLESS = ['stompjs', 'raw', 'raw-batch'];

/** Error-level lines written to RabbitMQ's logs since markLogs(). */
function newLogErrors() {
  const out = [];
  for (const f of logFiles()) {
    let size;
    try { size = fs.statSync(f).size; } catch (_) { continue; }
    const from = logOffsets.get(f) ?? 0;
    if (size <= from) { logOffsets.set(f, size); continue; }
    const fd = fs.openSync(f, 'r');
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    fs.closeSync(fd);
    logOffsets.set(f, size);
    for (const line of buf.toString('utf8').split('\n')) {
      if (/\[error\]|crash|unexpected_message/i.test(line)) out.push(line.slice(0, 400));
    }
  }
  return out;
}

// ─── Fast peer ──────────────────────────────────────────────────────────────────

const peer = { proc: null, lines: [], available: false, external: false, note: '' };

function portOpen(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

async function startPeer() {
  const u = new URL(cfg.peerUrl);
  const port = Number(u.port || 80);
  if (await portOpen(u.hostname, port)) {
    peer.available = true;
    peer.external = true;
    peer.note = `using the peer already listening on ${u.host} (its counts are not checked)`;
    return;
  }
  if (!fs.existsSync(cfg.peerBin)) {
    peer.note = `no fast peer: build it with \`cargo build --release --example fast_peer --locked\` (looked for ${cfg.peerBin})`;
    return;
  }
  peer.proc = spawn(cfg.peerBin, [`${u.hostname}:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let pending = '';
  let listening;
  const up = new Promise((r) => { listening = r; });
  peer.proc.stdout.on('data', (d) => {
    pending += d.toString();
    let i;
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      try {
        const j = JSON.parse(line);
        if (j.listening) listening(true);
        else peer.lines.push(j);
      } catch (_) { vlog(`peer: ${line}`); }
    }
  });
  peer.proc.once('exit', () => listening(false));
  const ok = await Promise.race([up, sleep(5000).then(() => false)]);
  peer.available = ok;
  peer.note = ok ? `started ${path.relative(repoRoot, cfg.peerBin)} on ${u.host}` : 'the fast peer did not start';
}

/** The peer's per-connection lines that arrive after index `from` (waits for `conns`). */
async function peerLinesSince(from, conns) {
  if (peer.external) return null;
  for (let i = 0; i < 20 && peer.lines.length - from < conns; i++) await sleep(100);
  return peer.lines.slice(from);
}

// ─── Browser ────────────────────────────────────────────────────────────────────

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error('playwright-core is missing: run `npm ci` in bench/ first');
  process.exit(1);
}
if (!fs.existsSync(path.join(benchDir, 'node_modules/@stomp/stompjs/esm6/index.js'))) {
  console.error('@stomp/stompjs is missing: run `npm ci` in bench/ first');
  process.exit(1);
}

const server = await startServer();
// --page-query passes experiment switches to the adapters (e.g. burrowWritesPerMs=0).
const pageUrl = `http://127.0.0.1:${server.address().port}/index.html`;

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    // The memory workload: gc() in the page and unrounded performance.memory.
    '--js-flags=--expose-gc', '--enable-precise-memory-info',
  ],
});
const browserCdp = await browser.newBrowserCDPSession();
let targetId;

let availability;
async function loadPage() {
  if (targetId) await browserCdp.send('Target.closeTarget', { targetId }).catch(() => {});
  // The closed page's long poll may still be open: a job given to it would be lost.
  if (control.waiter) {
    const stale = control.waiter;
    control.waiter = null;
    clearTimeout(stale.pollTimer);
    try { stale.writeHead(204); stale.end(); } catch (_) { /* already gone */ }
  }
  // No browserContextId: Chromium's default context, unknown to Playwright, which
  // therefore detaches from the page and instruments nothing in it.
  control.page += 1;
  ({ targetId } = await browserCdp.send('Target.createTarget', { url: `${pageUrl}?control&page=${control.page}${args['page-query'] ? `&${args['page-query']}` : ''}` }));
  const r = await callPage('init', { clients: cfg.clients }, 30000);
  if (r.error) throw new Error(`the benchmark page did not start: ${r.error}`);
  availability = r.availability;
  return r;
}

async function runInPage(spec) {
  const result = await callPage('run', spec, (spec.timeoutMs ?? cfg.runTimeoutMs) + 30000);
  if (result.hung) {
    log('  the page hung: opening it again');
    await loadPage();
  }
  return result;
}

// ─── Plan ───────────────────────────────────────────────────────────────────────

const records = [];
const findings = []; // what is off: errors, checks that failed, RabbitMQ errors outside the burst
const notes = []; // what is expected to go wrong (the burst's drops and the crashes they log), and log noise
const finding = (s) => { findings.push(s); log(`  ! ${s}`); };
const unattributed = new Map(); // RabbitMQ log reports during runs that went fine: gist -> count

const fmtSize = (b) => (b >= 1024 ? `${b / 1024} KiB` : `${b} B`);

const rabbit = () => ({ url: cfg.url, login: cfg.user, passcode: cfg.password, heartbeat: cfg.heartbeat });
const peerConn = () => ({ url: cfg.peerUrl, login: 'bench', passcode: 'bench', heartbeat: cfg.heartbeat });

/**
 * A case is one measurement type; run(client) measures it once for that client and
 * returns { result, checks, logErrors, peer }.
 */
function cases(env) {
  const out = [];
  // want: a number, or [least, most].
  // The consume rows, like with like: 'client-individual' (an ACK per message
  // when the reader is done, prefetch --prefetch); 'auto', STOMP's ack:auto for
  // every client (Burrow: ack "broker", RabbitMQ's own auto-ack, no window, at most
  // once); 'acked-on-take', at least once without the reader acking (Burrow: ack
  // "auto", acked as handed out, window 256; the others: client-individual with
  // prefetch 256, an ACK per message as it arrives).
  const CONSUME_ACKS = ['client-individual', 'auto', 'acked-on-take'];
  const consumePrefetch = (ack) => (ack === 'acked-on-take' ? BURROW_AUTO_WINDOW : cfg.prefetch);
  const consumeLabel = (ack, withPrefetch = true) => {
    const size = fmtSize(cfg.consumeSize);
    if (ack === 'auto') return `consume ${size}, auto-ack (RabbitMQ's own)`;
    if (ack === 'acked-on-take') return `consume ${size}, acked on take, prefetch ${BURROW_AUTO_WINDOW} (Burrow: ack "auto")`;
    return withPrefetch ? `consume ${size}, client-individual, prefetch ${cfg.prefetch}` : `consume ${size}, client-individual`;
  };

  const checkPeer = async (from, key, want, checks) => {
    const lines = await peerLinesSince(from, 1);
    if (!lines) return undefined;
    const got = lines.reduce((s, l) => s + (l[key] ?? 0), 0);
    const ok = Array.isArray(want) ? got >= want[0] && got <= want[1] : got === want;
    checks.push({ what: `peer saw ${key}`, expected: want, observed: got, ok });
    return lines;
  };

  if (env.rabbit && cfg.only.includes('publish')) {
    for (const size of cfg.sizes) {
      out.push({
        target: 'rabbit', workload: 'publish', variant: fmtSize(size),
        label: `publish ${fmtSize(size)}, window ${cfg.window}`,
        figures: [['msgPerSec', 'msg/s', 'higher'], ['mbPerSec', 'MB/s', 'higher']],
        async run(client) {
          const q = await newQueue('publish');
          try {
            const result = await runInPage({ workload: 'publish', client, ...rabbit(), destination: `/amq/queue/${q}`, size, count: cfg.n, window: cfg.window, timeoutMs: cfg.runTimeoutMs });
            const checks = [];
            if (!result.error) {
              const d = await waitDepth(q, cfg.n);
              checks.push({ what: 'queue depth after publish', expected: cfg.n, observed: d.observed, ok: d.ok, waitedMs: d.waitedMs });
            }
            return { result, checks };
          } finally { await deleteQueue(q); }
        },
      });
    }
  }
  if (env.rabbit && cfg.only.includes('consume')) {
    for (const ack of CONSUME_ACKS) {
      out.push({
        target: 'rabbit', workload: 'consume', variant: ack,
        label: consumeLabel(ack),
        figures: [['msgPerSec', 'msg/s', 'higher']],
        async run(client) {
          const q = await newQueue('consume');
          try {
            const checks = [];
            const fill = await runInPage({ workload: 'prefill', client: 'raw', ...rabbit(), destination: `/amq/queue/${q}`, size: cfg.consumeSize, count: cfg.n, window: cfg.window, timeoutMs: cfg.runTimeoutMs });
            if (fill.error) return { result: { error: `prefill: ${fill.error}` }, checks };
            const before = await waitDepth(q, cfg.n);
            checks.push({ what: 'queue depth after prefill', expected: cfg.n, observed: before.observed, ok: before.ok });
            markLogs(); // the prefill is not this client's doing
            const result = await runInPage({ workload: 'consume', client, ...rabbit(), destination: `/amq/queue/${q}`, count: cfg.n, size: cfg.consumeSize, ack, prefetch: consumePrefetch(ack), timeoutMs: cfg.runTimeoutMs });
            if (!result.error) {
              const after = await waitDepth(q, 0);
              checks.push({ what: 'queue depth after consume and close', expected: 0, observed: after.observed, ok: after.ok });
            }
            return { result, checks };
          } finally { await deleteQueue(q); }
        },
      });
    }
  }
  if (env.rabbit && cfg.only.includes('latency')) {
    out.push({
      target: 'rabbit', workload: 'latency', variant: `${cfg.rate}/s`,
      label: `latency at ${cfg.rate} msg/s for ${cfg.latencySeconds} s`,
      figures: [['p50', 'ms p50', 'lower'], ['p99', 'ms p99', 'lower'], ['max', 'ms max', 'lower'], ['achievedRate', 'msg/s sent', 'higher']],
      async run(client) {
        const q = await newQueue('latency');
        try {
          const result = await runInPage({ workload: 'latency', client, ...rabbit(), destination: `/amq/queue/${q}`, rate: cfg.rate, seconds: cfg.latencySeconds, size: cfg.latencySize, prefetch: cfg.prefetch, timeoutMs: cfg.latencySeconds * 1000 + 30000 });
          const checks = [];
          if (!result.error) {
            const total = Math.round(cfg.rate * cfg.latencySeconds);
            checks.push({ what: 'messages received', expected: total, observed: result.received, ok: result.received === total });
            const d = await waitDepth(q, 0);
            checks.push({ what: 'queue depth after latency run', expected: 0, observed: d.observed, ok: d.ok });
          }
          return { result, checks };
        } finally { await deleteQueue(q); }
      },
    });
  }
  if (env.rabbit && cfg.only.includes('burst')) {
    for (const [hbName, hb] of [['heart-beats 10 s', [10000, 10000]], ['no heart-beats', [0, 0]]]) {
      out.push({
        target: 'rabbit', workload: 'burst', variant: hbName,
        label: `burst of ${cfg.burst} × ${fmtSize(cfg.burstSize)}, no window, ${hbName}`,
        figures: [['outcome', 'outcome', 'text'], ['receipts', 'receipts', 'higher'], ['enqueued', 'in queue', 'higher'], ['msgPerSec', 'msg/s', 'higher']],
        async run(client) {
          const q = await newQueue('burst');
          try {
            const result = await runInPage({ workload: 'burst', client, ...rabbit(), heartbeat: hb, destination: `/amq/queue/${q}`, count: cfg.burst, size: cfg.burstSize, timeoutMs: cfg.burstTimeoutMs });
            if (!result.error) result.enqueued = await settledDepth(q);
            return { result, checks: [] };
          } finally { await deleteQueue(q); }
        },
      });
    }
  }
  if (env.rabbit) {
    out.push(...exchangeCases({ cfg, rabbit, newExchange, deleteExchange, newQueue, deleteQueue, runInPage, waitDepth, fmtSize }));
  }
  if (env.peer && cfg.only.includes('publish')) {
    for (const size of cfg.sizes) {
      out.push({
        target: 'peer', workload: 'publish', variant: fmtSize(size),
        label: `publish ${fmtSize(size)}, window ${cfg.window}`,
        figures: [['msgPerSec', 'msg/s', 'higher'], ['mbPerSec', 'MB/s', 'higher']],
        async run(client) {
          const from = peer.lines.length;
          const result = await runInPage({ workload: 'publish', client, ...peerConn(), destination: '/amq/queue/burrow.bench.peer', size, count: cfg.peerN, window: cfg.window, timeoutMs: cfg.runTimeoutMs });
          const checks = [];
          let lines;
          if (!result.error) lines = await checkPeer(from, 'sends', cfg.peerN, checks);
          return { result, checks, peer: lines };
        },
      });
    }
  }
  if (env.peer && cfg.only.includes('consume')) {
    for (const ack of CONSUME_ACKS) {
      out.push({
        target: 'peer', workload: 'consume', variant: ack,
        label: consumeLabel(ack, false),
        figures: [['msgPerSec', 'msg/s', 'higher'], ['mbPerSec', 'MB/s', 'higher']],
        async run(client) {
          const from = peer.lines.length;
          const n = cfg.peerConsumeN;
          const result = await runInPage({ workload: 'consume', client, ...peerConn(), destination: `/amq/queue/peer-n${n}-s${cfg.consumeSize}-f${cfg.peerFrames}`, count: n, size: cfg.consumeSize, ack, prefetch: consumePrefetch(ack), timeoutMs: cfg.runTimeoutMs });
          const checks = [];
          let lines;
          // One ACK per message, from every client, but none with ack:auto (Burrow's
          // ack "broker" too). 'acked-on-take' is client-individual for all: Burrow's
          // ack "auto" acks each message it handed out, in batches of frames.
          const acks = ack === 'auto' ? 0 : n;
          if (!result.error) lines = await checkPeer(from, 'acks', acks, checks);
          return { result, checks, peer: lines };
        },
      });
    }
  }
  if (cfg.only.includes('parse')) {
    for (const chunking of ['frame', '4KiB']) {
      out.push({
        target: 'local', workload: 'parse', variant: chunking,
        label: `parse ${cfg.parseFrames} MESSAGEs of ${cfg.parseBodySize} B, ${chunking === 'frame' ? 'one frame per chunk' : '4 KiB chunks'}`,
        figures: [['mbPerSec', 'MB/s', 'higher'], ['framesPerSec', 'frames/s', 'higher']],
        needsParser: true,
        async run(client) {
          const result = await runInPage({ workload: 'parse', client, frames: cfg.parseFrames, bodySize: cfg.parseBodySize, chunking, minMs: cfg.parseMinMs, timeoutMs: cfg.runTimeoutMs });
          return { result, checks: [] };
        },
      });
    }
  }
  if (cfg.only.includes('memory') && (env.peer || env.rabbit)) {
    const fromPeer = env.peer;
    out.push({
      target: fromPeer ? 'peer' : 'rabbit', workload: 'memory', variant: 'heap',
      label: `JS heap after receiving ${cfg.memoryN} × 100 B (client-individual)`,
      figures: [['retainedMB', 'MB kept', 'lower'], ['beforeGcMB', 'MB pre-GC', 'lower'], ['extraMB', 'MB non-JS', 'lower']],
      async run(client) {
        let q;
        let destination;
        let conn;
        const checks = [];
        if (fromPeer) {
          destination = `/amq/queue/peer-n${cfg.memoryN}-s100-f${cfg.peerFrames}`;
          conn = peerConn();
        } else {
          q = await newQueue('memory');
          destination = `/amq/queue/${q}`;
          conn = rabbit();
          const fill = await runInPage({ workload: 'prefill', client: 'raw', ...conn, destination, size: 100, count: cfg.memoryN, window: cfg.window, timeoutMs: cfg.runTimeoutMs });
          if (fill.error) { await deleteQueue(q); return { result: { error: `prefill: ${fill.error}` }, checks }; }
          markLogs();
        }
        try {
          // A fresh page, so the figure is this workload's alone: wasm memory never
          // shrinks, and the floods before it would leave their high-water mark.
          await loadPage();
          const result = await runInPage({ workload: 'memory', client, ...conn, destination, count: cfg.memoryN, ack: 'client-individual', prefetch: cfg.prefetch, timeoutMs: cfg.runTimeoutMs });
          if (!result.error && q) {
            const d = await waitDepth(q, 0);
            checks.push({ what: 'queue depth after consume and close', expected: 0, observed: d.observed, ok: d.ok });
          }
          return { result, checks };
        } finally { if (q) await deleteQueue(q); }
      },
    });
  }
  return out;
}

// ─── Summary ────────────────────────────────────────────────────────────────────

function stats(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (!xs.length) return null;
  const q = (p) => {
    const i = (xs.length - 1) * p;
    const lo = Math.floor(i);
    return xs[lo] + (xs[Math.ceil(i)] - xs[lo]) * (i - lo);
  };
  return { median: q(0.5), min: xs[0], max: xs[xs.length - 1], q1: q(0.25), q3: q(0.75), n: xs.length, values };
}

function fmtNum(x) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function summarize(plan, clientsRun) {
  const rows = [];
  for (const c of plan) {
    for (const [key, unit, better] of c.figures) {
      const row = { target: c.target, workload: c.workload, variant: c.variant, label: c.label, metric: key, unit, better, clients: {} };
      for (const client of clientsRun) {
        const recs = records.filter((r) => r.target === c.target && r.workload === c.workload && r.variant === c.variant && r.client === client);
        if (!recs.length) continue;
        if (better === 'text') {
          const counts = {};
          for (const r of recs) {
            const v = r.result.error ? `error` : r.result[key];
            counts[v] = (counts[v] ?? 0) + 1;
          }
          row.clients[client] = { counts, n: recs.length };
        } else {
          const s = stats(recs.map((r) => (r.result.error ? undefined : r.result[key])));
          row.clients[client] = s ?? { error: recs.find((r) => r.result.error)?.result.error ?? 'no value', n: 0 };
          if (recs.some((r) => r.result.error)) row.clients[client].errors = recs.filter((r) => r.result.error).length;
        }
      }
      const b = row.clients.burrow?.median;
      if (better !== 'text' && b !== undefined) {
        if (row.clients.stompjs?.median) row.burrowOverStompjs = b / row.clients.stompjs.median;
        if (row.clients.raw?.median) row.burrowOverRaw = b / row.clients.raw.median;
      }
      rows.push(row);
    }
  }
  return rows;
}

function cell(s) {
  if (!s) return '';
  if (s.counts) return Object.entries(s.counts).map(([k, v]) => (s.n > 1 ? `${k} ${v}/${s.n}` : k)).join(', ');
  if (s.median === undefined) return s.error === 'no value' ? '—' : 'error';
  const base = fmtNum(s.median);
  const range = s.n > 1 ? ` (${fmtNum(s.min)}–${fmtNum(s.max)})` : '';
  const errs = s.errors ? ` [${s.errors} failed]` : '';
  return base + range + errs;
}

function printTable(rows, clientsRun) {
  const cols = ['target', 'workload', 'unit', ...clientsRun, 'B/stompjs', 'B/raw'];
  const lines = [cols];
  let lastLabel;
  for (const r of rows) {
    const label = r.label === lastLabel ? '' : r.label;
    lastLabel = r.label;
    lines.push([
      label ? r.target : '', label, r.unit + (r.better === 'lower' ? ' ↓' : r.better === 'higher' ? ' ↑' : ''),
      ...clientsRun.map((c) => cell(r.clients[c])),
      r.burrowOverStompjs ? r.burrowOverStompjs.toFixed(2) : '',
      r.burrowOverRaw ? r.burrowOverRaw.toFixed(2) : '',
    ]);
  }
  const widths = cols.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  const fmt = (l) => l.map((v, i) => (i < 3 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join('  ');
  log('');
  log(fmt(lines[0]));
  log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const l of lines.slice(1)) log(fmt(l));
}

// ─── Main ───────────────────────────────────────────────────────────────────────

const started = new Date();
const t0 = Date.now();
let exitCode = 0;
const meta = { started: started.toISOString(), mode: cfg.mode, node: process.version, cpus: os.cpus().length, loadAtStart: os.loadavg() };
try {
  meta.stompjs = JSON.parse(fs.readFileSync(path.join(benchDir, 'node_modules/@stomp/stompjs/package.json'))).version;
  meta.playwrightCore = JSON.parse(fs.readFileSync(path.join(benchDir, 'node_modules/playwright-core/package.json'))).version;
} catch (_) { /* reported as missing */ }
meta.chromium = browser.version();

const env = { rabbit: false, peer: false };
let cleanedUp = false;
async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const q of [...queuesMade]) await deleteQueue(q).catch(() => {});
  for (const x of [...exchangesMade]) await deleteExchange(x).catch(() => {});
  control.closed = true;
  deliver();
  await browser.close().catch(() => {});
  if (peer.proc) peer.proc.kill();
  server.close();
}
process.on('SIGINT', async () => { log('\ninterrupted: cleaning up'); await cleanup(); process.exit(130); });

try {
  if (cfg.targets.includes('rabbit')) {
    try {
      const o = await mgmt('GET', '/api/overview');
      meta.rabbitmq = o.rabbitmq_version;
      meta.erlang = o.erlang_version;
      await deleteLeftoverQueues();
      env.rabbit = true;
    } catch (e) {
      log(`RabbitMQ's management API did not answer (${e.message}): skipping the RabbitMQ workloads`);
      findings.push(`RabbitMQ unreachable: ${e.message}`);
    }
  }
  if (cfg.targets.includes('peer')) {
    await startPeer();
    env.peer = peer.available;
    log(peer.note);
  }
  const init = await loadPage();
  meta.userAgent = init.userAgent;
  const clientsRun = cfg.clients.filter((c) => availability[c]?.ok);
  const skipped = cfg.clients.filter((c) => !availability[c]?.ok);

  log(`Burrow bench (${cfg.mode}): ${cfg.rounds} round(s); Chromium ${meta.chromium}; RabbitMQ ${meta.rabbitmq ?? '—'}; stompjs ${meta.stompjs}`);
  log(`clients: ${clientsRun.join(', ')}${skipped.length ? `; skipped: ${skipped.map((c) => `${c} (${availability[c]?.error})`).join('; ')}` : ''}`);
  log(`N=${cfg.n} per RabbitMQ run, sizes ${cfg.sizes.join('/')}, window ${cfg.window}, prefetch ${cfg.prefetch}; peer N=${cfg.peerN}/${cfg.peerConsumeN}; latency ${cfg.rate}/s × ${cfg.latencySeconds} s; burst ${cfg.burst}; fan-out ${cfg.fanoutN} × ${cfg.fanoutSubs}; RPC ${cfg.rpcN} calls, ${cfg.rpcInFlight.join('/')} in flight`);

  const plan = cases(env);
  // Untimed warm-up, so that round 1 does not time each client's JIT compilation.
  if (env.peer || env.rabbit) {
    const conn = env.peer ? peerConn() : rabbit();
    for (const client of clientsRun) {
      const q = env.peer ? null : await newQueue('warmup');
      const dest = env.peer ? '/amq/queue/burrow.bench.warmup' : `/amq/queue/${q}`;
      const w1 = await runInPage({ workload: 'publish', client, ...conn, destination: dest, size: 100, count: 2000, window: cfg.window, timeoutMs: 30000 });
      const w2 = await runInPage({ workload: 'consume', client, ...conn, destination: env.peer ? '/amq/queue/peer-n2000-s100' : dest, count: 2000, ack: 'client-individual', prefetch: cfg.prefetch, timeoutMs: 30000 });
      if (q) await deleteQueue(q);
      if (w1.error || w2.error) log(`  warm-up for ${client}: ${w1.error ?? w2.error}`);
    }
  }
  markLogs();
  for (let round = 1; round <= cfg.rounds; round++) {
    log(`\nround ${round}/${cfg.rounds}`);
    for (const c of plan) {
      for (const client of clientsRun) {
        // Only a client with makeParser has a parse figure.
        if (c.needsParser) {
          const has = await callPage('hasParser', client, 10000);
          if (!has) continue;
        }
        if (c.needs && !(await callPage('supports', { client, workload: c.needs }, 10000))) continue;
        markLogs();
        const start = Date.now();
        let out;
        let retried;
        for (let attempt = 1; ; attempt++) {
          const tryStart = Date.now();
          try {
            out = await c.run(client);
          } catch (e) {
            out = { result: { error: `runner: ${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}` }, checks: [] };
          }
          // The broker gone or restarted meanwhile (another test suite restarts it):
          // wait for it and measure once more.
          if (c.target === 'rabbit') {
            const up = await brokerUptimeMs();
            if (up === undefined || up < Date.now() - tryStart) {
              const why = up === undefined ? 'the broker does not answer' : 'the broker restarted during the run';
              out.result.brokerTrouble = why;
              if (!out.result.error) out.result.error = why;
              if (attempt === 1) {
                log(`  ${why} (${c.label} / ${client}): waiting for it, then once more`);
                retried = `${why}: ${out.result.error}`;
                if (await waitForBroker(120000)) { markLogs(); continue; }
              }
            }
          }
          break;
        }
        if (c.target === 'rabbit') await sleep(300); // RabbitMQ writes crash reports a moment later
        const logErrors = c.target === 'rabbit' ? newLogErrors() : [];
        const reports = logReports(logErrors);
        const rec = {
          round, target: c.target, workload: c.workload, variant: c.variant, client, load1: os.loadavg()[0],
          wallMs: Date.now() - start, result: out.result, checks: out.checks ?? [], retried,
          logReports: reports, logErrors, peer: out.peer,
        };
        records.push(rec);
        const brief = c.figures.map(([k, u]) => `${u} ${typeof rec.result[k] === 'number' ? fmtNum(rec.result[k]) : rec.result[k] ?? '—'}`).join(', ');
        log(`  ${c.target.padEnd(6)} ${c.label.padEnd(58)} ${client.padEnd(8)} ${rec.result.error ? `ERROR ${rec.result.error}` : brief}`);
        const where = `${c.target} ${c.label} / ${client} round ${round}`;
        const failed = !!rec.result.error || rec.checks.some((ch) => !ch.ok)
          || (c.workload === 'burst' && rec.result.outcome !== 'completed');
        // What RabbitMQ logged meanwhile, as context for a failure.
        const crashes = [...new Set(reports.filter((r) => !r.closeNoise).map((r) => r.gist))];
        const context = failed && crashes.length ? ` — RabbitMQ logged meanwhile: ${crashes.slice(0, 3).join(' | ')}` : '';
        if (rec.result.error) finding(`${where}: ${rec.result.error}${c.workload === 'burst' ? '' : context}`);
        if (c.workload === 'burst' && !rec.result.error) {
          const r = rec.result;
          const what = `${r.outcome}${r.reason ? ` (${r.reason})` : ''}: ${r.receipts}/${r.count} receipts in ${fmtNum(r.ms)} ms, ${r.enqueued ?? '?'} in the queue`;
          log(`         ${what}`);
          if (client === 'burrow' && (r.outcome !== 'completed' || r.enqueued !== r.count)) {
            // Burrow's window of 128 keeps RabbitMQ from killing the connection
            // (README): a drop, a timeout or a message short is ours to explain.
            finding(`${where}: ${what}${context}`);
          } else if (r.outcome !== 'completed') {
            notes.push(`${where}: ${what}${context}`);
            if (crashes.length) log(`         RabbitMQ logged: ${crashes.slice(0, 2).join(' | ')}`);
          }
        }
        for (const ch of rec.checks) {
          if (!ch.ok) finding(`${where}: ${ch.what}: expected ${ch.expected}, saw ${ch.observed}${rec.result.error ? '' : context}`);
        }
        // Reports naming our queues are ours; the rest are only context (see logReports).
        // The channel's noproc that may follow the burst's heart-beat kill is part of
        // that kill (see HEARTBEAT_KILL), expected for the clients without a window.
        const killed = c.workload === 'burst' && WINDOWLESS.includes(client)
          && reports.some((x) => HEARTBEAT_KILL.test(x.gist));
        for (const r of reports.filter((x) => x.ours && !x.closeNoise && !(killed && x.channelNoproc))) {
          finding(`${where}: RabbitMQ logged: ${r.gist}`);
        }
        if (!failed) {
          for (const r of reports.filter((x) => !x.ours)) unattributed.set(r.gist, (unattributed.get(r.gist) ?? 0) + 1);
        }
        vlog(JSON.stringify(rec));
      }
    }
  }

  const summary = summarize(plan, clientsRun);
  printTable(summary, clientsRun);
  if (skipped.length) log(`\nskipped: ${skipped.map((c) => `${c}: ${availability[c]?.error}`).join('; ')}`);
  if (notes.length) {
    log(`\nnotes (${notes.length}): the burst, which is expected to go wrong`);
    for (const f of notes) log(`  - ${f.slice(0, 400)}`);
  }
  if (unattributed.size) {
    const n = [...unattributed.values()].reduce((a, b) => a + b, 0);
    log(`\nRabbitMQ's log had ${n} error report(s) during runs that went fine and named none of our queues`);
    log('(the broker is shared; close-time shutdown_error reports are RabbitMQ 3.10 noise). Most frequent:');
    for (const [g, k] of [...unattributed].sort((a, b) => b[1] - a[1]).slice(0, 5)) log(`  ${String(k).padStart(4)}× ${g}`);
  }
  if (findings.length) {
    log(`\nfindings (${findings.length}):`);
    for (const f of findings) log(`  - ${f.slice(0, 400)}`);
  } else {
    log('\nfindings: none (every queue depth and peer count matched; RabbitMQ logged nothing about our queues)');
  }
  meta.finished = new Date().toISOString();
  meta.loadAtEnd = os.loadavg();
  const loads = records.map((r) => r.load1);
  meta.load1DuringRuns = { min: Math.min(...loads), max: Math.max(...loads) };
  log(`machine: ${os.cpus().length} cores; 1-minute load average during the runs ${fmtNum(meta.load1DuringRuns.min)}–${fmtNum(meta.load1DuringRuns.max)} (anything above ~2 means other work shared the cores)`);
  meta.wallSeconds = (Date.now() - t0) / 1000;
  fs.mkdirSync(path.dirname(cfg.out), { recursive: true });
  fs.writeFileSync(cfg.out, JSON.stringify({
    meta, config: { ...cfg, password: undefined }, availability, peer: { note: peer.note },
    summary, findings, notes, unattributedLog: Object.fromEntries(unattributed), records,
  }, null, 1));
  log(`\nwrote ${path.relative(process.cwd(), cfg.out) || cfg.out} (${meta.wallSeconds.toFixed(0)} s)`);
  // CI: the numbers never fail a run, but a finding (a count that is off) or a
  // client that could not run does.
  const missing = cfg.clients.filter((c) => availability[c] && !availability[c].ok);
  // Another client's trouble (stompjs or raw under the unbounded burst, and what
  // the broker logs about it) is a measurement, not a failure of ours.
  const others = /\/ (stompjs|raw|raw-batch) round \d+:/;
  const ours = findings.filter((f) => !others.test(f));
  if (cfg.strict && (ours.length || missing.length)) {
    log(`strict: ${ours.length} finding(s) not about another client, client(s) not run: ${missing.join(', ') || 'none'}`);
    exitCode = 1;
  }
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
