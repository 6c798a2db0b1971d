#!/usr/bin/env python3
"""A loopback stand-in for GitHub's commit status API, for hoist's tests.

status_server.py PORTFILE LOGFILE [STATUS]
Listens on 127.0.0.1 (a free port, written to PORTFILE), answers every
POST with STATUS (default 201) and a JSON body, and appends one JSON line
per request to LOGFILE: method, path, the Authorization, Accept and
X-GitHub-Api-Version headers, and the JSON body it got.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, logfile = sys.argv[1], sys.argv[2]
answer = int(sys.argv[3]) if len(sys.argv) > 3 else 201


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw.decode("latin-1")}
        entry = {
            "method": "POST",
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "accept": self.headers.get("Accept"),
            "api_version": self.headers.get("X-GitHub-Api-Version"),
            "body": body,
        }
        with open(logfile, "a") as f:
            f.write(json.dumps(entry) + "\n")
        reply = json.dumps({"id": 1, "state": body.get("state")}).encode()
        self.send_response(answer)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os

os.rename(portfile + ".tmp", portfile)
server.serve_forever()
