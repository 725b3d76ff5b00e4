#!/usr/bin/env python3
"""Restarts RabbitMQ when a browser test asks: POST http://127.0.0.1:8093/restart.
POST /pause and /resume freeze and thaw the broker's Erlang VM (SIGSTOP/SIGCONT):
a broker that is there but silent, for the heart-beat test.

The soak test (tests/soak.rs) runs in headless Chromium and cannot run commands;
it asks this helper, which `./burrow test` starts beside it. The answer comes once
the broker is back (or with 500 and the output if the restart failed). Only the
browser tests' page (http://127.0.0.1:8091) may call it.
"""
import http.server
import os
import subprocess

ORIGIN = "http://127.0.0.1:8091"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Handler(http.server.BaseHTTPRequestHandler):
    def cors(self):
        self.send_header("Access-Control-Allow-Origin", ORIGIN)
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.end_headers()

    def signal_broker(self, signal):
        done = subprocess.run(["pkill", f"-{signal}", "-f", "beam.smp"], capture_output=True, text=True)
        self.send_response(200 if done.returncode == 0 else 500)
        self.cors()
        self.end_headers()

    def do_POST(self):
        if self.path == "/pause":
            return self.signal_broker("STOP")
        if self.path == "/resume":
            return self.signal_broker("CONT")
        if self.path != "/restart":
            self.send_response(404)
            self.cors()
            self.end_headers()
            return
        done = subprocess.run([os.path.join(ROOT, "burrow"), "restart-broker"],
                              capture_output=True, text=True)
        body = (done.stdout + done.stderr).encode()
        self.send_response(200 if done.returncode == 0 else 500)
        self.cors()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", 8093), Handler).serve_forever()
