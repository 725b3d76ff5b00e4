#!/usr/bin/env python3
"""Runs RabbitMQ's Python tutorial programs (tests/support/pika_tutorial/, pika)
when a browser test asks, so the browser's other side is the tutorial's own code:

    POST /emit_log?message=M              tutorial 3's emit_log.py: M to the fanout `logs`
    POST /topic/start?keys=K1,K2          tutorial 5's receive_logs_topic.py with those
                                          binding keys, in a thread; answers its id once bound
    POST /topic/received?id=N             what it received so far, one `key<TAB>body` a line
    POST /topic/stop?id=N                 stops it
    POST /rpc_server/start?queue=Q        tutorial 6's rpc_server.py (Fibonacci) on Q; answers once consuming
    POST /rpc_server/stop?queue=Q         stops it; answers how many calls it served
    POST /rpc_client?queue=Q&n=N          tutorial 6's rpc_client.py: fib(N) through Q; answers the reply
                                          (or 504 when none came within 10 s)

    target/python/bin/python tests/support/pika_helper.py [--port 8099]

Started by ./burrow test beside the browser tests that need it (CORS as
broker_restarter.py: the test pages of 127.0.0.1:8091, 8096-8098, 8101-8105).
"""
import argparse
import http.server
import itertools
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pika_tutorial.emit_log import emit_log  # noqa: E402
from pika_tutorial.receive_logs_topic import TopicReceiver  # noqa: E402
from pika_tutorial.rpc_client import FibonacciRpcClient  # noqa: E402
from pika_tutorial.rpc_server import RpcServer  # noqa: E402

ORIGINS = ["http://127.0.0.1:8091"] + [f"http://127.0.0.1:{p}" for p in (8096, 8097, 8098, 8101, 8102, 8103, 8104, 8105)]
receivers = {}
servers = {}
ids = itertools.count(1)
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        origin = self.headers.get("Origin", ORIGINS[0])
        self.send_header("Access-Control-Allow-Origin", origin if origin in ORIGINS else ORIGINS[0])
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self):
        self.answer(204, "")

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        try:
            route = {
                "/emit_log": self.emit_log,
                "/topic/start": self.topic_start,
                "/topic/received": self.topic_received,
                "/topic/stop": self.topic_stop,
                "/rpc_server/start": self.rpc_server_start,
                "/rpc_server/stop": self.rpc_server_stop,
                "/rpc_client": self.rpc_client,
            }.get(url.path)
            if route is None:
                return self.answer(404, f"no such endpoint: {url.path}")
            route(query)
        except Exception as error:  # the test reads why, in words
            self.answer(500, f"{type(error).__name__}: {error}")

    def emit_log(self, query):
        emit_log(query.get("message", ""))
        self.answer(200, "sent")

    def topic_start(self, query):
        receiver = TopicReceiver([k for k in query.get("keys", "").split(",") if k])
        with lock:
            key = next(ids)
            receivers[key] = receiver
        threading.Thread(target=receiver.run, daemon=True).start()
        self.answer(200, str(key))

    def topic_received(self, query):
        receiver = receivers.get(int(query.get("id", "0")))
        if receiver is None:
            return self.answer(404, "no such receiver")
        self.answer(200, "".join(f"{key}\t{body}\n" for key, body in list(receiver.received)))

    def topic_stop(self, query):
        receiver = receivers.pop(int(query.get("id", "0")), None)
        if receiver is not None:
            receiver.stop()
        self.answer(200, "stopped")

    def rpc_server_start(self, query):
        queue = query.get("queue", "rpc_queue")
        server = RpcServer(queue)
        with lock:
            servers[queue] = server
        threading.Thread(target=server.run, daemon=True).start()
        self.answer(200, "consuming")

    def rpc_server_stop(self, query):
        server = servers.pop(query.get("queue", "rpc_queue"), None)
        if server is None:
            return self.answer(404, "no such server")
        server.stop()
        self.answer(200, str(server.served))

    def rpc_client(self, query):
        reply = FibonacciRpcClient(query.get("queue", "rpc_queue")).call(int(query.get("n", "30")))
        self.answer(504 if reply is None else 200, "no reply within 10 s" if reply is None else str(reply))

    def log_message(self, *args):
        pass


parser = argparse.ArgumentParser(description="Runs RabbitMQ's Python tutorial programs for the browser tests.")
parser.add_argument("--port", type=int, default=8099)
http.server.ThreadingHTTPServer(("127.0.0.1", parser.parse_args().port), Handler).serve_forever()
