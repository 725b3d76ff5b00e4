#!/usr/bin/env python3
"""A misbehaving STOMP peer for the browser tests (tests/bad_peer.rs).

RabbitMQ never sends malformed bytes, so this small WebSocket server (standard
library only) does, depending on the path: after CONNECTED it sends
  /malformed  a header line without a colon
  /utf8       a header name that is not UTF-8
  /midframe   half a frame, then closes
  /error      an ERROR frame, then closes
  /ok         nothing more (a well-behaved session)
  /redeclare  answers receipts; its first connection drops after the first
              queue declare, its second closes without words ("STOMP died") on
              the declare again (RabbitMQ 3.10.8's close when a request beside
              it is refused); GET /redeclare/declares lists the connections
              that declared a queue, /redeclare/reset starts over. Its
              management API (/api/queues/...) says every queue is missing.
It listens on ws://127.0.0.1:8094 and, with a self-signed certificate made at
start, wss://127.0.0.1:8095.
"""
import base64
import hashlib
import os
import socket
import ssl
import struct
import subprocess
import tempfile
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONNECTED = b"CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:fake-peer/1\n\n\0"
AFTER = {
    "/malformed": b"MESSAGE\nsubscription:s\ndestination:/queue/a\nthis line has no colon\n\n\0",
    "/utf8": b"MESSAGE\n\xff\xfe:x\nsubscription:0\ndestination:/queue/a\n\n\0",
    "/midframe": b"MESSAGE\nsubscription:s\ndestination:/queue/a\ncontent-length:100\n\nonly part of the bo",
    "/error": b"ERROR\nmessage:something broke\ncontent-type:text/plain\n\nthe fake peer gives up\0",
    "/ok": b"",
    "/stall": b"",
}


# The /redeclare scenario: connections made so far, and each declare's connection.
REDECLARE = {"connections": 0, "declares": []}


def frames_of(payload):
    """The STOMP frames in one WebSocket message: (command, headers)."""
    frames = []
    for text in payload.decode("utf-8", "replace").split("\0"):
        lines = text.lstrip("\r\n").split("\n\n", 1)[0].split("\n")
        if lines and lines[0]:
            headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
            frames.append((lines[0], headers))
    return frames


def redeclare_session(conn):
    """The /redeclare scenario after CONNECTED (see the module's doc)."""
    REDECLARE["connections"] += 1
    number = REDECLARE["connections"]
    declared = False
    while True:
        opcode, payload = read_frame(conn)
        if opcode == 8:
            send_frame(conn, 8, payload[:2])
            return
        for command, headers in frames_of(payload):
            if command == "SEND" and headers.get("destination", "").startswith("/queue/"):
                REDECLARE["declares"].append(number)
                declared = True
                if number == 2:
                    send_frame(conn, 8, struct.pack(">H", 1000) + b"STOMP died")
                    return
            if "receipt" in headers:
                send_frame(conn, 2, f"RECEIPT\nreceipt-id:{headers['receipt']}\n\n\0".encode())
                if number == 1 and declared:
                    return  # dropped without a close frame: the client sees 1006


def answer_http(conn, method, path):
    """The plain HTTP paths: whether `path` was one."""
    cors = "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Headers: authorization, content-type\r\n"
    if path == "/redeclare/reset":
        REDECLARE.update(connections=0, declares=[])
        body = b""
    elif path == "/redeclare/declares":
        body = " ".join(str(n) for n in REDECLARE["declares"]).encode()
    elif path.startswith("/api/queues/") and method == "OPTIONS":
        conn.sendall(("HTTP/1.1 204 No Content\r\n" + cors + "content-length: 0\r\n\r\n").encode())
        return True
    elif path.startswith("/api/queues/"):
        body = b'{"error":"Object Not Found","reason":"Not Found"}'
        conn.sendall(("HTTP/1.1 404 Not Found\r\n" + cors + "content-type: application/json\r\n"
                      + f"content-length: {len(body)}\r\n\r\n").encode() + body)
        return True
    else:
        return False
    conn.sendall(("HTTP/1.1 200 OK\r\n" + cors + "content-type: text/plain\r\n"
                  + f"content-length: {len(body)}\r\n\r\n").encode() + body)
    return True


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None, None, {}
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    method, path = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, path, headers


def send_frame(conn, opcode, payload):
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    conn.sendall(head + payload)


def read_frame(conn):
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    b0, b1 = exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", exact(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", exact(8))[0]
    mask = exact(4) if b1 & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(exact(n)))
    return b0 & 0x0F, payload


# The close code and reason of the last close frame a client sent: GET /last-close
# answers them as `<code> <reason>`, so a test sees how the browser closed.
LAST_CLOSE = {"text": ""}


def serve(conn):
    try:
        method, path, headers = read_request(conn)
        if path == "/last-close":
            body = LAST_CLOSE["text"].encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\ncontent-type: text/plain\r\n"
                         + f"content-length: {len(body)}\r\n\r\n".encode() + body)
            return
        if answer_http(conn, method, path):
            return
        if path.startswith("/api/"):
            # A management API that never answers (the request, or its CORS preflight).
            threading.Event().wait(60)
            return
        if path not in AFTER and path != "/redeclare":
            conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            return
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
        reply = f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
        if "v12.stomp" in headers.get("sec-websocket-protocol", ""):
            reply += "Sec-WebSocket-Protocol: v12.stomp\r\n"
        conn.sendall((reply + "\r\n").encode())
        opcode, payload = read_frame(conn)
        if not payload.startswith((b"CONNECT", b"STOMP")):
            return
        send_frame(conn, 2, CONNECTED)
        if path == "/redeclare":
            redeclare_session(conn)
            return
        if AFTER[path]:
            send_frame(conn, 2, AFTER[path])
        if path in ("/midframe", "/error"):
            send_frame(conn, 8, struct.pack(">H", 1000))
            return
        if path == "/stall":
            # Never read again: the client's socket buffers fill up.
            threading.Event().wait(120)
            return
        while True:  # stay up until the client goes
            opcode, payload = read_frame(conn)
            if opcode == 8:
                if len(payload) >= 2:
                    code = struct.unpack(">H", payload[:2])[0]
                    LAST_CLOSE["text"] = f"{code} {payload[2:].decode('utf-8', 'replace')}"
                send_frame(conn, 8, payload[:2])
                return
    except (ConnectionError, OSError, KeyError, ValueError):
        pass
    finally:
        conn.close()


def listen(port, context=None):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, _ = server.accept()
        if context is not None:
            try:
                conn = context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                continue
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def tls_context():
    directory = tempfile.mkdtemp(prefix="burrow-fake-peer-")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


threading.Thread(target=listen, args=(8095, tls_context()), daemon=True).start()
listen(8094)
