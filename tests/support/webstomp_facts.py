#!/usr/bin/env python3
"""Records what RabbitMQ's Web-STOMP really sends back, case by case.

Speaks STOMP 1.2 over ws://127.0.0.1:15674/ws (subprotocol v12.stomp, binary
WebSocket messages) and prints every WebSocket message received (raw bytes), the
STOMP frames in it, and how the socket ended (close code and reason, or a TCP
close without a close frame). It only reports: nothing is asserted.

    pip install websocket-client
    python3 tests/support/webstomp_facts.py              # every case
    python3 tests/support/webstomp_facts.py 3 4 7        # some cases

Cases: 1 framing and heart-beats; 2 several frames in one WebSocket message;
3 SEND to a missing exchange; 4 SUBSCRIBE to a missing queue; 5 broker shutdown
(on cluster node burrow-c2, see tests/support/cluster.sh; never the main broker);
6 quorum queues; 7 stream queues; 8 a burst of 2000 SENDs with receipts.
Where brokers differ (refusals, queue rules, memory alarms, stream filters,
consumer priorities): tests/support/broker_facts.py, which uses this file.

Another broker: FACTS_WS_URL, FACTS_MGMT_URL and FACTS_LOG_DIR, e.g. the test
run's RabbitMQ 4.0.5 (tests/support/broker4.sh):

    FACTS_WS_URL=ws://127.0.0.1:15675/ws FACTS_MGMT_URL=http://127.0.0.1:15673 \
    FACTS_LOG_DIR=/var/lib/burrow-rmq4/root/var/log/rabbitmq python3 tests/support/webstomp_facts.py 3 4
Queues it makes are named facts-*; it deletes them at the end of each case.
"""
import argparse
import base64
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import websocket  # websocket-client

URL = os.environ.get("FACTS_WS_URL", "ws://127.0.0.1:15674/ws")
MGMT = os.environ.get("FACTS_MGMT_URL", "http://127.0.0.1:15672")
USER = os.environ.get("BURROW_RABBIT_USER", "burrow")
PASSWORD = os.environ.get("BURROW_RABBIT_PASSWORD", "burrow")
CLUSTER_NODE = "burrow-c2@localhost"
CLUSTER_WS = "ws://127.0.0.1:15692/ws"
HERE = os.path.dirname(os.path.abspath(__file__))
RUN = str(int(time.time()))  # makes this run's queue names unique

T0 = time.monotonic()


def out(*args):
    print(*args, flush=True)


def short(data, limit=400):
    r = repr(bytes(data))
    return r if len(r) <= limit else r[:limit] + f"... ({len(data)} bytes)"


# ---------------------------------------------------------------- STOMP frames

def escape(value):
    return (value.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
            .replace(":", "\\c"))


def encode(command, headers=(), body=b""):
    if isinstance(headers, dict):
        headers = list(headers.items())
    lines = [command] + [f"{escape(k)}:{escape(str(v))}" for k, v in headers]
    if isinstance(body, str):
        body = body.encode()
    return ("\n".join(lines) + "\n\n").encode() + body + b"\x00"


def unescape(value):
    outp, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            outp.append({"n": "\n", "r": "\r", "c": ":", "\\": "\\"}.get(value[i + 1], "?"))
            i += 2
        else:
            outp.append(c)
            i += 1
    return "".join(outp)


class Frame:
    def __init__(self, command, headers, body):
        self.command, self.headers, self.body = command, headers, body

    def get(self, name, default=None):
        for k, v in self.headers:
            if k == name:
                return v  # STOMP 1.2: the first occurrence wins
        return default

    def __repr__(self):
        hs = ", ".join(f"{k}:{v}" for k, v in self.headers)
        return f"{self.command} [{hs}] body={self.body[:80]!r}"


def parse(data):
    """Splits one WebSocket message into frames; EOLs between frames are heart-beats.
    Returns (items, rest) where items are Frame or the string 'EOL'."""
    items, i = [], 0
    while i < len(data):
        if data[i:i + 1] == b"\n":
            items.append("EOL")
            i += 1
            continue
        if data[i:i + 2] == b"\r\n":
            items.append("EOL")
            i += 2
            continue
        end = data.find(b"\n\n", i)
        if end < 0:
            return items, data[i:]
        head = data[i:end].decode("utf-8", "replace").split("\n")
        headers = []
        for line in head[1:]:
            k, _, v = line.rstrip("\r").partition(":")
            headers.append((unescape(k), unescape(v)))
        command = head[0].rstrip("\r")
        start = end + 2
        length = dict(headers).get("content-length")
        if length is not None:
            stop = start + int(length)
            if data[stop:stop + 1] != b"\x00":
                return items, data[i:]
        else:
            stop = data.find(b"\x00", start)
            if stop < 0:
                return items, data[i:]
        items.append(Frame(command, headers, bytes(data[start:stop])))
        i = stop + 1
    return items, b""


# ------------------------------------------------------------ the connection

class Peer:
    """A WebSocket STOMP connection that logs everything it receives."""

    def __init__(self, url=URL, name="peer", quiet=False):
        self.name, self.quiet = name, quiet
        self.messages = []   # raw bytes of each data message
        self.frames = []     # Frame objects, in order
        self.close = None    # ("close-frame", code, reason) | ("tcp-closed", detail)
        self.ws = websocket.create_connection(url, subprotocols=["v12.stomp"], timeout=10)
        self.log(f"open {url}, subprotocol {self.ws.getsubprotocol()!r}")

    def log(self, text):
        if not self.quiet:
            out(f"  [{time.monotonic() - T0:8.3f}] {self.name}: {text}")

    def send_raw(self, data):
        """Sends one WebSocket message; a socket the broker already closed is
        logged (what comes back is read by recv), not raised."""
        try:
            self.ws.send(data, opcode=websocket.ABNF.OPCODE_BINARY)
            return True
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError) as e:
            self.send_error = f"{type(e).__name__}: {e}"
            self.log(f"send failed: {self.send_error}")
            return False

    def send(self, command, headers=(), body=b"", log=True):
        data = encode(command, headers, body)
        if log:
            self.log(f"> {short(data, 300)}")
        self.send_raw(data)

    def connect(self, heart_beat="0,0", extra=()):
        self.send("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", USER),
                              ("passcode", PASSWORD), ("heart-beat", heart_beat)] + list(extra))
        f = self.wait_for(lambda f: f.command in ("CONNECTED", "ERROR"), 10)
        return f

    def recv(self, timeout):
        """One WebSocket message: returns ('data', bytes) | ('close', ...) | None on timeout."""
        if self.close:
            return None
        self.ws.settimeout(timeout)
        try:
            opcode, frame = self.ws.recv_data_frame(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError) as e:
            self.close = ("tcp-closed", f"{type(e).__name__}: {e}")
            self.log(f"socket closed without a close frame ({self.close[1]})")
            return self.close
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            data = frame.data
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            reason = data[2:].decode("utf-8", "replace")
            self.close = ("close-frame", code, reason)
            self.log(f"WebSocket close frame: code {code}, reason {reason!r}")
            return self.close
        if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
            self.log(f"control opcode {opcode} {frame.data!r}")
            return ("control", opcode)
        data = frame.data if isinstance(frame.data, bytes) else frame.data.encode()
        kind = "binary" if opcode == websocket.ABNF.OPCODE_BINARY else f"opcode {opcode}"
        self.messages.append(data)
        items, rest = parse(data)
        for it in items:
            if isinstance(it, Frame):
                self.frames.append(it)
        self.log(f"< {kind} message {len(data)} B: {short(data)}"
                 + (f"  [INCOMPLETE rest {rest!r}]" if rest else ""))
        return ("data", data, items)

    def wait_for(self, pred, timeout):
        """Reads until a frame matches pred (returns it), the socket ends, or timeout."""
        deadline = time.monotonic() + timeout
        seen = len(self.frames)
        while True:
            for f in self.frames[seen:]:
                if pred(f):
                    return f
            seen = len(self.frames)
            left = deadline - time.monotonic()
            if left <= 0 or self.close:
                return None
            self.recv(left)

    def drain(self, seconds):
        """Reads everything for `seconds` (or until the socket ends)."""
        deadline = time.monotonic() + seconds
        while not self.close:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.recv(left)

    def shutdown(self):
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass


def raw_open(url=URL):
    """A bare TCP socket with a hand-made WebSocket handshake (to see every byte on
    the wire). Returns (socket, bytes already read after the handshake)."""
    import socket
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: v12.stomp\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    return s, buf.partition(b"\r\n\r\n")[2]


def raw_send(s, payload):
    """One masked binary WebSocket message."""
    import struct
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
                          if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def raw_read_all(s, buf, linger):
    """Reads until EOF, a reset, or `linger` seconds of quiet; returns the
    WebSocket frames [(opcode, payload)] and how the TCP connection ended."""
    import socket
    import struct
    s.settimeout(linger)
    ending = "quiet (still open)"
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                ending = "EOF (TCP FIN from the broker)"
                break
            buf += chunk
    except socket.timeout:
        pass
    except OSError as e:
        ending = f"{type(e).__name__}: {e}"
    s.close()
    frames, i = [], 0
    while i + 2 <= len(buf):
        op, n = buf[i] & 0x0F, buf[i + 1] & 0x7F
        j = i + 2
        if n == 126:
            n, j = struct.unpack(">H", buf[j:j + 2])[0], j + 2
        elif n == 127:
            n, j = struct.unpack(">Q", buf[j:j + 8])[0], j + 8
        frames.append((op, buf[j:j + n]))
        i = j + n
    return frames, ending


def raw_session(payloads, url=URL, pause=0.3, linger=3.0):
    """Each payload as one WebSocket message (`pause` s apart), then everything the
    broker sends until it closes or is quiet for `linger` s."""
    s, buf = raw_open(url)
    for payload in payloads:
        raw_send(s, payload)
        time.sleep(pause)
    return raw_read_all(s, buf, linger)


def print_raw(label, frames, ending):
    out(f"  raw TCP capture ({label}): {len(frames)} WebSocket frame(s) from the broker, then {ending}")
    for op, data in frames:
        if op == 8:
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            out(f"    close frame: code {code}, reason {data[2:]!r}")
        else:
            out(f"    opcode {op}: {short(data)}")


def show_raw(label, payloads, url=URL):
    print_raw(label, *raw_session(payloads, url))


# ------------------------------------------------------------ the broker's log

LOG_DIR = os.environ.get("FACTS_LOG_DIR", "/var/log/rabbitmq")


def log_mark():
    """Sizes of the broker's *.log files now, to read only what comes after."""
    mark = {}
    for name in os.listdir(LOG_DIR):
        if name.endswith(".log"):
            mark[name] = os.path.getsize(os.path.join(LOG_DIR, name))
    return mark


def log_since(mark):
    lines = []
    for name in sorted(os.listdir(LOG_DIR)):
        if name.endswith(".log"):
            with open(os.path.join(LOG_DIR, name), "rb") as fh:
                fh.seek(mark.get(name, 0))
                lines += [(name, l.decode("utf-8", "replace").rstrip()) for l in fh]
    return lines


def logged_errors(mark):
    """The ERROR frames the broker says it sent ("STOMP error frame sent"), as
    (Message, Detail) pairs: what the client should have received."""
    found, lines = [], [l for _, l in log_since(mark)]
    for i, l in enumerate(lines):
        if "STOMP error frame sent" in l:
            msg = next((x.split("Message: ", 1)[1] for x in lines[i:i + 4] if "Message: " in x), None)
            det = next((x.split("Detail: ", 1)[1] for x in lines[i:i + 4] if "Detail: " in x), None)
            found.append((msg, det))
    return found


# ------------------------------------------------------------ management API

def mgmt(method, path, body=None, base=MGMT):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text
    except OSError as e:  # a busy broker's management API can time out
        return None, f"{type(e).__name__}: {e}"


def queue_info(name):
    return mgmt("GET", "/api/queues/%2F/" + urllib.parse.quote(name, safe=""))


def delete_queue(name):
    assert name.startswith("facts-")
    mgmt("DELETE", "/api/queues/%2F/" + urllib.parse.quote(name, safe=""))


def describe_queue(name):
    status, q = queue_info(name)
    if status != 200:
        return f"{name}: HTTP {status} {q}"
    return (f"{name}: type={q.get('type')} durable={q.get('durable')} auto_delete={q.get('auto_delete')} "
            f"exclusive={q.get('exclusive')} arguments={q.get('arguments')} messages={q.get('messages')}")


def declare(peer, name, headers, tx):
    """Burrow's queue_declare: BEGIN; SEND /queue/<name> in the transaction; ABORT;
    a SEND with a receipt to /amq/queue/amq.burrow.fence."""
    peer.send("BEGIN", [("transaction", tx)])
    peer.send("SEND", [("destination", f"/queue/{name}"), ("transaction", tx)] + list(headers))
    peer.send("ABORT", [("transaction", tx)])
    peer.send("SEND", [("destination", "/amq/queue/amq.burrow.fence"), ("receipt", f"fence-{tx}")])
    return peer.wait_for(lambda f: f.command in ("RECEIPT", "ERROR"), 5)


def end_of(peer):
    if peer.close:
        return peer.close
    return "socket still open"


def header(title):
    out("")
    out("=" * 78)
    out(title)
    out("=" * 78)


# ------------------------------------------------------------------- cases

def case1():
    header("1. framing of broker frames; heart-beats")
    p = Peer(name="c1")
    p.connect(heart_beat="0,1000")
    raw = p.messages[-1]
    out(f"  CONNECTED raw message: {raw!r}")
    nul_lf, nul_lf_lf = raw.endswith(b"\x00\n"), raw.endswith(b"\x00\n\n")
    out(f"  ends with NUL+LF: {nul_lf}, with NUL+LF+LF: {nul_lf_lf}")
    p.send("SEND", [("destination", "/exchange/amq.topic/facts.none"), ("receipt", "r-1")], "hi")
    p.wait_for(lambda f: f.command == "RECEIPT", 5)
    raw = p.messages[-1]
    out(f"  RECEIPT raw message: {raw!r}")
    out("  Now idle 3.5 s with heart-beat 0,1000 (broker should send EOLs):")
    n = len(p.messages)
    p.drain(3.5)
    for m in p.messages[n:]:
        out(f"    message {m!r}")
    out(f"  heart-beat messages received in 3.5 s: {len(p.messages) - n}")
    p.send("DISCONNECT", [("receipt", "bye")])
    p.wait_for(lambda f: f.command == "RECEIPT", 5)
    p.drain(2)
    out(f"  after DISCONNECT: {end_of(p)}")
    p.shutdown()
    connect = encode("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", USER),
                                 ("passcode", PASSWORD), ("heart-beat", "0,0")])
    show_raw("CONNECT, then DISCONNECT with a receipt", [connect, encode("DISCONNECT", [("receipt", "bye")])])


def case2():
    header("2. several STOMP frames in ONE WebSocket message")
    p = Peer(name="c2")
    p.connect()
    for sep, label in ((b"", "back to back"), (b"\n", "with an EOL between")):
        ids = [f"multi-{label[:4]}-{i}" for i in range(3)]
        data = sep.join(encode("SEND", [("destination", "/exchange/amq.topic/facts.none"), ("receipt", r)],
                               f"body {r}") for r in ids)
        out(f"  one message with 3 SENDs ({label}): {len(data)} bytes")
        p.send_raw(data)
        got = set()
        deadline = time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline and not p.close:
            p.recv(deadline - time.monotonic())
            got = {f.get("receipt-id") for f in p.frames if f.command == "RECEIPT"} & set(ids)
        out(f"  receipts back: {sorted(got)} ({len(got)}/3)")
    out(f"  WebSocket messages received for these (one per frame?): "
        f"{[short(m, 80) for m in p.messages[1:]]}")
    p.shutdown()


def error_case(title, make_frame, runs=5):
    header(title)
    summary = []
    for i in range(runs):
        mark = log_mark()
        p = Peer(name=f"run{i + 1}")
        p.connect()
        p.send_raw(make_frame(i))
        p.drain(3)
        time.sleep(0.5)
        out(f"    broker log says it sent ERROR: {logged_errors(mark)}")
        errors = [f for f in p.frames if f.command == "ERROR"]
        receipts = [f for f in p.frames if f.command == "RECEIPT"]
        summary.append((len(errors), [e.get("receipt-id") for e in errors],
                        [e.get("message") for e in errors], len(receipts), p.close))
        for e in errors:
            out(f"    ERROR headers: {e.headers}")
            out(f"    ERROR body: {e.body!r}")
        p.shutdown()
        time.sleep(0.3)
    out("  summary per run: (ERROR frames, their receipt-id, message, RECEIPTs, end of socket)")
    for s in summary:
        out(f"    {s}")
    connect = encode("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", USER),
                                 ("passcode", PASSWORD), ("heart-beat", "0,0")])
    show_raw("CONNECT, then the frame", [connect, make_frame(99)])
    show_raw("CONNECT and the frame in one WebSocket message", [connect + make_frame(98)])


def case3():
    error_case("3. SEND with a receipt to /exchange/no-such-exchange-xyz (5 runs)",
               lambda i: encode("SEND", [("destination", "/exchange/no-such-exchange-xyz"),
                                         ("receipt", f"r-missing-ex-{i}")], "x"))


def case4():
    error_case("4. SUBSCRIBE with a receipt to /amq/queue/no-such-queue-xyz (5 runs)",
               lambda i: encode("SUBSCRIBE", [("destination", "/amq/queue/no-such-queue-xyz"), ("id", "s1"),
                                              ("ack", "client-individual"), ("receipt", f"r-missing-q-{i}")]))


def cluster_ctl(*args):
    t = time.monotonic()
    r = subprocess.run(["rabbitmqctl", "-n", CLUSTER_NODE] + list(args), capture_output=True, text=True)
    out(f"  rabbitmqctl -n {CLUSTER_NODE} {' '.join(args)} -> rc {r.returncode} in {time.monotonic() - t:.1f} s"
        f" {r.stdout.strip()[-200:]!r} {r.stderr.strip()[-200:]!r}")


def port_open(port):
    import socket
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def case5():
    header(f"5. broker shutdown seen by a connected client (cluster node {CLUSTER_NODE})")
    r = subprocess.run([os.path.join(HERE, "cluster.sh"), "start"], capture_output=True, text=True)
    if r.returncode != 0:
        out(f"  cluster.sh start failed: {r.stdout} {r.stderr}")
        return
    for action in ("stop_app", "stop"):
        p = Peer(url=CLUSTER_WS, name=action)
        p.connect(heart_beat="0,0")
        p.send("SUBSCRIBE", [("destination", "/exchange/amq.topic/facts.#"), ("id", "s1"), ("receipt", "sub")])
        p.wait_for(lambda f: f.command == "RECEIPT", 5)
        t = time.monotonic()
        th = threading.Thread(target=cluster_ctl, args=(action,))
        th.start()
        p.drain(30)
        out(f"  socket ended {time.monotonic() - t:.2f} s after `{action}` began: {end_of(p)}")
        out(f"  frames before the end: {[f for f in p.frames if f.command != 'CONNECTED' and f.get('receipt-id') != 'sub']}")
        th.join()
        out(f"  Web-STOMP port 15692 open after {action}: {port_open(15692)}")
        p.shutdown()
        if action == "stop_app":
            cluster_ctl("start_app")
            for _ in range(60):
                if port_open(15692):
                    break
                time.sleep(0.5)
            out(f"  Web-STOMP port 15692 open after start_app: {port_open(15692)}")
    for action in ("stop_app", "stop"):
        subprocess.run([os.path.join(HERE, "cluster.sh"), "start"], capture_output=True, text=True)
        s, buf = raw_open(CLUSTER_WS)
        raw_send(s, encode("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", USER),
                                       ("passcode", PASSWORD), ("heart-beat", "0,0")]))
        time.sleep(0.5)
        th = threading.Thread(target=cluster_ctl, args=(action,))
        th.start()
        print_raw(f"CONNECT, then `{action}`", *raw_read_all(s, buf, 30))
        th.join()
        if action == "stop_app":
            cluster_ctl("start_app")
    r = subprocess.run([os.path.join(HERE, "cluster.sh"), "start"], capture_output=True, text=True)
    out(f"  cluster.sh start -> rc {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")


def case6():
    header("6. quorum queues")
    qq = f"facts-qq-{RUN}"
    base = [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false"), ("x-queue-type", "quorum")]
    p = Peer(name="declare")
    p.connect()
    f = declare(p, qq, base, "tx1")
    out(f"  declare {qq} durable:true exclusive:false: {f}")
    out(f"  management: {describe_queue(qq)}")
    f = declare(p, qq, base, "tx1b")
    out(f"  same declare again: {f}")
    p.shutdown()

    # Does a SEND inside an aborted transaction declare the queue, and publish nothing?
    cq = f"facts-txdeclare-{RUN}"
    p = Peer(name="tx-classic")
    p.connect()
    f = declare(p, cq, [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false")], "tx0")
    out(f"  classic declare via aborted transaction: {f}; management: {describe_queue(cq)}")
    p.shutdown()
    delete_queue(cq)

    for label, hdrs in (
        ("exclusive:true", [("durable", "true"), ("auto-delete", "false"), ("exclusive", "true"), ("x-queue-type", "quorum")]),
        ("durable:false", [("durable", "false"), ("auto-delete", "false"), ("exclusive", "false"), ("x-queue-type", "quorum")]),
        ("auto-delete:true", [("durable", "true"), ("auto-delete", "true"), ("exclusive", "false"), ("x-queue-type", "quorum")]),
        ("redeclare existing quorum queue as classic", [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false")]),
    ):
        name = qq if "redeclare" in label else f"facts-qq-bad-{label.split(':')[0]}-{RUN}"
        mark = log_mark()
        p = Peer(name=label)
        p.connect()
        f = declare(p, name, hdrs, "txb")
        p.drain(2)
        time.sleep(0.5)  # the log line follows the close
        out(f"    broker log says it sent ERROR: {logged_errors(mark)}")
        out(f"  quorum with {label}: first answer {f}")
        for e in p.frames:
            if e.command == "ERROR":
                out(f"    ERROR headers {e.headers} body {e.body!r}")
        out(f"    end of socket: {end_of(p)}; management: {describe_queue(name)}")
        p.shutdown()
        if name != qq:
            delete_queue(name)

    # Redelivery headers.
    p = Peer(name="publish")
    p.connect()
    p.send("SEND", [("destination", f"/amq/queue/{qq}"), ("receipt", "pub"), ("persistent", "true")], "qq message")
    out(f"  publish: {p.wait_for(lambda f: f.command in ('RECEIPT', 'ERROR'), 5)}")
    p.shutdown()
    for attempt in range(1, 4):
        p = Peer(name=f"consume{attempt}")
        p.connect()
        p.send("SUBSCRIBE", [("destination", f"/amq/queue/{qq}"), ("id", "s1"), ("ack", "client-individual"),
                             ("prefetch-count", "10"), ("receipt", "sub")])
        m = p.wait_for(lambda f: f.command in ("MESSAGE", "ERROR"), 5)
        out(f"  delivery {attempt}: {m.command if m else None}")
        if m:
            for k, v in m.headers:
                out(f"      {k}:{v}")
        if attempt < 3:
            p.send("DISCONNECT", [("receipt", "bye")])  # without ACK
            p.wait_for(lambda f: f.get("receipt-id") == "bye", 5)
        else:
            p.send("ACK", [("id", m.get("ack")), ("receipt", "acked")])
            out(f"  ACK: {p.wait_for(lambda f: f.get('receipt-id') == 'acked' or f.command == 'ERROR', 5)}")
        p.shutdown()
        time.sleep(0.5)

    # NACK with requeue on a quorum queue.
    p = Peer(name="nack")
    p.connect()
    p.send("SEND", [("destination", f"/amq/queue/{qq}"), ("receipt", "pub2")], "nack me")
    p.wait_for(lambda f: f.get("receipt-id") == "pub2", 5)
    p.send("SUBSCRIBE", [("destination", f"/amq/queue/{qq}"), ("id", "s1"), ("ack", "client-individual"),
                         ("prefetch-count", "1")])
    m = p.wait_for(lambda f: f.command == "MESSAGE", 5)
    p.send("NACK", [("id", m.get("ack"))])
    m2 = p.wait_for(lambda f: f.command == "MESSAGE" and f is not m, 5)
    out(f"  after NACK (requeue default): {m2}")
    if m2:
        p.send("ACK", [("id", m2.get("ack")), ("receipt", "a2")])
        p.wait_for(lambda f: f.get("receipt-id") == "a2", 5)
    p.shutdown()

    # Reference: a classic queue's redelivery headers.
    cq = f"facts-classic-{RUN}"
    p = Peer(name="classic")
    p.connect()
    declare(p, cq, [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false")], "txc")
    p.send("SEND", [("destination", f"/amq/queue/{cq}"), ("receipt", "pub")], "classic message")
    p.wait_for(lambda f: f.get("receipt-id") == "pub", 5)
    p.shutdown()
    for attempt in (1, 2):
        p = Peer(name=f"classic{attempt}")
        p.connect()
        p.send("SUBSCRIBE", [("destination", f"/amq/queue/{cq}"), ("id", "s1"), ("ack", "client-individual")])
        m = p.wait_for(lambda f: f.command == "MESSAGE", 5)
        out(f"  classic delivery {attempt}: {m.headers if m else None}")
        p.shutdown()
        time.sleep(0.5)
    delete_queue(cq)
    delete_queue(qq)


def case7():
    header("7. stream queues")
    sq = f"facts-stream-{RUN}"
    p = Peer(name="declare")
    p.connect()
    f = declare(p, sq, [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false"),
                        ("x-queue-type", "stream")], "txs")
    out(f"  declare: {f}; management: {describe_queue(sq)}")
    stamp = None
    for i in range(20):
        if i == 10:
            time.sleep(2)
            stamp = int(time.time())
            time.sleep(1.1)
        p.send("SEND", [("destination", f"/amq/queue/{sq}"), ("receipt", f"p{i}"), ("n", str(i))],
               f"m{i}", log=False)
        p.wait_for(lambda f, i=i: f.get("receipt-id") == f"p{i}" or f.command == "ERROR", 5)
    out(f"  published 20 with receipts: {sum(1 for f in p.frames if f.command == 'RECEIPT') - 1} receipts; "
        f"timestamp between m9 and m10 = {stamp}")
    p.shutdown()
    time.sleep(1.5)
    out(f"  management: {describe_queue(sq)}")

    def consume(offset, ack="client-individual", prefetch="10", do_ack=True, seconds=3, extra=(), publish=None):
        mark = log_mark()
        p = Peer(name=f"offset={offset}", quiet=True)
        p.connect()
        hdrs = [("destination", f"/amq/queue/{sq}"), ("id", "s1"), ("ack", ack), ("receipt", "sub")]
        if prefetch is not None:
            hdrs.append(("prefetch-count", prefetch))
        if offset is not None:
            hdrs.append(("x-stream-offset", offset))
        hdrs += list(extra)
        p.send("SUBSCRIBE", hdrs, log=False)
        deadline = time.monotonic() + seconds
        acked = 0
        published = False
        while time.monotonic() < deadline and not p.close:
            got = p.recv(0.2)
            if publish and not published and any(f.get("receipt-id") == "sub" for f in p.frames):
                q = Peer(name="pub", quiet=True)
                q.connect()
                q.send("SEND", [("destination", f"/amq/queue/{sq}"), ("receipt", "x")], publish, log=False)
                q.wait_for(lambda f: f.command == "RECEIPT", 5)
                q.shutdown()
                published = True
            if got and got[0] == "data" and do_ack:
                for it in got[2]:
                    if isinstance(it, Frame) and it.command == "MESSAGE":
                        p.send("ACK", [("id", it.get("ack"))], log=False)
                        acked += 1
        msgs = [f for f in p.frames if f.command == "MESSAGE"]
        errors = [f for f in p.frames if f.command == "ERROR"]
        receipt = any(f.get("receipt-id") == "sub" for f in p.frames)
        if p.close:
            time.sleep(0.5)
        return p, msgs, errors, receipt, logged_errors(mark)

    def show(label, res):
        p, msgs, errors, receipt, logged = res
        out(f"  {label}: receipt={receipt} {len(msgs)} MESSAGE(s): {[m.body.decode() for m in msgs]}")
        if msgs:
            out(f"      first MESSAGE headers: {msgs[0].headers}")
            offs = [m.get("x-stream-offset") for m in msgs]
            out(f"      x-stream-offset values: {offs}")
        for e in errors:
            out(f"      ERROR headers {e.headers} body {e.body!r}")
        if logged:
            out(f"      broker log says it sent ERROR: {logged}")
        out(f"      end of socket: {end_of(p)}")
        p.shutdown()

    for off in ("first", "last", "offset=10", f"timestamp={stamp}", "offset=0", "offset=19", "offset=1000"):
        show(f"x-stream-offset:{off}", consume(off))
    show("no x-stream-offset header (then one message m20 published)", consume(None, publish="m20"))
    show("x-stream-offset:next (then one message m21 published)", consume("next", publish="m21"))
    show("x-stream-offset:first without ACKs (prefetch 10)", consume("first", do_ack=False))
    show("x-stream-offset:first, prefetch-count:0", consume("first", prefetch="0"))
    show("x-stream-offset:first, no prefetch-count header", consume("first", prefetch=None))
    show("x-stream-offset:first, ack:auto", consume("first", ack="auto"))
    show("x-stream-offset:first, ack:client", consume("first", ack="client", do_ack=False))
    for bad in ("bogus", "offset=abc", "timestamp=abc", "offset=-5", ""):
        show(f"x-stream-offset:{bad!r}", consume(bad))

    # Unacked stream messages and reconnect.
    out("  -- unacked messages after reconnect --")
    p = Peer(name="noack", quiet=True)
    p.connect()
    p.send("SUBSCRIBE", [("destination", f"/amq/queue/{sq}"), ("id", "s1"), ("ack", "client-individual"),
                         ("prefetch-count", "10"), ("x-stream-offset", "next"), ("receipt", "sub")], log=False)
    p.wait_for(lambda f: f.get("receipt-id") == "sub", 5)
    q = Peer(name="pub", quiet=True)
    q.connect()
    q.send("SEND", [("destination", f"/amq/queue/{sq}"), ("receipt", "x")], "m22", log=False)
    q.wait_for(lambda f: f.command == "RECEIPT", 5)
    q.shutdown()
    m = p.wait_for(lambda f: f.command == "MESSAGE", 5)
    out(f"  got (not acked): {m}")
    off = m.get("x-stream-offset") if m else None
    p.send("DISCONNECT", [("receipt", "bye")], log=False)
    p.wait_for(lambda f: f.get("receipt-id") == "bye", 5)
    p.shutdown()
    show("resubscribe x-stream-offset:next after disconnect without ACK", consume("next", seconds=3))
    if off is not None:
        show(f"resubscribe x-stream-offset:offset={off}", consume(f"offset={off}"))
    # NACK on a stream.
    p = Peer(name="nack", quiet=True)
    p.connect()
    p.send("SUBSCRIBE", [("destination", f"/amq/queue/{sq}"), ("id", "s1"), ("ack", "client-individual"),
                         ("prefetch-count", "10"), ("x-stream-offset", "last")], log=False)
    m = p.wait_for(lambda f: f.command == "MESSAGE", 5)
    if m:
        p.send("NACK", [("id", m.get("ack")), ("receipt", "nacked")], log=False)
        p.drain(2)
        out(f"  NACK on stream message {m.body!r}: frames after: "
            f"{[f for f in p.frames if f.command != 'CONNECTED' and f is not m]}; end {end_of(p)}")
    p.shutdown()
    # A plain SUBSCRIBE to /queue/<stream> (as /queue/ re-declares with the default arguments).
    show("SUBSCRIBE /queue/<stream> without x-queue-type", consume_dest(sq, f"/queue/{sq}"))
    delete_queue(sq)


def consume_dest(sq, dest):
    mark = log_mark()
    p = Peer(name="qdest", quiet=True)
    p.connect()
    p.send("SUBSCRIBE", [("destination", dest), ("id", "s1"), ("ack", "client-individual"),
                         ("prefetch-count", "10"), ("x-stream-offset", "first"), ("receipt", "sub")], log=False)
    p.drain(3)
    time.sleep(0.5)  # the log line follows the close
    return (p, [f for f in p.frames if f.command == "MESSAGE"], [f for f in p.frames if f.command == "ERROR"],
            any(f.get("receipt-id") == "sub" for f in p.frames), logged_errors(mark))


def case8(count=2000, size=100, batch=1, dest=None, heart_beats=("10000,10000", "0,10000"), window=0):
    header(f"8. burst of {count} SENDs with receipts ({size}-byte bodies, {batch} per WebSocket message), "
           + (f"at most {window} awaiting their receipt" if window else "no waiting"))
    q = f"facts-burst-{RUN}"
    dest = dest or f"/amq/queue/{q}"
    for hb in heart_beats:
        mark = log_mark()
        p = Peer(name=f"hb {hb}", quiet=True)
        port = p.ws.sock.getsockname()[1]
        f = p.connect(heart_beat=hb)
        out(f"  CONNECT heart-beat {hb} (client port {port}): CONNECTED heart-beat "
            f"{f.get('heart-beat') if f else None}")
        declare(p, q, [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false")], "txq")
        body = b"x" * size
        t = time.monotonic()
        sent = 0
        try:
            for i in range(0, count, batch):
                while window and not p.close and sent - sum(
                        1 for f in p.frames if f.command == "RECEIPT") + 1 > window:
                    p.recv(5)  # (the declare's fence receipt makes this one more lenient)
                if not p.send_raw(b"".join(encode("SEND", [("destination", dest), ("receipt", f"b{j}"),
                                                           ("persistent", "true")], body)
                                           for j in range(i, min(i + batch, count)))):
                    raise ConnectionError(p.send_error)
                sent = min(i + batch, count)
        except Exception as e:
            out(f"  send failed after {sent}: {type(e).__name__}: {e}")
        out(f"  sent {sent} in {time.monotonic() - t:.2f} s")
        deadline = time.monotonic() + 60
        last_beat = time.monotonic()

        def beat():
            nonlocal last_beat
            if not hb.startswith("0,") and time.monotonic() - last_beat > 5:
                try:
                    p.send_raw(b"\n")
                except Exception:
                    pass
                last_beat = time.monotonic()

        def receipts():
            return [f for f in p.frames if f.command == "RECEIPT" and f.get("receipt-id", "").startswith("b")]

        while not p.close and time.monotonic() < deadline and len(receipts()) < count:
            beat()
            p.recv(1)
        out(f"  receipts {len(receipts())}/{count} after {time.monotonic() - t:.2f} s; "
            f"ERRORs {[(e.headers, e.body) for e in p.frames if e.command == 'ERROR']}; end {end_of(p)}")
        if not p.close:
            out("  staying connected 25 s more (sending heart-beats if promised)...")
            end = time.monotonic() + 25
            while not p.close and time.monotonic() < end:
                beat()
                p.recv(1)
            out(f"  after 25 s: end {end_of(p)}; frames since: "
                f"{[f for f in p.frames if f.command not in ('RECEIPT', 'CONNECTED')]}")
        p.shutdown()
        time.sleep(2)
        new = log_since(mark)
        resume = sum(1 for _, l in new if "exception exit: {unexpected_message,resume}" in l)
        intensity = sum(1 for _, l in new if "reached_max_restart_intensity" in l)
        mine = any(f"127.0.0.1:{port} -> " in l for _, l in new)
        out(f"  broker log since: {len(new)} lines; heartbeater crashes {{unexpected_message,resume}}: {resume}; "
            f"reached_max_restart_intensity: {intensity}; a crash report names this connection "
            f"(127.0.0.1:{port}): {mine}")
        for name, l in [x for x in new if "unexpected_message" in x[1] or "reached_max" in x[1]][:4]:
            out(f"    {name}: {l[:200]}")
        out(f"  queue: {describe_queue(q)}")
        delete_queue(q)


CASES = {"1": case1, "2": case2, "3": case3, "4": case4, "5": case5, "6": case6, "7": case7, "8": case8}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", default=sorted(CASES), help="case numbers (default: all)")
    ap.add_argument("--count", type=int, default=2000, help="case 8: how many SENDs")
    ap.add_argument("--size", type=int, default=100, help="case 8: body size")
    ap.add_argument("--batch", type=int, default=1, help="case 8: SENDs per WebSocket message")
    ap.add_argument("--window", type=int, default=0, help="case 8: most SENDs awaiting their receipt (0: no limit)")
    ap.add_argument("--dest", help="case 8: destination (default: a durable queue facts-burst-*)")
    ap.add_argument("--heart-beat", action="append", help="case 8: CONNECT heart-beat(s) to try")
    args = ap.parse_args()
    out(f"RabbitMQ Web-STOMP facts, {URL}, {time.strftime('%Y-%m-%d %H:%M:%S')}")
    status, ov = mgmt("GET", "/api/overview")
    if status == 200:
        out(f"broker {ov.get('rabbitmq_version')} on Erlang {ov.get('erlang_version')}, node {ov.get('node')}")
    for c in args.cases:
        if c == "8":
            case8(args.count, args.size, args.batch, args.dest,
                  tuple(args.heart_beat or ("10000,10000", "0,10000")), args.window)
        else:
            CASES[c]()
