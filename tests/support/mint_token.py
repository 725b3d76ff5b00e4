#!/usr/bin/env python3
"""Mints HS256 JWTs for the OAuth2 test node (tests/support/oauth.sh), with the
node's local signing key. Python's standard library only.

    python3 tests/support/mint_token.py                      # 60 s, full access to /
    python3 tests/support/mint_token.py --expires-in 5 --scope rabbitmq.read:*/*
    python3 tests/support/mint_token.py --expires-in 0       # a token without exp
    python3 tests/support/mint_token.py --expires-in -10     # already expired
    python3 tests/support/mint_token.py --serve 8095         # an HTTP endpoint

With --serve, GET http://127.0.0.1:PORT/token?expires_in=5&sub=...&scope=...&aud=...
answers {"token": "...", "exp": <unix seconds or null>} with CORS for the test
pages (127.0.0.1:8080, 8091, 8096-8098, 8101-8105), so a browser test can fetch a
fresh token before each connect. Scopes are space-separated, as in a token.
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import time
import urllib.parse

KEY_ID = os.environ.get("BURROW_OAUTH_KEY_ID", "burrow-test-key")
SECRET = os.environ.get("BURROW_OAUTH_SECRET", "burrow-oauth-test-secret")
# Read, write and configure everything in every vhost; the three-part scopes
# cover topic exchanges (their routing keys), which the two-part ones do not.
FULL_ACCESS = "rabbitmq.read:*/* rabbitmq.write:*/* rabbitmq.configure:*/* rabbitmq.read:*/*/* rabbitmq.write:*/*/*"
ORIGINS = {f"http://127.0.0.1:{p}" for p in (8080, 8091, 8096, 8097, 8098, 8101, 8102, 8103, 8104, 8105)}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(sub="burrow", aud="rabbitmq", scope=FULL_ACCESS, expires_in=60, secret=SECRET, kid=KEY_ID, now=None):
    """An HS256 JWT; expires_in 0 leaves exp out (such a token never expires),
    a negative one makes it expired already. Returns (token, exp or None)."""
    now = int(time.time()) if now is None else now
    claims = {"sub": sub, "aud": aud, "scope": scope.split(), "iat": now}
    exp = None
    if expires_in:
        exp = now + expires_in
        claims["exp"] = exp
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature), exp


class TokenHandler(http.server.BaseHTTPRequestHandler):
    def cors(self):
        origin = self.headers.get("Origin")
        if origin in ORIGINS:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.send_header("Access-Control-Allow-Methods", "GET, OPTIONS")
        self.end_headers()

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path != "/token":
            return self.reply(404, {"error": "only /token"})
        query = urllib.parse.parse_qs(url.query)
        one = lambda name, default: query.get(name, [default])[0]
        try:
            expires_in = int(one("expires_in", "60"))
        except ValueError:
            return self.reply(400, {"error": "expires_in must be whole seconds"})
        token, exp = mint(sub=one("sub", "burrow"), aud=one("aud", "rabbitmq"),
                          scope=one("scope", FULL_ACCESS), expires_in=expires_in)
        self.reply(200, {"token": token, "exp": exp})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sub", default="burrow")
    ap.add_argument("--aud", default="rabbitmq")
    ap.add_argument("--scope", default=FULL_ACCESS, help="space-separated scopes")
    ap.add_argument("--expires-in", type=int, default=60, help="seconds (0: no exp; negative: expired)")
    ap.add_argument("--secret", default=SECRET, help="another key (to mint a wrongly signed token)")
    ap.add_argument("--serve", type=int, metavar="PORT", help="answer GET /token on 127.0.0.1:PORT instead")
    args = ap.parse_args()
    if args.serve:
        http.server.ThreadingHTTPServer(("127.0.0.1", args.serve), TokenHandler).serve_forever()
    else:
        print(mint(args.sub, args.aud, args.scope, args.expires_in, args.secret)[0])


if __name__ == "__main__":
    main()
