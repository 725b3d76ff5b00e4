// @stomp/stompjs 7.x through its public API, as its documentation shows it:
// Client + publish({ headers: { receipt } }) + watchForReceipt, subscribe with
// ack / prefetch-count headers, message.ack(). Automatic reconnection is off
// (reconnectDelay 0) so that a dropped connection is seen, not papered over.
// makeParser uses stompjs's own Parser (exported by the package's index).
import { Client, Parser } from '@stomp/stompjs';

export const name = 'stompjs';
export const supports = ['fanout', 'rpc'];

// The reply destination of this page's RPC calls: RabbitMQ makes the temporary
// queue on the first SEND that names it, and delivers its replies as MESSAGEs for
// subscription "/temp-queue/rpc-replies", which stompjs hands to onUnhandledMessage.
const REPLY_TO = '/temp-queue/rpc-replies';
// For experiments: ?stompjsRpcReceipts on the page asks a RECEIPT for every request
// and reply (ignored, as Burrow's confirms are for a call), to compare like with like.
const RPC_RECEIPTS = new URLSearchParams(location.search).has('stompjsRpcReceipts');
let rpcReceipt = 0;
/** A receipt header (and a watcher that ignores it) when RPC_RECEIPTS is on. */
function maybeReceipt(client) {
  if (!RPC_RECEIPTS) return {};
  const receipt = `rpc-${rpcReceipt++}`;
  client.watchForReceipt(receipt, () => {});
  return { receipt };
}

export async function load() {
  if (typeof Client !== 'function') throw new Error('@stomp/stompjs did not load');
}

export function makeParser(onFrame) {
  const parser = new Parser(onFrame, () => {});
  return { push: (chunk) => parser.parseChunk(chunk) };
}

export function connect({ url, login, passcode, host = '/', heartbeat = [10000, 10000] }) {
  return new Promise((resolve, reject) => {
    const client = new Client({
      brokerURL: url,
      connectHeaders: { login, passcode, host },
      heartbeatOutgoing: heartbeat[0],
      heartbeatIncoming: heartbeat[1],
      reconnectDelay: 0,
      debug: () => {},
    });
    const wrapper = new StompjsClient(client);
    let connected = false;
    client.onConnect = () => {
      connected = true;
      resolve(wrapper);
    };
    client.onStompError = (frame) => {
      const err = new Error(`ERROR frame: ${frame.headers.message ?? ''} ${frame.body ?? ''}`.trim());
      if (!connected) reject(err);
      wrapper.fail(err);
    };
    client.onWebSocketClose = (evt) => {
      const err = new Error(`WebSocket closed (code ${evt?.code}${evt?.reason ? `, ${evt.reason}` : ''})`);
      if (!connected) reject(err);
      wrapper.fail(err);
    };
    client.activate();
  });
}

class StompjsClient {
  constructor(client) {
    this.client = client;
    this.error = undefined;
    this.failures = new Set(); // reject functions of pending calls
    this.nextReceipt = 0;
  }

  fail(err) {
    if (this.error) return;
    this.error = err;
    for (const reject of this.failures) reject(err);
    this.failures.clear();
  }

  publishConfirmed({ destination, body, count, window, onReceipt }) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.failures.add(reject);
      let sent = 0;
      let confirmed = 0;
      let inFlight = 0;
      const done = () => {
        this.failures.delete(reject);
        resolve();
      };
      const onReceiptFrame = () => {
        confirmed++;
        inFlight--;
        if (onReceipt) onReceipt();
        if (confirmed === count) return done();
        pump();
      };
      const pump = () => {
        try {
          while (sent < count && inFlight < window && !this.error) {
            const receipt = `r-${this.nextReceipt++}`;
            this.client.watchForReceipt(receipt, onReceiptFrame);
            this.client.publish({ destination, headers: { receipt }, binaryBody: body });
            sent++;
            inFlight++;
          }
        } catch (e) {
          this.failures.delete(reject);
          reject(e);
        }
      };
      if (count === 0) return done();
      pump();
    });
  }

  consume({ destination, count, ack, prefetch, onMessage }) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.failures.add(reject);
      let got = 0;
      let sub;
      const individual = ack !== 'auto'; // 'acked-on-take' too: an ACK per message as it arrives
      const finish = () => {
        this.failures.delete(reject);
        try {
          sub?.unsubscribe();
        } catch (_) { /* closing anyway */ }
        resolve();
      };
      try {
        sub = this.client.subscribe(
          destination,
          (message) => {
            if (got >= count) return;
            got++;
            if (onMessage) onMessage(message.binaryBody);
            if (individual) message.ack();
            if (got === count) finish();
          },
          { ack: individual ? 'client-individual' : 'auto', 'prefetch-count': String(prefetch) },
        );
      } catch (e) {
        this.failures.delete(reject);
        reject(e);
      }
      if (count === 0) finish();
    });
  }

  // Fan-out: subscribe to /exchange/<x>/<key> with a receipt, ready when it arrives.
  subscribe({ exchange, routingKey, ack, prefetch, onMessage }) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.failures.add(reject);
      const individual = ack !== 'auto'; // 'acked-on-take' too: an ACK per message as it arrives
      const receipt = `sub-${this.nextReceipt++}`;
      let sub;
      this.client.watchForReceipt(receipt, () => {
        this.failures.delete(reject);
        resolve({ cancel: () => { try { sub.unsubscribe(); } catch (_) { /* closing anyway */ } } });
      });
      try {
        sub = this.client.subscribe(`/exchange/${exchange}/${routingKey}`, (message) => {
          onMessage(message.binaryBody);
          if (individual) message.ack();
        }, { ack: individual ? 'client-individual' : 'auto', 'prefetch-count': String(prefetch), receipt });
      } catch (e) {
        this.failures.delete(reject);
        reject(e);
      }
    });
  }

  // RPC server, as a stompjs user writes it: subscribe to the request queue and
  // publish each answer to the request's reply-to with its correlation-id.
  serve({ queue, prefetch }) {
    let errors = 0;
    const sub = this.client.subscribe(`/amq/queue/${queue}`, (message) => {
      try {
        this.client.publish({
          destination: message.headers['reply-to'],
          headers: { 'correlation-id': message.headers['correlation-id'], ...maybeReceipt(this.client) },
          binaryBody: message.binaryBody,
        });
      } catch (_) {
        errors++;
      }
    }, { ack: 'auto', 'prefetch-count': String(prefetch) });
    return Promise.resolve({ cancel: () => { try { sub.unsubscribe(); } catch (_) { /* closing */ } }, errors: () => errors });
  }

  // RPC call, by hand: a correlation-id per call, a reply-to temp queue, and
  // onUnhandledMessage matching replies to calls.
  call({ queue, body, timeoutMs }) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      if (!this.calls) {
        this.calls = new Map(); // correlation-id -> { resolve, reject, timer }
        this.unmatched = 0;
        this.nextCall = 0;
        this.client.onUnhandledMessage = (message) => {
          const call = this.calls.get(message.headers['correlation-id']);
          if (!call) { this.unmatched++; return; }
          this.calls.delete(message.headers['correlation-id']);
          clearTimeout(call.timer);
          this.failures.delete(call.reject);
          call.resolve(message.binaryBody);
        };
      }
      const id = `c-${this.nextCall++}`;
      const timer = setTimeout(() => {
        this.calls.delete(id);
        this.failures.delete(reject);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.calls.set(id, { resolve, reject, timer });
      this.failures.add(reject);
      try {
        this.client.publish({
          destination: `/amq/queue/${queue}`,
          headers: { 'reply-to': REPLY_TO, 'correlation-id': id, ...maybeReceipt(this.client) },
          binaryBody: body,
        });
      } catch (e) {
        clearTimeout(timer);
        this.calls.delete(id);
        this.failures.delete(reject);
        reject(e);
      }
    });
  }

  unmatchedReplies() {
    return this.unmatched ?? 0;
  }

  async close() {
    this.fail(new Error('closed'));
    await Promise.race([this.client.deactivate(), new Promise((r) => setTimeout(r, 3000))]);
  }
}
