#!/usr/bin/env python3
"""Records what the OAuth2 test node (tests/support/oauth.sh) answers to tokens
over Web-STOMP: a fresh one, an expired one, a wrongly signed one, one for
another audience, one without exp, a read-only one, and what happens on an open
connection when its token expires. Reports only (like webstomp_facts.py, whose
connection and frame code it uses); nothing is asserted.

    tests/support/oauth.sh start
    python3 tests/support/oauth_facts.py                # every case
    python3 tests/support/oauth_facts.py --expiry 8     # the expiry case's token lifetime (s)

Needs websocket-client (Debian: python3-websocket).
"""
import argparse
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("FACTS_WS_URL", "ws://127.0.0.1:15676/ws")
os.environ.setdefault("FACTS_MGMT_URL", "http://127.0.0.1:15677")

import webstomp_facts as facts  # noqa: E402
from mint_token import mint  # noqa: E402

URL = os.environ["FACTS_WS_URL"]
out = facts.out


def connect(token, name, login="burrow"):
    """A Peer that sent CONNECT with `token` as the passcode; returns (peer, first answer)."""
    p = facts.Peer(url=URL, name=name, quiet=True)
    p.send("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", login), ("passcode", token),
                       ("heart-beat", "0,0")], log=False)
    return p, p.wait_for(lambda f: f.command in ("CONNECTED", "ERROR"), 10)


def show_connect(label, token, linger=2):
    p, first = connect(token, label)
    p.drain(linger)
    out(f"  {label}: {first}")
    out(f"    end of socket after {linger} s: {facts.end_of(p)}")
    if first is not None and first.command == "CONNECTED":
        p.send("SEND", [("destination", "/exchange/amq.topic/oauth.none"), ("receipt", "r1")], "x", log=False)
        f = p.wait_for(lambda f: f.get("receipt-id") == "r1" or f.command == "ERROR", 5)
        out(f"    SEND with a receipt: {f}; end {facts.end_of(p)}")
    p.shutdown()


def case_tokens():
    facts.header("tokens at CONNECT")
    show_connect("fresh token (60 s)", mint(expires_in=60)[0])
    show_connect("expired token (exp 10 s ago)", mint(expires_in=-10)[0], linger=3)
    show_connect("wrongly signed token", mint(expires_in=60, secret="not the key")[0], linger=3)
    show_connect("token for another audience", mint(expires_in=60, aud="someone-else")[0], linger=3)
    show_connect("token without exp", mint(expires_in=0)[0])
    show_connect("not a token (the password burrow, internal backend)", "burrow")
    p, first = connect(mint(expires_in=60, scope="rabbitmq.read:*/*")[0], "read-only")
    out(f"  read-only token (rabbitmq.read:*/*): {first}")
    p.send("SEND", [("destination", "/exchange/amq.topic/oauth.none"), ("receipt", "r1")], "x", log=False)
    p.drain(2)
    out(f"    SEND with a receipt: {[f for f in p.frames if f.command != 'CONNECTED']}; end {facts.end_of(p)}")
    p.shutdown()


def case_expiry(lifetime):
    facts.header(f"a token that expires on open connections ({lifetime} s)")
    q = f"facts-oauth-{facts.RUN}"
    token, exp = mint(expires_in=lifetime)
    sub, first = connect(token, "subscriber")
    out(f"  subscriber: {first}")
    facts.declare(sub, q, [("durable", "true"), ("auto-delete", "false"), ("exclusive", "false")], "tx")
    sub.send("SUBSCRIBE", [("destination", f"/amq/queue/{q}"), ("id", "s1"), ("ack", "auto"), ("receipt", "sub")],
             log=False)
    out(f"  SUBSCRIBE: {sub.wait_for(lambda f: f.get('receipt-id') == 'sub' or f.command == 'ERROR', 5)}")
    pub, _ = connect(token, "publisher")
    idle, _ = connect(token, "idle")
    pub.send("SEND", [("destination", f"/amq/queue/{q}"), ("receipt", "before")], "before expiry", log=False)
    out(f"  SEND before expiry: {pub.wait_for(lambda f: f.get('receipt-id') == 'before' or f.command == 'ERROR', 5)}")
    out(f"  delivered: {sub.wait_for(lambda f: f.command == 'MESSAGE', 5)}")
    wait = exp - time.time() + 2
    out(f"  waiting {wait:.1f} s, past the token's exp; reading the subscriber meanwhile")
    sub.drain(wait)
    out(f"  subscriber after expiry: end {facts.end_of(sub)}; frames {[f.command for f in sub.frames]}")
    fresh, _ = connect(mint(expires_in=60)[0], "fresh publisher")
    fresh.send("SEND", [("destination", f"/amq/queue/{q}"), ("receipt", "fresh")], "from a fresh token", log=False)
    out(f"  a fresh connection's SEND: {fresh.wait_for(lambda f: f.get('receipt-id') == 'fresh', 5)}")
    m = sub.wait_for(lambda f: f.command == "MESSAGE" and f.body == b"from a fresh token", 5)
    out(f"  the expired subscriber still receives: {m}")
    t = time.monotonic()
    pub.send("SEND", [("destination", f"/amq/queue/{q}"), ("receipt", "after")], "after expiry", log=False)
    pub.drain(3)
    out(f"  SEND on the expired publisher: {[f for f in pub.frames if f.command != 'CONNECTED' and f.get('receipt-id') != 'before']}; "
        f"end {facts.end_of(pub)} ({time.monotonic() - t:.2f} s)")
    idle.send("SUBSCRIBE", [("destination", f"/amq/queue/{q}"), ("id", "s2"), ("receipt", "sub2")], log=False)
    idle.drain(3)
    out(f"  SUBSCRIBE on an expired idle connection: {[f for f in idle.frames if f.command != 'CONNECTED']}; "
        f"end {facts.end_of(idle)}")
    sub.send("ACK", [("id", "nothing")], log=False)
    sub.drain(2)
    out(f"  the subscriber at the end: {facts.end_of(sub)}")
    for p in (sub, pub, idle, fresh):
        p.shutdown()
    facts.delete_queue(q)


def case_endpoint(port):
    facts.header(f"the token endpoint (mint_token.py --serve {port})")
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "mint_token.py"), "--serve", str(port)])
    try:
        for _ in range(50):
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/token?expires_in=5",
                                             headers={"Origin": "http://127.0.0.1:8091"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    body = r.read().decode()
                    out(f"  GET /token?expires_in=5: HTTP {r.status}, "
                        f"Access-Control-Allow-Origin {r.headers.get('Access-Control-Allow-Origin')}, {body[:60]}...")
                    import json
                    show_connect("a token from the endpoint", json.loads(body)["token"])
                    break
            except OSError:
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--expiry", type=int, default=6, help="lifetime of the expiring token, seconds")
    ap.add_argument("--endpoint-port", type=int, default=8095)
    args = ap.parse_args()
    status, ov = facts.mgmt("GET", "/api/overview")
    if status == 200:
        out(f"broker {ov.get('rabbitmq_version')} on Erlang {ov.get('erlang_version')}, node {ov.get('node')}, {URL}")
    case_tokens()
    case_expiry(args.expiry)
    case_endpoint(args.endpoint_port)
