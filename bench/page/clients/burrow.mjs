// Burrow through its public JavaScript API: the npm package `./burrow package`
// builds (release wasm), served by bench/run.mjs at /burrow/. `connect`, then
// `publish` (one Promise per message, resolved on RabbitMQ's confirm) and
// `consume` (a callback per message, `message.ack()`), as its README shows.
//
// Burrow keeps at most `window` publishes awaiting their confirm by itself (its
// `window` option, 128 by default): the adapter passes the workload's window when
// it is a number and leaves Burrow's default for an unbounded burst, which is what
// a user of Burrow gets. Burrow reconnects by itself; a reconnect during a
// measurement fails the call, as a dropped connection does for the others.

export const name = 'burrow';

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
    const queue = destination.replace(/^\/amq\/queue\//, '');
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
          this.connection.publish(queue, body).then(confirm, failed);
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
      const manual = ack !== 'auto';
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
      }, { ack: manual ? 'manual' : 'auto', prefetch });
    });
  }

  close() {
    // close() resolves after the stopped event; the timeout only bounds a hang.
    return Promise.race([this.connection.close(), new Promise((resolve) => setTimeout(resolve, 3000))]);
  }

  extraMemoryBytes() {
    return wasm.memory.buffer.byteLength;
  }
}
