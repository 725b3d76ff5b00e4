#!/usr/bin/env python3
"""Records where RabbitMQ brokers differ over Web-STOMP: the frames each answers.
Uses tests/support/webstomp_facts.py (its connection, frame and management code,
and its FACTS_WS_URL / FACTS_MGMT_URL / FACTS_LOG_DIR); reports only.

    # RabbitMQ 4.0.5 (tests/support/broker4.sh):
    FACTS_WS_URL=ws://127.0.0.1:15675/ws FACTS_MGMT_URL=http://127.0.0.1:15673 \\
        python3 tests/support/broker_facts.py refusals alarm filter priority
    # the main RabbitMQ 3.10.8:
    python3 tests/support/broker_facts.py refusals filter priority
    python3 tests/support/broker_facts.py alarm     # takes /tmp/burrow-broker.lock itself

Cases: refusals (a bad destination, a duplicate subscription id, an unknown ACK,
a redeclare, transient and exclusive queues); alarm (a memory alarm, raised with
rabbitmqctl set_vm_memory_high_watermark 0.0001 and cleared with 0.4, under
persistent publishes with receipts, a consumer and heart-beats); filter (stream
filtering: x-stream-filter-value on SEND, x-stream-filter and
x-stream-match-unfiltered on SUBSCRIBE); priority (x-priority on SUBSCRIBE).
The alarm case alarms the main broker only while holding /tmp/burrow-broker.lock,
and always sets the watermark back to 0.4.
"""
import argparse
import fcntl
import re
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import webstomp_facts as facts  # noqa: E402
from webstomp_facts import Peer, declare, delete_queue, describe_queue, end_of, header, out  # noqa: E402

BROKER4 = "15675" in facts.URL


def ctl(*args):
    """rabbitmqctl for the broker under test (4.0.5's through its chroot)."""
    command = ([os.path.join(HERE, "broker4.sh"), "ctl"] if BROKER4 else ["rabbitmqctl"]) + list(args)
    r = subprocess.run(command, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def frames_after(label, peer, seconds=3):
    """Reads for `seconds` (or until the end), then prints every frame but CONNECTED and the end."""
    peer.drain(seconds)
    out(f"  {label}:")
    for f in peer.frames:
        if f.command != "CONNECTED":
            out(f"    {f.command} {f.headers} body={f.body!r}")
    out(f"    end of socket: {end_of(peer)}")
    peer.shutdown()


def refusals():
    header("refusals and queue rules where brokers differ")
    p = Peer(name="bad-dest", quiet=True)
    p.connect()
    p.send("SEND", [("destination", "/bogus/x"), ("receipt", "r-bogus")], "x", log=False)
    p.send("SEND", [("destination", "/exchange/amq.topic/facts.none"), ("receipt", "r-after")], "y", log=False)
    frames_after("SEND to /bogus/x with a receipt, then a good SEND with a receipt", p)

    p = Peer(name="dup-id", quiet=True)
    p.connect()
    for r in ("r-sub1", "r-sub2"):
        p.send("SUBSCRIBE", [("destination", "/exchange/amq.topic/facts.dup"), ("id", "same"), ("receipt", r)], log=False)
    frames_after("two SUBSCRIBEs with the same id, each with a receipt", p)

    p = Peer(name="ack-unknown", quiet=True)
    p.connect()
    p.send("ACK", [("id", "T_no-such-delivery@@session-x@@1"), ("receipt", "r-ack")], log=False)
    frames_after("ACK of an unknown delivery, with a receipt", p)

    q = f"facts-redeclare-{facts.RUN}"
    p = Peer(name="redeclare", quiet=True)
    p.connect()
    out(f"  declare {q} durable: {declare(p, q, [('durable', 'true'), ('auto-delete', 'false'), ('exclusive', 'false')], 'tx1')}")
    p.shutdown()
    p = Peer(name="redeclare", quiet=True)
    p.connect()
    declare(p, q, [("durable", "false"), ("auto-delete", "false"), ("exclusive", "false")], "tx2")
    frames_after(f"redeclare {q} with durable:false (Burrow's declare: BEGIN, SEND, ABORT, fenced SEND)", p)
    out(f"  management: {describe_queue(q)}")
    delete_queue(q)

    t = f"facts-transient-{facts.RUN}"
    p = Peer(name="transient", quiet=True)
    p.connect()
    out(f"  declare {t} durable:false exclusive:false (a transient non-exclusive queue): "
        f"{declare(p, t, [('durable', 'false'), ('auto-delete', 'false'), ('exclusive', 'false')], 'tx3')}")
    out(f"  management: {describe_queue(t)}")
    p.shutdown()
    delete_queue(t)

    x = f"facts-exclusive-{facts.RUN}"
    owner = Peer(name="owner", quiet=True)
    owner.connect()
    out(f"  owner declares {x} exclusive:true: "
        f"{declare(owner, x, [('durable', 'false'), ('auto-delete', 'false'), ('exclusive', 'true')], 'tx4')}")
    out(f"  management: {describe_queue(x)}")
    other = Peer(name="other", quiet=True)
    other.connect()
    other.send("SUBSCRIBE", [("destination", f"/amq/queue/{x}"), ("id", "s1"), ("receipt", "r-sub")], log=False)
    frames_after("another connection SUBSCRIBEs to the exclusive queue (/amq/queue/), with a receipt", other)
    other = Peer(name="other", quiet=True)
    other.connect()
    declare(other, x, [("durable", "false"), ("auto-delete", "false"), ("exclusive", "true")], "tx5")
    frames_after("another connection declares the same exclusive queue", other)
    other = Peer(name="other", quiet=True)
    other.connect()
    other.send("SEND", [("destination", f"/amq/queue/{x}"), ("receipt", "r-pub")], "to the exclusive queue", log=False)
    frames_after("another connection SENDs to the exclusive queue, with a receipt", other)
    owner.send("DISCONNECT", [("receipt", "bye")], log=False)
    owner.drain(2)
    owner.shutdown()
    time.sleep(0.5)
    out(f"  after the owner disconnected: {describe_queue(x)}")



def alarm_state():
    """The node's alarms as rabbitmqctl status lists them (the management API's
    mem_alarm lagged by more than 3 s here)."""
    rc, text = ctl("status")
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines()]
    try:
        k = lines.index("Alarms")
    except ValueError:
        return f"rabbitmqctl status: rc {rc}, no Alarms section"
    alarms = []
    for line in lines[k + 1:]:
        if line.strip() == "" and alarms:
            break
        if line.strip():
            alarms.append(line.strip())
    return "alarms: " + "; ".join(alarms)


class Counter:
    """What one connection saw, second by second."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []  # (seconds since start, kind)

    def add(self, t, kind):
        with self.lock:
            self.events.append((t, kind))

    def per_second(self, kind, seconds):
        counts = [0] * seconds
        with self.lock:
            for t, k in self.events:
                if k == kind and 0 <= int(t) < seconds:
                    counts[int(t)] += 1
        return counts


class Publisher:
    """Sends persistent SENDs with receipts at a rate; counts what comes back."""

    def __init__(self, name, heart_beat, queue, start):
        self.name, self.queue, self.start = name, queue, start
        self.peer = Peer(name=name, quiet=True)
        self.connected = self.peer.connect(heart_beat=heart_beat)
        self.beats = heart_beat != "0,0"
        self.counter, self.sent, self.ended = Counter(), 0, None
        self.last_beat = time.monotonic()

    def step(self, send):
        p, t = self.peer, time.monotonic() - self.start
        if p.close:
            if self.ended is None:
                self.ended = (round(t, 2), p.close)
            return
        if send:
            p.send_raw(facts.encode("SEND", [("destination", f"/amq/queue/{self.queue}"),
                                             ("receipt", f"a{self.sent}"), ("persistent", "true")], f"m{self.sent}"))
            self.counter.add(t, "sent")
            self.sent += 1
        if self.beats and time.monotonic() - self.last_beat >= 0.9:
            p.send_raw(b"\n")
            self.last_beat = time.monotonic()
        got = p.recv(0.01)
        if got and got[0] == "data":
            t = time.monotonic() - self.start
            if got[1] in (b"\n", b"\r\n"):
                self.counter.add(t, "beat")
            for it in got[2]:
                if isinstance(it, facts.Frame) and it.command == "RECEIPT":
                    self.counter.add(t, "receipt")
                elif isinstance(it, facts.Frame) and it.command == "ERROR":
                    self.counter.add(t, f"ERROR {it.headers} {it.body!r}")

    def receipts(self):
        return sum(1 for _, k in self.counter.events if k == "receipt")


def run_alarm(before, during, after, rate):
    q = f"facts-alarm-{facts.RUN}"
    setup = Peer(name="declare", quiet=True)
    setup.connect()
    declare(setup, q, [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false")], "txa")
    setup.shutdown()
    c = Peer(name="consumer", quiet=True)
    c.connect(heart_beat="1000,1000")
    c.send("SUBSCRIBE", [("destination", f"/amq/queue/{q}"), ("id", "s1"), ("ack", "client-individual"),
                         ("prefetch-count", "50"), ("receipt", "sub")], log=False)
    c.wait_for(lambda f: f.get("receipt-id") == "sub", 5)
    total = before + during + after
    start = time.monotonic()
    con = Counter()
    stop = threading.Event()

    def consume():
        last_beat = time.monotonic()
        while not stop.is_set() and not c.close:
            got = c.recv(0.1)
            now = time.monotonic()
            if now - last_beat >= 0.9:
                c.send_raw(b"\n")
                last_beat = now
            if got and got[0] == "data":
                if got[1] in (b"\n", b"\r\n"):
                    con.add(now - start, "beat")
                for it in got[2]:
                    if isinstance(it, facts.Frame) and it.command == "MESSAGE":
                        con.add(now - start, "delivered")
                        c.send_raw(facts.encode("ACK", [("id", it.get("ack"))]))
                    elif isinstance(it, facts.Frame) and it.command == "ERROR":
                        con.add(now - start, f"ERROR {it.headers} {it.body!r}")
        if c.close:
            con.add(time.monotonic() - start, f"closed {c.close}")

    # One publisher with heart-beats both ways (1 s), one without.
    pubs = [Publisher("publisher hb 1000,1000", "1000,1000", q, start), Publisher("publisher hb 0,0", "0,0", q, start)]
    thread = threading.Thread(target=consume)
    thread.start()
    phase, next_send, alarm_on, alarm_off, fresh = "before", time.monotonic(), None, None, None
    try:
        while time.monotonic() - start < total:
            t = time.monotonic() - start
            if phase == "before" and t >= before:
                alarm_on = t
                out(f"  [{t:6.2f}] set_vm_memory_high_watermark 0.0001: {ctl('set_vm_memory_high_watermark', '0.0001')}")
                phase = "during"
            if phase == "during" and t >= before + 3 and fresh is None:
                out(f"  [{t:6.2f}] {alarm_state()}")
                fresh = Peer(name="fresh", quiet=True)
                f = fresh.connect(heart_beat="0,0")
                out(f"  [{time.monotonic() - start:6.2f}] a new connection during the alarm: {f}")
                fresh.send("SEND", [("destination", f"/amq/queue/{q}"), ("receipt", "fresh"), ("persistent", "true")],
                           "fresh", log=False)
                r = fresh.wait_for(lambda f: f.get("receipt-id") == "fresh" or f.command == "ERROR", 3)
                out(f"  [{time.monotonic() - start:6.2f}] its SEND with a receipt, 3 s: {r}; end {end_of(fresh)}")
            if phase == "during" and t >= before + during:
                alarm_off = t
                out(f"  [{t:6.2f}] set_vm_memory_high_watermark 0.4: {ctl('set_vm_memory_high_watermark', '0.4')}")
                phase = "after"
            send = time.monotonic() >= next_send
            if send:
                next_send += 1 / rate
            for pub in pubs:
                pub.step(send)
    finally:
        if alarm_off is None:
            out(f"  (watermark set back to 0.4: {ctl('set_vm_memory_high_watermark', '0.4')})")
    out(f"  [{time.monotonic() - start:6.2f}] {alarm_state()}")
    deadline = time.monotonic() + 15  # receipts still owed
    while time.monotonic() < deadline and any(not p.peer.close and p.receipts() < p.sent for p in pubs):
        for pub in pubs:
            pub.step(False)
    if fresh:
        fresh.drain(0.5)
        out(f"  the connection made during the alarm, at the end: {[f for f in fresh.frames if f.command != 'CONNECTED']}; "
            f"end {end_of(fresh)}")
    time.sleep(1)
    stop.set()
    thread.join()
    seconds = int(time.monotonic() - start) + 1
    out(f"  alarm raised at {alarm_on:.2f} s, cleared at {alarm_off:.2f} s" if alarm_off else "  alarm not cleared in time")
    out("  second: per publisher (hb, no hb) sent / receipts / heart-beats in; consumer delivered / heart-beats in")
    cols = []
    for pub in pubs:
        cols += [pub.counter.per_second(k, seconds) for k in ("sent", "receipt", "beat")]
    cols += [con.per_second("delivered", seconds), con.per_second("beat", seconds)]
    for i, row in enumerate(zip(*cols)):
        out(f"    {i:3d}: " + "  ".join(" / ".join(f"{n:3d}" for n in row[k:k + 3]) for k in (0, 3, 6)))
    for pub in pubs:
        others = [e for e in pub.counter.events if e[1] not in ("sent", "receipt", "beat")]
        out(f"  {pub.name}: CONNECTED heart-beat {pub.connected.get('heart-beat') if pub.connected else None}; "
            f"sent {pub.sent}, receipts {pub.receipts()}; ended {pub.ended or end_of(pub.peer)}; other events {others}")
        pub.peer.shutdown()
    delivered = sum(1 for _, k in con.events if k == "delivered")
    out(f"  consumer: delivered {delivered}; other events {[e for e in con.events if e[1] not in ('delivered', 'beat')]}; "
        f"end {end_of(c)}")
    out(f"  queue: {describe_queue(q)}")
    c.shutdown()
    if fresh:
        fresh.shutdown()
    delete_queue(q)


def alarm(before=5, during=20, after=10, rate=10):
    header(f"memory alarm: {rate} persistent SENDs/s with receipts, a consumer (prefetch 50), heart-beats "
           f"1000,1000; alarm after {before} s for {during} s")
    out(f"  before: {alarm_state()}")
    if BROKER4:
        return run_alarm(before, during, after, rate)
    # The shared main broker: only while holding the broker lock (FACTS_LOCK_HELD=1:
    # the caller holds it, as in `flock /tmp/burrow-broker.lock ...`).
    if os.environ.get("FACTS_LOCK_HELD") == "1":
        return run_alarm(before, during, after, rate)
    with open("/tmp/burrow-broker.lock", "w") as lock:
        out("  taking /tmp/burrow-broker.lock (the main broker is shared)")
        fcntl.flock(lock, fcntl.LOCK_EX)
        run_alarm(before, during, after, rate)


def subscribe_and_read(dest, extra, seconds=3, ack=True, name="reader"):
    """A SUBSCRIBE (client-individual, prefetch 100, with a receipt); acks what
    comes; returns the peer after `seconds`."""
    r = Peer(name=name, quiet=True)
    r.connect()
    r.send("SUBSCRIBE", [("destination", dest), ("id", "s1"), ("ack", "client-individual"),
                         ("prefetch-count", "100"), ("receipt", "sub")] + list(extra), log=False)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not r.close:
        got = r.recv(0.2)
        if ack and got and got[0] == "data":
            for it in got[2]:
                if isinstance(it, facts.Frame) and it.command == "MESSAGE":
                    r.send_raw(facts.encode("ACK", [("id", it.get("ack"))]))
    return r


def show_read(label, r):
    msgs = [f for f in r.frames if f.command == "MESSAGE"]
    out(f"  {label}: receipt={any(f.get('receipt-id') == 'sub' for f in r.frames)}, "
        f"{len(msgs)} MESSAGE(s): {[m.body.decode() for m in msgs]}")
    if msgs:
        out(f"    first MESSAGE headers: {msgs[0].headers}")
    for e in [f for f in r.frames if f.command == "ERROR"]:
        out(f"    ERROR {e.headers} body={e.body!r}")
    out(f"    end of socket: {end_of(r)}")
    r.shutdown()


def stream_filter():
    header("stream filtering: x-stream-filter-value on SEND; x-stream-filter, x-stream-match-unfiltered on SUBSCRIBE")
    sq = f"facts-filter-{facts.RUN}"
    p = Peer(name="declare", quiet=True)
    p.connect()
    out(f"  declare stream {sq}: {declare(p, sq, [('durable', 'true'), ('auto-delete', 'false'), ('exclusive', 'false'), ('x-queue-type', 'stream')], 'txf')}")
    # Three batches, a pause between them, so they land in different chunks (the
    # broker's filter works per chunk).
    n = 0
    for value in ("red", "blue", None):
        for _ in range(5):
            hs = [("destination", f"/amq/queue/{sq}"), ("receipt", f"f{n}")]
            if value:
                hs.append(("x-stream-filter-value", value))
            p.send("SEND", hs, f"{value or 'plain'}-{n}", log=False)
            p.wait_for(lambda f, n=n: f.get("receipt-id") == f"f{n}" or f.command == "ERROR", 5)
            n += 1
        time.sleep(1.2)
    # Then red and blue mixed, sent at once: one chunk holds both.
    p.send_raw(b"".join(facts.encode("SEND", [("destination", f"/amq/queue/{sq}"), ("receipt", f"f{n + i}"),
                                              ("x-stream-filter-value", "red" if i % 2 == 0 else "blue")],
                                     f"mixed-{'red' if i % 2 == 0 else 'blue'}-{n + i}") for i in range(10)))
    p.wait_for(lambda f: f.get("receipt-id") == f"f{n + 9}" or f.command == "ERROR", 5)
    errors = [f for f in p.frames if f.command == "ERROR"]
    out(f"  published 25 (5 red, 5 blue, 5 plain, each batch in its own chunk; then 10 red and blue mixed at once) with receipts: "
        f"{sum(1 for f in p.frames if f.command == 'RECEIPT' and f.get('receipt-id', '').startswith('f'))} receipts, "
        f"errors {errors}; end {end_of(p)}")
    p.shutdown()
    time.sleep(1)
    dest = f"/amq/queue/{sq}"
    show_read("no filter, offset first", subscribe_and_read(dest, [("x-stream-offset", "first")]))
    show_read("x-stream-filter:red", subscribe_and_read(dest, [("x-stream-offset", "first"), ("x-stream-filter", "red")]))
    show_read("x-stream-filter:red,blue", subscribe_and_read(dest, [("x-stream-offset", "first"),
                                                                       ("x-stream-filter", "red,blue")]))
    show_read("x-stream-filter:red, x-stream-match-unfiltered:true",
              subscribe_and_read(dest, [("x-stream-offset", "first"), ("x-stream-filter", "red"),
                                        ("x-stream-match-unfiltered", "true")]))
    show_read("x-stream-filter:green (no such value)",
              subscribe_and_read(dest, [("x-stream-offset", "first"), ("x-stream-filter", "green")]))
    delete_queue(sq)


def priority():
    header("consumer priorities: x-priority on SUBSCRIBE")
    q = f"facts-priority-{facts.RUN}"
    p = Peer(name="declare", quiet=True)
    p.connect()
    declare(p, q, [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false")], "txp")
    readers = []
    for name, extra in (("low (x-priority:1)", [("x-priority", "1")]), ("high (x-priority:10)", [("x-priority", "10")]),
                        ("none", [])):
        r = Peer(name=name, quiet=True)
        r.connect()
        r.send("SUBSCRIBE", [("destination", f"/amq/queue/{q}"), ("id", "s1"), ("ack", "client-individual"),
                             ("prefetch-count", "100"), ("receipt", "sub")] + extra, log=False)
        first = r.wait_for(lambda f: f.get("receipt-id") == "sub" or f.command == "ERROR", 5)
        out(f"  SUBSCRIBE {name}: {first}")
        readers.append((name, r))
    time.sleep(6)  # the management API's consumer list lags
    status, consumers = facts.mgmt("GET", "/api/consumers")
    out(f"  management /api/consumers: HTTP {status}, {len(consumers) if status == 200 else consumers}")
    if status == 200:
        for cons in consumers:
            if cons.get("queue", {}).get("name") == q:
                out(f"  management consumer: priority? arguments={cons.get('arguments')} "
                    f"prefetch={cons.get('prefetch_count')} tag={cons.get('consumer_tag')}")
    for i in range(30):
        p.send("SEND", [("destination", f"/amq/queue/{q}"), ("receipt", f"p{i}")], f"m{i}", log=False)
    p.wait_for(lambda f: f.get("receipt-id") == "p29" or f.command == "ERROR", 5)
    for name, r in readers:
        r.drain(1)
    for name, r in readers:
        msgs = [f for f in r.frames if f.command == "MESSAGE"]
        errors = [(f.headers, f.body) for f in r.frames if f.command == "ERROR"]
        out(f"  {name}: {len(msgs)} of 30 (unacked, prefetch 100); errors {errors}; end {end_of(r)}")
        r.shutdown()
    p.shutdown()
    delete_queue(q)


CASES = {"refusals": refusals, "alarm": alarm, "filter": stream_filter, "priority": priority}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", default=["refusals", "filter", "priority"],
                    help="refusals, alarm, filter, priority (default: all but alarm)")
    args = ap.parse_args()
    status, ov = facts.mgmt("GET", "/api/overview")
    out(f"{facts.URL}: " + (f"RabbitMQ {ov.get('rabbitmq_version')} on Erlang {ov.get('erlang_version')}, "
                            f"node {ov.get('node')}" if status == 200 else f"management HTTP {status}"))
    for case in args.cases:
        CASES[case]()
