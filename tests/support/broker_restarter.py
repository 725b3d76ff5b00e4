#!/usr/bin/env python3
"""Restarts RabbitMQ when a browser test asks: POST http://127.0.0.1:8093/restart.
POST /pause and /resume freeze and thaw the broker's Erlang VM (SIGSTOP/SIGCONT):
a broker that is there but silent, for the heart-beat test.
POST /log-mark answers how long the broker's log is now; POST /log-crashes?since=N
answers how many connection crashes it logged after byte N, as
`<unexpected_message,resume lines> <reached_max_restart_intensity lines>`, so a
test can assert the broker saw no crash while it ran.

The soak test (tests/soak.rs) runs in headless Chromium and cannot run commands;
it asks this helper, which `./burrow test` starts beside it. The answer comes once
the broker is back (or with 500 and the output if the restart failed). Only the
browser tests' page (http://127.0.0.1:8091) and the JavaScript package's test page
(http://127.0.0.1:8096) may call it.
"""
import glob
import http.server
import os
import signal
import subprocess

# The browser tests' page, the JavaScript package's test page, and the pages of
# test suites run side by side (see ./burrow's CORS origins).
ORIGINS = ("http://127.0.0.1:8091", "http://127.0.0.1:8096", "http://127.0.0.1:8097", "http://127.0.0.1:8098")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def broker_pid():
    """The main broker's OS process id, from the pid file the Debian package's node writes."""
    for pid_file in glob.glob("/var/lib/rabbitmq/mnesia/rabbit@*.pid"):
        try:
            with open(pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            pass
    return 0


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
        logs = sorted(glob.glob("/var/log/rabbitmq/rabbit@*.log"))
        logs = [log for log in logs if not log.endswith("_upgrade.log")]
        return logs[0] if logs else None

    def do_POST(self):
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
        done = subprocess.run([os.path.join(ROOT, "burrow"), "restart-broker"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return self.answer(500, done.stdout + done.stderr)
        # The broker's process id before and after: a test sees the restart happened.
        self.answer(200, f"{before} {broker_pid()}")

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", 8093), Handler).serve_forever()
