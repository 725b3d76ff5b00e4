#!/usr/bin/env python3
"""Deletes the queues earlier test runs left on a test broker.

Usage: tests/support/sweep_queues.py MANAGEMENT_URL
(as BURROW_RABBIT_USER / BURROW_RABBIT_PASSWORD, default burrow / burrow, as ./burrow sets up)

The tests name what they create with a stamp (`fresh_name`: `<prefix>-<ms>-<random>`;
the end-to-end tests: `<prefix>-<ns>`), and a run that fails, or a durable queue a
test keeps on purpose, leaves them behind. On this machine 217 had gathered on
3.10.8 (27 of them streams) and 137 on 4.0.5, and every broker restart in the
durability, outage and soak tests recovers each one. Only names with such a stamp
and no consumer go: the tutorial's own queues and the user's are never touched.
Prints what it deleted; a broker that does not answer is not an error (the
run's own checks say so).
"""
import base64
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

STAMPED = re.compile(r"-\d{13}-\d+$|^e2e-[a-z-]+-\d{16,}$")


def call(url, auth, method="GET"):
    request = urllib.request.Request(url, method=method, headers={"Authorization": auth})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def main():
    base = sys.argv[1].rstrip("/")
    user = os.environ.get("BURROW_RABBIT_USER", "burrow")
    password = os.environ.get("BURROW_RABBIT_PASSWORD", "burrow")
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    try:
        queues = call(f"{base}/api/queues?columns=name,vhost,consumers", auth)
    except urllib.error.HTTPError as e:
        print(f"    no sweep: {base} refused the queue list as {user} ({e})")
        return
    except OSError as e:
        print(f"    no sweep: {base} did not answer ({e})")
        return
    deleted = 0
    for queue in queues:
        if not STAMPED.search(queue["name"]) or queue.get("consumers", 0):
            continue
        path = "/".join(urllib.parse.quote(part, safe="") for part in (queue["vhost"], queue["name"]))
        try:
            call(f"{base}/api/queues/{path}", auth, method="DELETE")
            deleted += 1
        except OSError:
            pass  # gone meanwhile, or in use: the next run tries again
    print(f"    {deleted} queues of earlier test runs deleted ({len(queues)} before)")


if __name__ == "__main__":
    main()
