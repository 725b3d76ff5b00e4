// Burrow through its public JavaScript API: the npm package `./burrow package`
// builds (release wasm), served by bench/run.mjs at /burrow/. `connect`, then
// `publish` (one Promise per message, resolved on RabbitMQ's confirm) and
// `consume` (a callback per message, `message.ack()`), as its README shows. Ack
// modes as `consumeOptions` below maps them.
//
// Burrow keeps at most `window` publishes awaiting their confirm by itself (its
// `window` option, 128 by default): the adapter passes the workload's window when
// it is a number and leaves Burrow's default for an unbounded burst, which is what
// a user of Burrow gets. Burrow reconnects by itself; a reconnect during a
// measurement fails the call, as a dropped connection does for the others.

export const name = 'burrow';
export const supports = ['fanout', 'rpc'];

/** A workload's destination as publish's arguments: `/amq/queue/<q>` or `/exchange/<x>/<key>`. */
function target(destination) {
  const ex = /^\/exchange\/([^/]*)\/(.*)$/.exec(destination);
  if (ex) return [ex[2], { exchange: ex[1] }];
  return [destination.replace(/^\/amq\/queue\//, ''), undefined];
}

/**
 * A workload's ack mode as Burrow's consume options, like with like: 'auto' is
 * STOMP's ack:auto for every client, so Burrow's ack "broker" (RabbitMQ's own
 * auto-ack, no window); 'acked-on-take' is Burrow's ack "auto" (each message acked
 * as it is handed out, window max(prefetch, 256)), which the others do as
 * client-individual with an ACK per message on arrival.
 */
function consumeOptions(ack, prefetch) {
  if (ack === 'auto') return { ack: 'broker' };
  if (ack === 'acked-on-take') return { ack: 'auto', prefetch };
  return { ack: 'manual', prefetch };
}

let burrow;
let wasm;

export async function load() {
  // The package's main entry (its exports map's "."); init() resolves to { memory }.
  burrow = await import('/burrow/index.js');
  wasm = await burrow.default();
}

export function makeParser(onFrame) {
  const decoder = new burrow.FrameDecoder();
  return {
    push(chunk) {
      const frames = decoder.push(new Uint8Array(chunk));
      for (let i = 0; i < frames; i++) onFrame(null);
    },
  };
}

export function connect({ url, login, passcode, host = '/', heartbeat = [10000, 10000] }) {
  return new Promise((resolve, reject) => {
    let client;
    let connected = false;
    const onStatus = (event) => {
      if (event.type === 'connected' && !connected) {
        connected = true;
        resolve(client);
      } else if (event.type === 'reconnecting' || event.type === 'stopped') {
        const err = new Error(`${event.type}: ${event.reason}`);
        if (!connected) {
          client.connection.close();
          reject(err);
        }
        client.fail(err);
      }
    };
    const connection = burrow.connect(url, {
      login, passcode, vhost: host,
      heartbeatOutgoing: heartbeat[0], heartbeatIncoming: heartbeat[1],
      onStatus,
      // For experiments: ?burrowWritesPerMs=0 on the page turns write batching off.
      ...(new URLSearchParams(location.search).has('burrowWritesPerMs')
        ? { writesPerMs: Number(new URLSearchParams(location.search).get('burrowWritesPerMs')) } : {}),
    });
    client = new BurrowClient(connection);
  });
}

class BurrowClient {
  constructor(connection) {
    this.connection = connection;
    this.error = undefined;
    this.failures = new Set();
  }

  fail(err) {
    if (this.error) return;
    this.error = err;
    for (const reject of this.failures) reject(err);
    this.failures.clear();
  }

  publishConfirmed({ destination, body, count, window, onReceipt }) {
    const [routingKey, options] = target(destination);
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.failures.add(reject);
      let sent = 0;
      let confirmed = 0;
      let inFlight = 0;
      const limit = Number.isFinite(window) ? window : Infinity;
      const confirm = () => {
        confirmed++;
        inFlight--;
        if (onReceipt) onReceipt();
        if (confirmed === count) {
          this.failures.delete(reject);
          resolve();
        } else {
          pump();
        }
      };
      const failed = (err) => {
        this.failures.delete(reject);
        reject(err);
      };
      const pump = () => {
        while (sent < count && inFlight < limit) {
          sent++;
          inFlight++;
          this.connection.publish(routingKey, body, options).then(confirm, failed);
        }
      };
      pump();
    });
  }

  consume({ destination, count, ack, prefetch, onMessage }) {
    const queue = destination.replace(/^\/amq\/queue\//, '');
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.failures.add(reject);
      const manual = ack === 'client-individual';
      let received = 0;
      const subscription = this.connection.consume(queue, (message) => {
        if (received >= count) return;
        received++;
        if (onMessage) onMessage(message.body);
        if (manual) message.ack();
        if (received === count) {
          subscription.cancel();
          this.failures.delete(reject);
          resolve();
        }
      }, consumeOptions(ack, prefetch));
    });
  }

  // Fan-out: `consume({ exchange, routingKey }, …)`; ready on its consumer-ready
  // event (Burrow emits it on the SUBSCRIBE's RECEIPT).
  subscribe({ exchange, routingKey, ack, prefetch, onMessage }) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      const manual = ack === 'client-individual';
      let subscription;
      const ready = (event) => {
        if (event.consumer !== subscription?.consumer) return;
        this.connection.off('consumer-ready', ready);
        this.connection.off('consumer-failed', refused);
        this.failures.delete(reject);
        resolve({ cancel: () => subscription.cancel() });
      };
      const refused = (event) => {
        if (event.consumer !== subscription?.consumer) return;
        this.connection.off('consumer-ready', ready);
        this.connection.off('consumer-failed', refused);
        this.failures.delete(reject);
        reject(new Error(`consumer-failed: ${event.reason}`));
      };
      this.failures.add(reject);
      this.connection.on('consumer-ready', ready);
      this.connection.on('consumer-failed', refused);
      subscription = this.connection.consume({ exchange, routingKey }, (message) => {
        onMessage(message.body);
        if (manual) message.ack();
      }, consumeOptions(ack, prefetch));
    });
  }

  // RPC server: `reply(message, body)`, which publishes (confirmed) to its replyTo
  // with its correlationId.
  serve({ queue, prefetch }) {
    let errors = 0;
    const subscription = this.connection.consume(queue, (message) => {
      this.connection.reply(message, message.body).catch(() => { errors++; });
    }, { ack: 'auto', prefetch });
    return Promise.resolve({ cancel: () => subscription.cancel(), errors: () => errors });
  }

  // RPC call: `await connection.call(queue, body, { timeout })`.
  async call({ queue, body, timeoutMs }) {
    if (this.error) throw this.error;
    const reply = await this.connection.call(queue, body, { timeout: timeoutMs });
    return reply.body;
  }

  unmatchedReplies() {
    return this.connection.unmatchedReplies;
  }

  close() {
    // close() resolves after the stopped event; the timeout only bounds a hang.
    return Promise.race([this.connection.close(), new Promise((resolve) => setTimeout(resolve, 3000))]);
  }

  extraMemoryBytes() {
    return wasm.memory.buffer.byteLength;
  }
}
