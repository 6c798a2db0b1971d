#!/usr/bin/env python3
"""A small Docker/OCI token endpoint for hoist's registry tests.

    token_server.py --port-file FILE --log FILE [--user U --password P]
                    [--service hoist-test] [--expires-in N] [--anonymous-pull]
                    [--deny-push GLOB]... [--deny GLOB]... [--host 127.0.0.1]

It listens on 127.0.0.1 on a port the kernel picks (written to --port-file
once the socket is listening, so there is no race for the port) and answers

  GET  /token?service=S&scope=repository:NAME:pull,push&scope=...[&account=U]
       with Basic credentials (checked against --user/--password, which
       default to $TOKEN_USER/$TOKEN_PASSWORD);
  POST /token  (OAuth2 form: grant_type=password with username/password, or
       grant_type=refresh_token with refresh_token; service, scope, client_id)

Wrong or missing credentials give 401 with `WWW-Authenticate: Basic` (unless
--anonymous-pull, which gives anonymous callers tokens for pull only).  A
wrong service gives 400.  Granted actions are the requested ones less what
--deny-push/--deny take away (the Docker token spec: a token with fewer
actions, not an error).  The answer is
  {"token": T, "access_token": T, "expires_in": N, "issued_at": RFC3339,
   ["refresh_token": R]}
T is "hoist.<base64url JSON claims>.<base64url HMAC-SHA256>", signed with
$TOKEN_SECRET (or --secret); the claims hold iat, exp, sub, aud and the
granted access list, so fault_proxy.py can check expiry, age and scope.

Every request is logged to --log as one JSON object a line:
  {"t": epoch, "server": "token", "method": "GET", "path": "/token",
   "service": S, "scopes": [...], "account": A, "auth": "basic"|"bearer"|null,
   "user": U|null, "grant_type": G|null, "status": 200, "granted": [...],
   "expires_in": N, "iat": epoch}
"""

import argparse
import base64
import fnmatch
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text):
    text += "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text.encode())


def sign(secret, claims):
    body = b64u(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), ("hoist." + body).encode(), hashlib.sha256).digest()
    return "hoist." + body + "." + b64u(mac)


def verify(secret, token):
    """Claims of a token this server signed with secret, or None."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "hoist":
        return None
    mac = hmac.new(secret.encode(), ("hoist." + parts[1]).encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(b64u_decode(parts[2]), mac):
            return None
        return json.loads(b64u_decode(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None


def parse_scope(scope):
    """'repository:a/b:pull,push' -> ('repository', 'a/b', ['pull', 'push'])."""
    first = scope.find(":")
    last = scope.rfind(":")
    if first < 0 or last == first:
        return None
    actions = [a for a in scope[last + 1:].split(",") if a]
    return scope[:first], scope[first + 1:last], actions


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hoist-token-server"

    def log_message(self, fmt, *args):  # quiet stderr; we log JSON lines
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self.answer(url.path, q, None)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        # OAuth2: scope is space-separated in one field.
        scopes = []
        for s in form.get("scope", []):
            scopes += s.split()
        form["scope"] = scopes
        self.answer(url.path, form, form.get("grant_type", [None])[0])

    def answer(self, path, q, grant_type):
        cfg = self.server.cfg
        entry = {
            "t": time.time(),
            "server": "token",
            "method": self.command,
            "path": path,
            "service": q.get("service", [None])[0],
            "scopes": q.get("scope", []),
            "account": q.get("account", [None])[0],
            "client_id": q.get("client_id", [None])[0],
            "grant_type": grant_type,
            "auth": None,
            "user": None,
        }
        user = None
        authz = self.headers.get("Authorization", "")
        if authz:
            entry["auth"] = authz.split(" ", 1)[0].lower()
        if authz.lower().startswith("basic "):
            try:
                u, _, p = base64.b64decode(authz[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                u, p = None, None
            entry["user"] = u
            if u == cfg.user and p == cfg.password:
                user = u
            else:
                return self.fail(entry, 401, "invalid credentials")
        elif grant_type == "password":
            u = q.get("username", [""])[0]
            p = q.get("password", [""])[0]
            entry["user"] = u
            if u == cfg.user and p == cfg.password:
                user = u
            else:
                return self.fail(entry, 401, "invalid credentials")
        elif grant_type == "refresh_token":
            claims = verify(cfg.secret, q.get("refresh_token", [""])[0])
            if not claims or claims.get("typ") != "refresh":
                return self.fail(entry, 401, "invalid refresh token")
            user = claims.get("sub")
            entry["user"] = user
        if path != "/token":
            return self.fail(entry, 404, "not found")
        if entry["service"] is not None and entry["service"] != cfg.service:
            return self.fail(entry, 400, "unknown service")
        if user is None and not cfg.anonymous_pull:
            return self.fail(entry, 401, "authentication required")

        granted = []
        for scope in entry["scopes"]:
            parsed = parse_scope(scope)
            if not parsed:
                continue
            typ, name, actions = parsed
            if user is None:
                actions = [a for a in actions if a == "pull"]
            elif any(fnmatch.fnmatchcase(name, g) for g in cfg.deny):
                actions = []
            elif any(fnmatch.fnmatchcase(name, g) for g in cfg.deny_push):
                actions = [a for a in actions if a == "pull"]
            granted.append({"type": typ, "name": name, "actions": actions})

        now = time.time()
        with self.server.lock:
            self.server.counter += 1
            jti = self.server.counter
        claims = {
            "iss": "hoist-token-server",
            "sub": user or "",
            "aud": entry["service"] or cfg.service,
            "iat": now,
            "nbf": now,
            "exp": now + cfg.expires_in,
            "jti": str(jti),
            "access": granted,
        }
        token = sign(cfg.secret, claims)
        doc = {
            "token": token,
            "access_token": token,
            "expires_in": cfg.expires_in,
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            + ".%06dZ" % int((now % 1) * 1e6),
        }
        offline = q.get("offline_token", [""])[0] == "true" or q.get("access_type", [""])[0] == "offline"
        if user is not None and (grant_type is not None or offline):
            doc["refresh_token"] = sign(cfg.secret, {"typ": "refresh", "sub": user, "iat": now})
        entry.update(status=200, granted=granted, expires_in=cfg.expires_in, iat=now, jti=str(jti))
        self.log(entry)
        self.send_json(200, doc)

    def fail(self, entry, status, message):
        entry["status"] = status
        self.log(entry)
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="hoist-test-token"'
        self.send_json(status, {"errors": [{"code": "UNAUTHORIZED" if status == 401 else "DENIED",
                                            "message": message}]}, headers)

    def send_json(self, status, doc, headers=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log(self, entry):
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self.server.lock:
            with open(self.server.cfg.log, "a") as f:
                f.write(line)


def watch_parent(ppid):
    """Exit when the process that started us is gone (belt and braces
    beside lib.sh's setpriv --pdeathsig)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--user", default=os.environ.get("TOKEN_USER", "hoist"))
    ap.add_argument("--password", default=os.environ.get("TOKEN_PASSWORD"))
    ap.add_argument("--secret", default=os.environ.get("TOKEN_SECRET"))
    ap.add_argument("--service", default="hoist-test")
    ap.add_argument("--expires-in", type=int, default=300)
    ap.add_argument("--anonymous-pull", action="store_true")
    ap.add_argument("--deny-push", action="append", default=[])
    ap.add_argument("--deny", action="append", default=[])
    cfg = ap.parse_args()
    if not cfg.password or not cfg.secret:
        ap.error("--password/$TOKEN_PASSWORD and --secret/$TOKEN_SECRET are required")

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = Server((cfg.host, cfg.port), Handler)
    srv.cfg = cfg
    srv.lock = threading.Lock()
    srv.counter = 0
    open(cfg.log, "a").close()
    tmp = cfg.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, cfg.port_file)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
