#!/usr/bin/env python3
"""A reverse HTTP proxy in front of a test registry that injects faults.

    fault_proxy.py --backend http://127.0.0.1:PORT --port-file FILE --log FILE
                   [--plan FILE | --plan-json JSON] [--workdir DIR]
                   [--backend-ca CA.pem] [--tls-cert CRT --tls-key KEY]
                   [--enforce-bearer --realm URL --service S]  (secret: $TOKEN_SECRET)
                   [--redirect-host 127.0.0.2]

It listens on 127.0.0.1 on a port the kernel picks; --port-file gets, once
the socket listens, line 1: the port, line 2: HOST:PORT of the redirect blob
server (empty when the plan has no "redirect" fault).  Bodies are streamed
both ways (Content-Length and chunked uploads, chunked or sized answers);
Host is passed through, so the registry builds Location URLs for the proxy,
and any absolute Location that still names the backend is rewritten to the
proxy.  `Expect: 100-continue` is answered by the proxy itself.

The fault plan is JSON: {"faults": [RULE, ...]} (or just [RULE, ...]).
A RULE matches requests by
  "method": "PUT" or ["PATCH", "PUT"]      (default: any)
  "path":   fnmatch glob on the path, `*` crosses `/` (default "*"),
            e.g. "/v2/*/blobs/uploads/*"
  "query":  fnmatch glob on the raw query string (e.g. "*digest=*")
  "auth":   true / false: only requests with / without Authorization
and picks which of the matching requests get the fault (each rule counts
its own matches, from 1, whether or not another rule acted on them):
  "nth": N or [N, M, ...]   only those
  "first": N                the first N
  "after": N                every one after the Nth
  (none of them)            every matching request: a persistent fault
The first rule in the plan that picks a request acts on it:
  {"action": "status", "status": 503, "headers": {"Retry-After": "1"},
   "body": "text" or {json}}   answer without asking the registry (the
                               request body is read and dropped first);
                               default body: a registry-style error JSON
  {"action": "reset", "after_bytes": N}
                               pass N bytes of the request body on, then
                               reset the client connection (TCP RST) and
                               drop the registry connection; N=0: reset
                               right after the request headers
  {"action": "reset", "after_response_bytes": N}
                               pass the request and N bytes of the answer's
                               body, then reset
  {"action": "close"}          close the connection without an answer (FIN)
  {"action": "delay", "seconds": S}   wait, then pass the request on
  {"action": "token_max_age", "seconds": T}
                               a Bearer token issued (claim iat) more than T
                               seconds ago gets 401 with a Bearer challenge,
                               error="invalid_token"; counting (nth/first/
                               after) counts only such requests
  {"action": "redirect", "status": 307, "reject_auth": false}
                               fetch the answer from the registry; if it is
                               200, keep the body and answer with a redirect
                               to the blob server (--redirect-host, a fresh
                               port), which serves it once asked (Range
                               works) and logs whether Authorization came;
                               reject_auth: it answers 400 to a request that
                               carries Authorization (as S3 does)
  {"action": "headers", "set": {"H": "v"}, "remove": ["H", ...]}
                               pass the request on and edit the answer's
                               headers

--enforce-bearer makes the proxy check what the registry's `silly` auth
does not: a Bearer token signed by token_server.py ($TOKEN_SECRET), for
--service, not expired, granting the request's scope (pull for GET/HEAD,
pull+push for POST/PUT/PATCH, delete for DELETE, pull on the `from`
repository of a mount, registry:catalog:* for /v2/_catalog).  Otherwise:
401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` (and
error="invalid_token" or "insufficient_scope").

Every request is logged to --log as one JSON object a line:
  {"t", "server": "proxy" | "redirect", "method", "path", "query", "status",
   "auth": "bearer" | "basic" | null, "fault": INDEX | null, "action",
   "req_bytes", "resp_bytes", "location", "range", "reset": bool}
"""

import argparse
import base64
import fnmatch
import http.client
import http.server
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from token_server import b64u_decode, parse_scope, verify  # noqa: E402

CHUNK = 65536
HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
       "trailer", "trailers", "transfer-encoding", "upgrade", "expect", "content-length"}
REPO_PATH = re.compile(r"^/v2/(.+)/(manifests|blobs|tags|referrers)(/.*)?$")


class Reset(Exception):
    """The client connection is to be reset (or was lost)."""


class Rule:
    def __init__(self, index, spec):
        self.index = index
        self.spec = spec
        m = spec.get("method")
        self.methods = None if m is None else {x.upper() for x in ([m] if isinstance(m, str) else m)}
        self.path = spec.get("path", "*")
        self.query = spec.get("query")
        self.auth = spec.get("auth")
        self.action = spec.get("action", "status")
        nth = spec.get("nth")
        self.nth = None if nth is None else set([nth] if isinstance(nth, int) else nth)
        self.first = spec.get("first")
        self.after = spec.get("after")
        self.count = 0
        if self.action not in ("status", "reset", "close", "delay", "token_max_age",
                               "redirect", "headers"):
            raise ValueError("fault %d: unknown action %r" % (index, self.action))

    def matches(self, method, path, query, authz):
        if self.methods is not None and method not in self.methods:
            return False
        if not fnmatch.fnmatchcase(path, self.path):
            return False
        if self.query is not None and not fnmatch.fnmatchcase(query, self.query):
            return False
        if self.auth is not None and bool(authz) != bool(self.auth):
            return False
        if self.action == "token_max_age":
            claims = token_claims(authz)
            if claims is None:
                return False
            return time.time() - float(claims.get("iat", 0)) > float(self.spec.get("seconds", 0))
        return True

    def picks(self):
        n = self.count
        if self.nth is not None:
            return n in self.nth
        if self.first is not None:
            return n <= self.first
        if self.after is not None:
            return n > self.after
        return True


def token_claims(authz):
    """The claims of a hoist Bearer token, unverified (for the age check)."""
    if not authz or not authz.lower().startswith("bearer "):
        return None
    parts = authz[7:].strip().split(".")
    if len(parts) != 3:
        return None
    try:
        return json.loads(b64u_decode(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None


def required_scopes(method, path, query):
    """[(type, name, action)] the registry would ask for; [] for /v2/."""
    if path in ("/v2", "/v2/"):
        return []
    if path == "/v2/_catalog":
        return [("registry", "catalog", "*")]
    m = REPO_PATH.match(path)
    if not m:
        return []
    name = m.group(1)
    if method in ("GET", "HEAD", "OPTIONS"):
        need = [("repository", name, "pull")]
    elif method == "DELETE":
        need = [("repository", name, "delete")]
    else:
        need = [("repository", name, "pull"), ("repository", name, "push")]
    q = urllib.parse.parse_qs(query)
    if method == "POST" and q.get("mount") and q.get("from"):
        need.append(("repository", q["from"][0], "pull"))
    return need


def scope_string(need):
    by = {}
    for typ, name, action in need:
        by.setdefault((typ, name), []).append(action)
    return " ".join("%s:%s:%s" % (t, n, ",".join(a)) for (t, n), a in by.items())


class ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 64

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, Reset)):
            return
        super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hoist-fault-proxy"
    timeout = 120

    def log_message(self, fmt, *args):
        pass

    # --- plumbing ------------------------------------------------------

    def handle_expect_100(self):
        self.expect100 = True  # answered when (and if) the body is wanted
        return True

    def setup(self):
        super().setup()
        self.backend = None
        self.expect100 = False

    def finish(self):
        self.close_backend()
        try:
            super().finish()
        except OSError:
            pass

    def close_backend(self):
        if self.backend is not None:
            try:
                self.backend.close()
            except OSError:
                pass
            self.backend = None

    def connect_backend(self):
        if self.backend is None:
            cfg = self.server.cfg
            u = urllib.parse.urlsplit(cfg.backend)
            if u.scheme == "https":
                ctx = ssl.create_default_context(cafile=cfg.backend_ca)
                self.backend = http.client.HTTPSConnection(u.hostname, u.port, timeout=120, context=ctx)
            else:
                self.backend = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        return self.backend

    def reset_client(self):
        """Abort the client connection with a TCP RST."""
        self.close_backend()
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def send_continue(self):
        if self.expect100:
            self.expect100 = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()

    def body_chunks(self):
        """The request body, de-chunked, in pieces; counts self.req_bytes."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            self.send_continue()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise Reset()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return
                left = size
                while left:
                    data = self.rfile.read(min(left, CHUNK))
                    if not data:
                        raise Reset()
                    left -= len(data)
                    self.req_bytes += len(data)
                    yield data
                self.rfile.readline(3)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            if left:
                self.send_continue()
            while left:
                data = self.rfile.read(min(left, CHUNK))
                if not data:
                    raise Reset()
                left -= len(data)
                self.req_bytes += len(data)
                yield data

    def has_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        return "chunked" in te or int(self.headers.get("Content-Length") or 0) > 0

    def drain(self):
        """Read and drop the request body (or close when the client still
        waits for 100 Continue: it will not send the body)."""
        if self.expect100 and self.has_body():
            self.close_connection = True
            self.expect100 = False
            return
        for _ in self.body_chunks():
            pass

    # --- the request ---------------------------------------------------

    def do_any(self):
        u = urllib.parse.urlsplit(self.path)
        self.upath, self.uquery = u.path, u.query
        self.req_bytes = 0
        self.resp_bytes = 0
        authz = self.headers.get("Authorization")
        self.entry = {
            "t": time.time(), "server": "proxy", "method": self.command,
            "path": self.upath, "query": self.uquery, "status": None,
            "auth": authz.split(" ", 1)[0].lower() if authz else None,
            "fault": None, "action": None, "range": self.headers.get("Range"),
            "content_range": self.headers.get("Content-Range"),
            "location": None, "reset": False,
        }
        rule = self.server.pick(self.command, self.upath, self.uquery, authz)
        try:
            if rule is not None:
                self.entry["fault"] = rule.index
                self.entry["action"] = rule.action
                self.apply(rule, authz)
            elif not self.check_bearer(authz):
                pass
            else:
                self.relay(self.forward())
        except Reset:
            self.entry["reset"] = True
            self.reset_client()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.entry["reset"] = True
            self.close_backend()
            self.close_connection = True
        finally:
            self.entry["req_bytes"] = self.req_bytes
            self.entry["resp_bytes"] = self.resp_bytes
            self.server.log(self.entry)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_any

    def apply(self, rule, authz):
        s = rule.spec
        a = rule.action
        if a == "status":
            self.drain()
            body = s.get("body")
            status = int(s.get("status", 503))
            if body is None:
                code = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NAME_UNKNOWN",
                        429: "TOOMANYREQUESTS"}.get(status, "UNAVAILABLE")
                body = {"errors": [{"code": code, "message": "injected fault %d" % rule.index}]}
            self.answer(status, body, s.get("headers") or {})
        elif a == "close":
            self.close_backend()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif a == "reset":
            if "after_response_bytes" in s:
                if self.check_bearer(authz):
                    self.relay(self.forward(), reset_after=int(s["after_response_bytes"]))
            else:
                n = int(s.get("after_bytes", 0))
                if n <= 0:
                    raise Reset()
                self.forward(reset_after=n)
                raise Reset()  # the body was shorter than N: reset anyway
        elif a == "delay":
            time.sleep(float(s.get("seconds", 1)))
            if self.check_bearer(authz):
                self.relay(self.forward())
        elif a == "token_max_age":
            self.drain()
            self.challenge(required_scopes(self.command, self.upath, self.uquery), "invalid_token",
                           "token issued more than %s s ago" % s.get("seconds", 0))
        elif a == "redirect":
            if self.check_bearer(authz):
                self.redirect(rule)
        elif a == "headers":
            if self.check_bearer(authz):
                self.relay(self.forward(), edit=s)

    def answer(self, status, body, headers=None, content_type=None):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            content_type = content_type or "application/json; charset=utf-8"
        else:
            data = (body or "").encode()
            content_type = content_type or "text/plain; charset=utf-8"
        self.send_response_only(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
            self.resp_bytes += len(data)
        self.entry["status"] = status

    # --- bearer enforcement --------------------------------------------

    def challenge(self, need, error, message):
        cfg = self.server.cfg
        value = 'Bearer realm="%s",service="%s"' % (cfg.realm, cfg.service)
        if need:
            value += ',scope="%s"' % scope_string(need)
        if error:
            value += ',error="%s"' % error
        detail = [{"Type": t, "Class": "", "Name": n, "Action": a} for t, n, a in need]
        self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": detail}]},
                    {"WWW-Authenticate": value})

    def check_bearer(self, authz):
        """True to go on; otherwise a 401 was sent."""
        cfg = self.server.cfg
        if not cfg.enforce_bearer:
            return True
        need = required_scopes(self.command, self.upath, self.uquery)
        if not authz or not authz.lower().startswith("bearer "):
            self.drain()
            self.challenge(need, None, "authentication required")
            return False
        claims = verify(cfg.secret, authz[7:].strip())
        now = time.time()
        if claims is None or claims.get("typ") == "refresh":
            why = "token not signed by the test token server"
        elif claims.get("aud") != cfg.service:
            why = "token for another service"
        elif now > float(claims.get("exp", 0)):
            why = "token expired"
        else:
            why = None
        if why:
            self.drain()
            self.challenge(need, "invalid_token", why)
            return False
        granted = set()
        for acc in claims.get("access", []):
            for action in acc.get("actions", []):
                granted.add((acc.get("type"), acc.get("name"), action))
        missing = [n for n in need if n not in granted and (n[0], n[1], "*") not in granted]
        if missing:
            self.drain()
            self.challenge(need, "insufficient_scope", "insufficient scope")
            return False
        return True

    # --- forwarding ----------------------------------------------------

    def forward(self, reset_after=None, drop=(), retried=False):
        """Send the request to the registry; the response, or raise Reset
        once reset_after body bytes went through."""
        conn = self.connect_backend()
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        connection_tokens = {t.strip().lower() for t in (self.headers.get("Connection") or "").split(",")}
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in HOP or lk in connection_tokens or lk in drop:
                continue
            conn.putheader(k, v)
        if "x-forwarded-proto" not in (k.lower() for k in self.headers.keys()):
            conn.putheader("X-Forwarded-Proto", self.server.scheme)
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif self.headers.get("Content-Length") is not None:
            conn.putheader("Content-Length", self.headers["Content-Length"])
        try:
            conn.endheaders()
        except OSError:
            self.close_backend()
            if retried:
                raise
            return self.forward(reset_after, drop, retried=True)
        sent = 0
        try:
            for data in self.body_chunks():
                if reset_after is not None and sent + len(data) >= reset_after:
                    data = data[:reset_after - sent]
                    if data:
                        conn.send(("%x\r\n" % len(data)).encode() + data + b"\r\n" if chunked else data)
                    self.req_bytes = reset_after  # what went on, not what was read
                    raise Reset()
                sent += len(data)
                conn.send(("%x\r\n" % len(data)).encode() + data + b"\r\n" if chunked else data)
            if chunked:
                conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            # The registry answered early; read what it said.  The rest of
            # the client's body is unread: no keep-alive after this.
            self.close_connection = True
        try:
            return conn.getresponse()
        except (http.client.HTTPException, OSError) as e:
            self.close_backend()
            if not retried and self.req_bytes == 0 and not self.has_body():
                # A kept-alive registry connection that went away: one retry.
                return self.forward(reset_after, drop, retried=True)
            self.answer(502, {"errors": [{"code": "UNAVAILABLE", "message": "backend: %s" % e}]})
            return None

    def rewrite_location(self, value):
        u = urllib.parse.urlsplit(value)
        b = urllib.parse.urlsplit(self.server.cfg.backend)
        if u.netloc and u.netloc == b.netloc:
            host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
            value = urllib.parse.urlunsplit((self.server.scheme, host, u.path, u.query, u.fragment))
        return value

    def relay(self, resp, reset_after=None, edit=None):
        if resp is None:
            return
        status = resp.status
        self.entry["status"] = status
        self.send_response_only(status, resp.reason)
        remove = {h.lower() for h in (edit or {}).get("remove", [])}
        seth = (edit or {}).get("set", {})
        setl = {k.lower() for k in seth}
        length = resp.getheader("Content-Length")
        bodyless = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        for k, v in resp.getheaders():
            lk = k.lower()
            if lk in HOP or lk in remove or lk in setl:
                continue
            if lk == "location":
                v = self.rewrite_location(v)
                self.entry["location"] = v
            self.send_header(k, v)
        for k, v in seth.items():
            self.send_header(k, v)
        chunked_out = False
        if bodyless:
            if length is not None:
                self.send_header("Content-Length", length)
        elif length is not None:
            self.send_header("Content-Length", length)
        elif resp.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            chunked_out = True
        else:
            self.close_connection = True
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if bodyless:
            resp.read()
        else:
            while True:
                want = CHUNK
                if reset_after is not None:
                    want = max(0, min(CHUNK, reset_after - self.resp_bytes))
                    if want == 0:
                        self.wfile.flush()
                        raise Reset()
                data = resp.read(want)
                if not data:
                    break
                self.wfile.write(("%x\r\n" % len(data)).encode() + data + b"\r\n" if chunked_out else data)
                self.resp_bytes += len(data)
            if chunked_out:
                self.wfile.write(b"0\r\n\r\n")
            if reset_after is not None:
                raise Reset()  # shorter than N: reset at the end anyway
        if resp.will_close:
            self.close_backend()

    def redirect(self, rule):
        resp = self.forward(drop=("range", "if-range"))
        if resp is None:
            return
        if resp.status != 200 or self.command != "GET":
            return self.relay(resp)
        blob_id = uuid.uuid4().hex
        path = os.path.join(self.server.cfg.workdir, "redirect-" + blob_id)
        with open(path, "wb") as f:
            while True:
                data = resp.read(CHUNK)
                if not data:
                    break
                f.write(data)
        if resp.will_close:
            self.close_backend()
        self.server.blobs[blob_id] = {
            "path": path,
            "reject_auth": bool(rule.spec.get("reject_auth")),
            "type": resp.getheader("Content-Type") or "application/octet-stream",
            "digest": resp.getheader("Docker-Content-Digest"),
        }
        location = "http://%s/blob/%s?X-Hoist-Signature=%s" % (self.server.redirect_addr, blob_id,
                                                               uuid.uuid4().hex)
        self.entry["location"] = location
        self.answer(int(rule.spec.get("status", 307)), "", {"Location": location})


class BlobHandler(http.server.BaseHTTPRequestHandler):
    """The 'other host' of redirected blobs (a stand-in for a CDN/S3)."""
    protocol_version = "HTTP/1.1"
    server_version = "hoist-redirect-blobs"
    timeout = 120

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        proxy = self.server.proxy
        u = urllib.parse.urlsplit(self.path)
        authz = self.headers.get("Authorization")
        entry = {"t": time.time(), "server": "redirect", "method": self.command, "path": u.path,
                 "query": u.query, "auth": authz.split(" ", 1)[0].lower() if authz else None,
                 "range": self.headers.get("Range"), "status": None, "resp_bytes": 0,
                 "fault": None, "action": None, "reset": False}
        try:
            self.serve(proxy, u, authz, entry)
        finally:
            proxy.log(entry)

    do_HEAD = do_GET

    def plain(self, entry, status, text, ctype="text/plain"):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        entry["status"] = status

    def serve(self, proxy, u, authz, entry):
        m = re.match(r"^/blob/([0-9a-f]+)$", u.path)
        blob = proxy.blobs.get(m.group(1)) if m else None
        if blob is None:
            return self.plain(entry, 404, "no such blob\n")
        if authz and blob["reject_auth"]:
            return self.plain(entry, 400, "<Error><Code>InvalidArgument</Code><Message>Only one auth "
                              "mechanism allowed</Message></Error>", "application/xml")
        size = os.path.getsize(blob["path"])
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng:
            mr = re.match(r"^bytes=(\d*)-(\d*)$", rng.strip())
            if not mr or (mr.group(1) == "" and mr.group(2) == ""):
                return self.plain(entry, 416, "bad range\n")
            if mr.group(1) == "":
                start = max(0, size - int(mr.group(2)))
            else:
                start = int(mr.group(1))
                if mr.group(2):
                    end = min(end, int(mr.group(2)))
            if start >= size or start > end:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                entry["status"] = 416
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", blob["type"])
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if blob["digest"]:
            self.send_header("ETag", '"%s"' % blob["digest"])
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        entry["status"] = status
        if self.command == "HEAD":
            return
        with open(blob["path"], "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left:
                data = f.read(min(left, CHUNK))
                if not data:
                    break
                self.wfile.write(data)
                left -= len(data)
                entry["resp_bytes"] += len(data)


class Proxy(ProxyServer):
    def setup_proxy(self, cfg, rules):
        self.cfg = cfg
        self.rules = rules
        self.lock = threading.Lock()
        self.log_lock = threading.Lock()
        self.blobs = {}
        self.redirect_addr = ""
        self.scheme = "https" if cfg.tls_cert else "http"

    def pick(self, method, path, query, authz):
        with self.lock:
            chosen = None
            for r in self.rules:
                if r.matches(method, path, query, authz):
                    r.count += 1
                    if chosen is None and r.picks():
                        chosen = r
            return chosen

    def log(self, entry):
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self.log_lock:
            with open(self.cfg.log, "a") as f:
                f.write(line)


def watch_parent(ppid):
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", required=True)
    ap.add_argument("--backend-ca")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--plan")
    ap.add_argument("--plan-json")
    ap.add_argument("--workdir")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--enforce-bearer", action="store_true")
    ap.add_argument("--realm", default="")
    ap.add_argument("--service", default="hoist-test")
    ap.add_argument("--secret", default=os.environ.get("TOKEN_SECRET"))
    ap.add_argument("--redirect-host", default="127.0.0.2")
    cfg = ap.parse_args()
    if cfg.enforce_bearer and not cfg.secret:
        ap.error("--enforce-bearer needs $TOKEN_SECRET or --secret")
    plan = {"faults": []}
    if cfg.plan:
        with open(cfg.plan) as f:
            plan = json.load(f)
    elif cfg.plan_json:
        plan = json.loads(cfg.plan_json)
    if isinstance(plan, list):
        plan = {"faults": plan}
    rules = [Rule(i, spec) for i, spec in enumerate(plan.get("faults", []))]
    cfg.workdir = cfg.workdir or os.path.dirname(os.path.abspath(cfg.log))

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = Proxy((cfg.host, cfg.port), Handler)
    srv.setup_proxy(cfg, rules)
    if cfg.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cfg.tls_cert, cfg.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    threads = [srv]
    if any(r.action == "redirect" for r in rules):
        try:
            blobs = ProxyServer((cfg.redirect_host, 0), BlobHandler)
        except OSError:
            blobs = ProxyServer(("127.0.0.1", 0), BlobHandler)
        blobs.proxy = srv
        srv.redirect_addr = "%s:%d" % blobs.server_address[:2]
        threads.append(blobs)
    open(cfg.log, "a").close()
    tmp = cfg.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n%s\n" % (srv.server_address[1], srv.redirect_addr))
    os.rename(tmp, cfg.port_file)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    for s in threads[1:]:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
