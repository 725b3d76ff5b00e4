#!/usr/bin/env python3
"""Restarts RabbitMQ when a browser test asks: POST http://127.0.0.1:8093/restart.
POST /pause and /resume freeze and thaw the broker's Erlang VM (SIGSTOP/SIGCONT):
a broker that is there but silent, for the heart-beat test.
POST /log-mark answers how long the broker's log is now; POST /log-crashes?since=N
answers how many connection crashes it logged after byte N, as
`<unexpected_message,resume lines> <reached_max_restart_intensity lines>`, so a
test can assert the broker saw no crash while it ran.

POST /cluster/stop-app?node=N and /cluster/start-app?node=N run `rabbitmqctl
stop_app` / `start_app` on node burrow-cN@localhost of the test cluster
(tests/support/cluster.sh), answering once it is done; /cluster/log-mark?node=N
and /cluster/log-crashes?node=N&since=M do for that node's log what /log-mark and
/log-crashes do for the main broker's.

    python3 tests/support/broker_restarter.py [--port 8093]

The soak test (tests/soak.rs) runs in headless Chromium and cannot run commands;
it asks this helper, which `./burrow test` starts beside it. The answer comes once
the broker is back (or with 500 and the output if the restart failed). Only the
browser tests' page (http://127.0.0.1:8091) and the JavaScript package's test page
(http://127.0.0.1:8096) may call it, and the pages of suites run side by side
(8097, 8098, 8101-8105).

With --proxy-port P it also forwards Web-STOMP: ws://127.0.0.1:P/ws (./burrow test
uses 8089 for the main broker, 8088 for RabbitMQ 4.0.5) reaches the broker's, and POST /cut cuts every connection made through it as a
network does when it drops: nothing more passes either way and neither end hears
a close, so the broker holds its side (and the exclusive queues it owns) until
its own heart-beat notices, while new connections pass. It answers how many it
cut.

With --broker4 every endpoint acts on the test run's RabbitMQ 4.0.5 instead
(tests/support/broker4.sh: restart, freeze, its log), never on the main broker:

    python3 tests/support/broker_restarter.py --broker4 --port 8094
"""
import argparse
import glob
import http.server
import os
import select
import signal
import socket
import subprocess
import threading
import urllib.parse

# The browser tests' page, the JavaScript package's test page, and the pages of
# test suites run side by side (see ./burrow's CORS origins).
ORIGINS = ("http://127.0.0.1:8091", "http://127.0.0.1:8096", "http://127.0.0.1:8097", "http://127.0.0.1:8098",
           "http://127.0.0.1:8101", "http://127.0.0.1:8102", "http://127.0.0.1:8103", "http://127.0.0.1:8104",
           "http://127.0.0.1:8105")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROKER4 = os.path.join(ROOT, "tests", "support", "broker4.sh")
BROKER4_ROOT = "/var/lib/burrow-rmq4/root"
# Set from --broker4: act on RabbitMQ 4.0.5 in its chroot instead of the main broker.
USE_BROKER4 = False


def broker4_pid():
    """RabbitMQ 4.0.5's Erlang VM: the beam.smp whose root is the chroot."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != "beam.smp":
                    continue
            if os.readlink(f"/proc/{entry}/root") == BROKER4_ROOT:
                return int(entry)
        except OSError:
            pass
    return 0


def broker_pid():
    """The main broker's OS process id, from the pid file the Debian package's node writes."""
    if USE_BROKER4:
        return broker4_pid()
    for pid_file in glob.glob("/var/lib/rabbitmq/mnesia/rabbit@*.pid"):
        try:
            with open(pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            pass
    return 0


class Proxy:
    """Forwards TCP to the broker's Web-STOMP; `cut()` stops every connection so far."""

    def __init__(self, port, target_port):
        self.target_port = target_port
        self.lock = threading.Lock()
        self.live = []  # [(client socket, broker socket, cut flag)]
        self.listener = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.listener.accept()
            try:
                broker = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            cut = threading.Event()
            with self.lock:
                self.live.append((client, broker, cut))
            threading.Thread(target=self.pump, args=(client, broker, cut), daemon=True).start()

    def pump(self, client, broker, cut):
        ends = {client: broker, broker: client}
        while not cut.is_set():
            readable, _, _ = select.select(list(ends), [], [], 0.1)
            if cut.is_set():
                # Cut: the sockets stay open and unread, as a dead network leaves them.
                return
            for end in readable:
                try:
                    data = end.recv(65536)
                    if data:
                        ends[end].sendall(data)
                        continue
                except OSError:
                    pass
                # One end closed before any cut: close the other, as a network would pass it.
                self.forget(client, broker)
                return

    def forget(self, client, broker):
        with self.lock:
            self.live = [entry for entry in self.live if entry[0] is not client]
        for end in (client, broker):
            try:
                end.close()
            except OSError:
                pass

    def cut(self):
        with self.lock:
            fresh = [entry for entry in self.live if not entry[2].is_set()]
            for _, _, cut in fresh:
                cut.set()
        return len(fresh)


PROXY = None


class Handler(http.server.BaseHTTPRequestHandler):
    def cors(self):
        origin = self.headers.get("Origin", ORIGINS[0])
        self.send_header("Access-Control-Allow-Origin", origin if origin in ORIGINS else ORIGINS[0])
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.end_headers()

    def signal_broker(self, which):
        # Only the main broker's VM: other RabbitMQ nodes (a test cluster) must not freeze.
        ok = False
        pid = broker_pid()
        if pid:
            try:
                os.kill(pid, which)
                ok = True
            except OSError:
                pass
        self.send_response(200 if ok else 500)
        self.cors()
        self.end_headers()

    def answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.cors()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_file(self):
        pattern = BROKER4_ROOT + "/var/log/rabbitmq/rabbit4@*.log" if USE_BROKER4 else "/var/log/rabbitmq/rabbit@*.log"
        logs = sorted(glob.glob(pattern))
        logs = [log for log in logs if not log.endswith("_upgrade.log")]
        return logs[0] if logs else None

    def cluster(self, path, query):
        """The test cluster's endpoints; node is 1, 2 or 3 (nothing else reaches a command)."""
        node = query.get("node", [""])[0]
        if node not in ("1", "2", "3"):
            return self.answer(400, "node must be 1, 2 or 3")
        if path in ("/cluster/stop-app", "/cluster/start-app"):
            command = "stop-app" if path == "/cluster/stop-app" else "start-app"
            done = subprocess.run([CLUSTER, command, node], capture_output=True, text=True)
            return self.answer(200 if done.returncode == 0 else 500, done.stdout + done.stderr)
        logs = [log for log in glob.glob(f"/var/lib/burrow-cluster/c{node}/log/burrow-c{node}@*.log")
                if not log.endswith("_upgrade.log")]
        if not logs:
            return self.answer(500, f"no log of node {node}")
        if path == "/cluster/log-mark":
            return self.answer(200, str(os.path.getsize(logs[0])))
        if path == "/cluster/log-crashes":
            since = int(query.get("since", ["0"])[0] or 0)
            with open(logs[0], "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
            resume = text.count("unexpected_message,resume")
            restarts = text.count("reached_max_restart_intensity")
            return self.answer(200, f"{resume} {restarts}")
        return self.answer(404, "unknown cluster endpoint")

    def do_POST(self):
        parsed = urllib.parse.urlparse(self.path)
        if parsed.path.startswith("/cluster/"):
            return self.cluster(parsed.path, urllib.parse.parse_qs(parsed.query))
        if self.path == "/log-mark":
            log = self.log_file()
            return self.answer(200 if log else 500, str(os.path.getsize(log)) if log else "no broker log")
        if self.path.startswith("/log-crashes?since="):
            log = self.log_file()
            if not log:
                return self.answer(500, "no broker log")
            since = int(self.path.split("=", 1)[1] or 0)
            with open(log, "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
            resume = text.count("unexpected_message,resume")
            restarts = text.count("reached_max_restart_intensity")
            return self.answer(200, f"{resume} {restarts}")
        if self.path == "/cut":
            return self.answer(200, str(PROXY.cut())) if PROXY else self.answer(500, "no --proxy-port")
        if self.path == "/pause":
            return self.signal_broker(signal.SIGSTOP)
        if self.path == "/resume":
            return self.signal_broker(signal.SIGCONT)
        if self.path != "/restart":
            self.send_response(404)
            self.cors()
            self.end_headers()
            return
        before = broker_pid()
        restart = ([BROKER4, "restart"] if USE_BROKER4 else [os.path.join(ROOT, "burrow"), "restart-broker"])
        done = subprocess.run(restart, capture_output=True, text=True)
        if done.returncode != 0:
            return self.answer(500, done.stdout + done.stderr)
        # The broker's process id before and after: a test sees the restart happened.
        self.answer(200, f"{before} {broker_pid()}")

    def log_message(self, *args):
        pass


CLUSTER = os.path.join(ROOT, "tests", "support", "cluster.sh")

parser = argparse.ArgumentParser(description="Restarts, freezes and reads the log of the test brokers for browser tests.")
# 8093 for ./burrow test; another port lets a second helper run beside it
# (./burrow test-cluster uses 8092).
parser.add_argument("--port", type=int, default=8093)
parser.add_argument("--proxy-port", type=int, default=0, help="forward Web-STOMP on this port (POST /cut cuts it)")
parser.add_argument("--broker4", action="store_true", help="act on RabbitMQ 4.0.5 (tests/support/broker4.sh)")
arguments = parser.parse_args()
USE_BROKER4 = arguments.broker4
if arguments.proxy_port:
    PROXY = Proxy(arguments.proxy_port, 15675 if USE_BROKER4 else 15674)
http.server.HTTPServer(("127.0.0.1", arguments.port), Handler).serve_forever()
