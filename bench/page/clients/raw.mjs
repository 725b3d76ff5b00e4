// The ceiling: a bare WebSocket and hand-made STOMP 1.2 bytes. SEND frames are
// encoded once per publishConfirmed call into one template whose fixed-width receipt
// id is patched in place before each send (WebSocket.send copies the bytes). The
// parser scans bytes for the few headers it needs (content-length, receipt-id, ack,
// message); a MESSAGE's ack id is copied byte for byte into its ACK frame.
// Like stompjs and like Web-STOMP, it sends one frame per WebSocket message; the
// raw-batch variant (clients/raw-batch.mjs) instead puts every frame it has ready
// at once into one WebSocket message: the SENDs of one pump, the ACKs for one
// incoming WebSocket message.
// Minimal on purpose: one consume() at a time (the fan-out's subscribe() dispatches
// on the subscription header), no header unescaping, no checks of incoming
// heart-beats (outgoing ones are sent as offered).

export const name = 'raw';
export const supports = ['fanout'];

const enc = new TextEncoder();
const dec = new TextDecoder();
const LF = 10;
const RECEIPT_DIGITS = 10;

export function connect(opts) {
  return connectWith(opts, { coalesce: false });
}

/** A coalesced WebSocket message stops growing past this many bytes. */
const COALESCE_LIMIT = 256 * 1024;

export function connectWith({ url, login, passcode, host = '/', heartbeat = [10000, 10000] }, { coalesce }) {
  return new Promise((resolve, reject) => {
    let ws;
    try {
      ws = new WebSocket(url, ['v12.stomp']);
    } catch (e) {
      reject(e);
      return;
    }
    ws.binaryType = 'arraybuffer';
    const client = new RawClient(ws, heartbeat, coalesce);
    let connected = false;
    client.onConnected = () => {
      connected = true;
      resolve(client);
    };
    client.onFailure = (err) => {
      if (!connected) reject(err);
    };
    ws.onopen = () => {
      ws.send(enc.encode(
        `CONNECT\naccept-version:1.2\nhost:${host}\nlogin:${login}\npasscode:${passcode}\n` +
        `heart-beat:${heartbeat[0]},${heartbeat[1]}\n\n\0`,
      ));
    };
  });
}

export function makeParser(onFrame) {
  const p = new FrameScanner((f) => onFrame(f));
  return { push: (chunk) => p.push(new Uint8Array(chunk)) };
}

/**
 * Splits a byte stream into frames. For each complete frame it calls
 * onFrame({ command, bytes, ackStart, ackEnd, receiptId, message, bodyStart, bodyEnd })
 * where the offsets index into `bytes` (valid during the call only).
 */
class FrameScanner {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.rest = null; // bytes of an incomplete frame carried over
  }

  push(chunk) {
    let buf = chunk;
    if (this.rest) {
      buf = new Uint8Array(this.rest.length + chunk.length);
      buf.set(this.rest, 0);
      buf.set(chunk, this.rest.length);
      this.rest = null;
    }
    let pos = 0;
    const end = buf.length;
    while (pos < end) {
      const used = this.frameAt(buf, pos, end);
      if (used < 0) break;
      pos = used;
    }
    if (pos < end) this.rest = buf.slice(pos);
  }

  /** Returns the offset after the frame at pos, or -1 if incomplete. */
  frameAt(buf, pos, end) {
    // Heart-beats / EOLs between frames.
    while (pos < end && (buf[pos] === LF || buf[pos] === 13)) pos++;
    if (pos === end) return end;
    const start = pos;
    const c0 = buf[pos];
    const cmdEnd = buf.indexOf(LF, pos);
    if (cmdEnd < 0) return -1;
    pos = cmdEnd + 1;
    let length = -1;
    let ackStart = -1;
    let ackEnd = -1;
    let receiptId = -1;
    let message;
    let subStart = -1;
    let subEnd = -1;
    for (;;) {
      const eol = buf.indexOf(LF, pos);
      if (eol < 0) return -1;
      let lineEnd = eol;
      if (lineEnd > pos && buf[lineEnd - 1] === 13) lineEnd--;
      if (lineEnd === pos) { pos = eol + 1; break; }
      // Only the few headers we need, matched on length and first byte(s).
      const k = buf[pos];
      const len = lineEnd - pos;
      if (k === 99 /* c */ && len > 15 && buf[pos + 14] === 58 && buf[pos + 8] === 108 /* content-length: */) {
        if (length < 0) {
          let n = 0;
          for (let i = pos + 15; i < lineEnd; i++) n = n * 10 + (buf[i] - 48);
          length = n;
        }
      } else if (k === 97 /* a */ && len > 4 && buf[pos + 1] === 99 && buf[pos + 2] === 107 && buf[pos + 3] === 58 /* ack: */) {
        if (ackStart < 0) { ackStart = pos + 4; ackEnd = lineEnd; }
      } else if (k === 114 /* r */ && len > 11 && buf[pos + 10] === 58 && buf[pos + 8] === 105 /* receipt-id: */) {
        if (receiptId < 0) {
          let n = 0;
          for (let i = pos + 11; i < lineEnd; i++) n = n * 10 + (buf[i] - 48);
          receiptId = n;
        }
      } else if (k === 115 /* s */ && len > 13 && buf[pos + 12] === 58 && buf[pos + 1] === 117 /* subscription: */) {
        if (subStart < 0) { subStart = pos + 13; subEnd = lineEnd; }
      } else if (k === 109 /* m */ && len > 7 && buf[pos + 7] === 58 && buf[pos + 1] === 101 /* message: */) {
        message ??= dec.decode(buf.subarray(pos + 8, lineEnd));
      }
      pos = eol + 1;
    }
    let bodyEnd;
    if (length >= 0) {
      if (pos + length + 1 > end) return -1;
      bodyEnd = pos + length;
    } else {
      bodyEnd = buf.indexOf(0, pos);
      if (bodyEnd < 0) return -1;
    }
    // M(ESSAGE), R(ECEIPT), E(RROR), C(ONNECTED) are all this client tells apart.
    const command = c0 === 77 ? 'MESSAGE' : c0 === 82 ? 'RECEIPT' : c0 === 69 ? 'ERROR'
      : c0 === 67 ? 'CONNECTED' : dec.decode(buf.subarray(start, cmdEnd));
    this.onFrame({ command, bytes: buf, start, ackStart, ackEnd, receiptId, message, subStart, subEnd, bodyStart: pos, bodyEnd });
    return bodyEnd + 1;
  }
}

class RawClient {
  constructor(ws, heartbeat, coalesce) {
    this.ws = ws;
    this.coalesce = coalesce;
    this.heartbeat = heartbeat;
    this.error = undefined;
    this.failures = new Set();
    this.receiptWaiters = new Map(); // receipt id (number) -> callback
    this.nextReceipt = 1;
    this.sub = null; // the one active consume()'s handler
    this.subs = new Map(); // subscribe()'s handlers by subscription id
    this.subCount = 0;
    this.pinger = undefined;
    this.onConnected = () => {};
    this.onFailure = () => {};
    this.acks = null; // ACK bytes not yet sent (raw-batch: those for one WebSocket message)
    this.acksLen = 0;
    this.scanner = new FrameScanner((f) => this.onFrame(f));
    this.pumps = new Set(); // raw-batch: publishers to refill once this WebSocket message is handled
    ws.onmessage = (evt) => {
      this.scanner.push(new Uint8Array(evt.data));
      this.flushAcks();
      if (this.pumps.size) {
        const pumps = [...this.pumps];
        this.pumps.clear();
        for (const pump of pumps) pump();
      }
    };
    this.onSocketClosed = () => {};
    ws.onclose = (evt) => {
      this.fail(new Error(`WebSocket closed (code ${evt.code}${evt.reason ? `, ${evt.reason}` : ''})`));
      this.onSocketClosed();
    };
    ws.onerror = () => {
      this.fail(new Error('WebSocket error'));
    };
  }

  fail(err) {
    if (this.error) return;
    this.error = err;
    if (this.pinger) clearInterval(this.pinger);
    this.onFailure(err);
    for (const reject of this.failures) reject(err);
    this.failures.clear();
  }

  onFrame(f) {
    switch (f.command) {
      case 'MESSAGE':
        if (this.subs.size) {
          const handler = this.subs.get(dec.decode(f.bytes.subarray(f.subStart, f.subEnd)));
          if (handler) { handler(f); break; }
        }
        if (this.sub) this.sub(f);
        break;
      case 'RECEIPT': {
        const cb = this.receiptWaiters.get(f.receiptId);
        if (cb) {
          this.receiptWaiters.delete(f.receiptId);
          cb();
        }
        break;
      }
      case 'CONNECTED': {
        const text = dec.decode(f.bytes.subarray(f.start, f.bodyStart));
        const hb = /\nheart-beat:(\d+),(\d+)/.exec(text);
        const serverWants = hb ? Number(hb[2]) : 0;
        if (this.heartbeat[0] > 0 && serverWants > 0) {
          const every = Math.max(this.heartbeat[0], serverWants);
          const ping = new Uint8Array([LF]);
          this.pinger = setInterval(() => {
            if (this.ws.readyState === WebSocket.OPEN) this.ws.send(ping);
          }, every);
        }
        this.onConnected();
        break;
      }
      case 'ERROR':
        this.fail(new Error(`ERROR frame: ${f.message ?? ''} ${dec.decode(f.bytes.subarray(f.bodyStart, f.bodyEnd))}`.trim()));
        break;
      default:
        break;
    }
  }

  flushAcks() {
    if (this.acksLen > 0) {
      this.ws.send(this.acks.subarray(0, this.acksLen));
      this.acksLen = 0;
    }
  }

  /** Appends an ACK for the MESSAGE f to the batch sent after this WebSocket message. */
  queueAck(f) {
    const n = f.ackEnd - f.ackStart;
    const need = this.acksLen + n + 9; // "ACK\nid:" + id + "\n\n\0"
    if (!this.acks || this.acks.length < need) {
      const grown = new Uint8Array(Math.max(need, (this.acks?.length ?? 0) * 2, 4096));
      if (this.acks) grown.set(this.acks.subarray(0, this.acksLen));
      this.acks = grown;
    }
    const a = this.acks;
    let o = this.acksLen;
    a[o++] = 65; a[o++] = 67; a[o++] = 75; a[o++] = LF; // ACK\n
    a[o++] = 105; a[o++] = 100; a[o++] = 58; // id:
    a.set(f.bytes.subarray(f.ackStart, f.ackEnd), o);
    o += n;
    a[o++] = LF; a[o++] = LF; a[o++] = 0;
    this.acksLen = o;
    if (!this.coalesce || o >= COALESCE_LIMIT) this.flushAcks();
  }

  publishConfirmed({ destination, body, count, window, onReceipt }) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      if (count === 0) return resolve();
      this.failures.add(reject);
      const head = enc.encode(
        `SEND\ndestination:${destination}\ncontent-length:${body.length}\nreceipt:`,
      );
      const frame = new Uint8Array(head.length + RECEIPT_DIGITS + 2 + body.length + 1);
      frame.set(head, 0);
      const idAt = head.length;
      frame[idAt + RECEIPT_DIGITS] = LF;
      frame[idAt + RECEIPT_DIGITS + 1] = LF;
      frame.set(body, idAt + RECEIPT_DIGITS + 2);
      frame[frame.length - 1] = 0;
      let sent = 0;
      let confirmed = 0;
      let inFlight = 0;
      const onReceiptFrame = () => {
        confirmed++;
        inFlight--;
        if (onReceipt) onReceipt();
        if (confirmed === count) {
          this.failures.delete(reject);
          this.pumps.delete(pump);
          resolve();
          return;
        }
        // raw-batch refills after the whole incoming WebSocket message: one send for all its receipts.
        if (this.coalesce) this.pumps.add(pump);
        else pump();
      };
      const stamp = (at) => {
        let id = this.nextReceipt++;
        this.receiptWaiters.set(id, onReceiptFrame);
        for (let i = at + idAt + RECEIPT_DIGITS - 1; i >= at + idAt; i--) {
          out[i] = 48 + (id % 10);
          id = Math.floor(id / 10);
        }
      };
      // raw-batch: as many copies of the frame as fit one coalesced message.
      const perMessage = this.coalesce ? Math.max(1, Math.floor(COALESCE_LIMIT / frame.length)) : 1;
      let out = frame;
      if (perMessage > 1) {
        out = new Uint8Array(frame.length * perMessage);
        for (let k = 0; k < perMessage; k++) out.set(frame, k * frame.length);
      }
      const pump = () => {
        while (sent < count && inFlight < window && !this.error) {
          const k = Math.min(perMessage, count - sent, window - inFlight);
          for (let j = 0; j < k; j++) stamp(j * frame.length);
          this.ws.send(k === perMessage ? out : out.subarray(0, k * frame.length));
          sent += k;
          inFlight += k;
        }
      };
      pump();
    });
  }

  consume({ destination, count, ack, prefetch, onMessage }) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.failures.add(reject);
      const id = `s${this.subCount++}`;
      const individual = ack !== 'auto'; // 'acked-on-take' too: an ACK per message as it arrives
      let got = 0;
      const finish = () => {
        this.sub = null;
        this.failures.delete(reject);
        this.flushAcks(); // ACKs first: RabbitMQ refuses ACKs for a subscription that is gone
        this.ws.send(enc.encode(`UNSUBSCRIBE\nid:${id}\n\n\0`));
        resolve();
      };
      this.sub = (f) => {
        if (got >= count) return;
        got++;
        if (onMessage) onMessage(f.bytes.subarray(f.bodyStart, f.bodyEnd));
        if (individual) this.queueAck(f);
        if (got === count) finish();
      };
      this.ws.send(enc.encode(
        `SUBSCRIBE\nid:${id}\ndestination:${destination}\nack:${individual ? 'client-individual' : 'auto'}\n` +
        `prefetch-count:${prefetch}\n\n\0`,
      ));
      if (count === 0) finish();
    });
  }

  subscribe({ exchange, routingKey, ack, prefetch, onMessage }) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.failures.add(reject);
      const id = `f${this.subCount++}`;
      const individual = ack !== 'auto'; // 'acked-on-take' too: an ACK per message as it arrives
      const receipt = this.nextReceipt++;
      this.subs.set(id, (f) => {
        onMessage(f.bytes.subarray(f.bodyStart, f.bodyEnd));
        if (individual) this.queueAck(f);
      });
      this.receiptWaiters.set(receipt, () => {
        this.failures.delete(reject);
        resolve({
          cancel: () => {
            if (!this.subs.delete(id) || this.error) return;
            this.flushAcks();
            this.ws.send(enc.encode(`UNSUBSCRIBE\nid:${id}\n\n\0`));
          },
        });
      });
      this.ws.send(enc.encode(
        `SUBSCRIBE\nid:${id}\ndestination:/exchange/${exchange}/${routingKey}\n` +
        `ack:${individual ? 'client-individual' : 'auto'}\nprefetch-count:${prefetch}\nreceipt:${receipt}\n\n\0`,
      ));
    });
  }

  close() {
    return new Promise((resolve) => {
      const done = () => {
        if (this.pinger) clearInterval(this.pinger);
        try { this.ws.close(); } catch (_) { /* already closed */ }
        resolve();
      };
      if (this.error || this.ws.readyState !== WebSocket.OPEN) return done();
      const id = this.nextReceipt++;
      const timer = setTimeout(done, 3000);
      this.receiptWaiters.set(id, () => { clearTimeout(timer); done(); });
      this.onSocketClosed = () => { clearTimeout(timer); done(); };
      this.ws.send(enc.encode(`DISCONNECT\nreceipt:${id}\n\n\0`));
    });
  }
}
