#!/usr/bin/env python3
"""A loopback static file server in the Hugging Face hub layout, with
injectable failures, for tests/test_fetch.c, tests/test_datasets.c and
bench/fetch.sh.

usage: hub_server.py ROOT [--control FILE] [--log FILE]

Binds 127.0.0.1 on a free port, prints the port on stdout, serves ROOT
(URL path = file path under ROOT) with Range support (sendfile).  The
control file (JSON, re-read on every request) maps URL paths to a list of
rules; each rule applies to the first `times` requests of that path
(default: all):

  {"mode": "drop", "after": N}     send full headers, N body bytes, close
  {"mode": "stall", "seconds": S}  send headers, then sleep S seconds
  {"mode": "status", "code": C}    answer C with a short body
  {"mode": "auth", "token": T}     401 unless "Authorization: Bearer T"
  {"mode": "redirect", "to": P}    302 to path P on this server
  {"mode": "etag", "value": V}     X-Linked-Etag: "V" ("auto": the file's sha256;
                                   on a redirect rule's response V must be explicit)

Every request is logged to the log file as one JSON line
{"path", "range", "auth", "status"}.
"""
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ROOT = None
CONTROL = None
LOG = None
lock = threading.Lock()
hits = {}


def rules_for(path):
    if not CONTROL or not os.path.exists(CONTROL):
        return []
    try:
        with open(CONTROL) as f:
            ctl = json.load(f)
    except (OSError, ValueError):
        return []
    out = []
    with lock:
        for i, r in enumerate(ctl.get(path, [])):
            key = (path, i, json.dumps(r, sort_keys=True))
            n = hits.get(key, 0)
            hits[key] = n + 1
            if n < r.get("times", 1 << 60):
                out.append(r)
    return out


def log(entry):
    if LOG:
        with lock, open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_response(self, code, message=None):
        # logged before any byte of the response leaves, so a client that
        # has finished always finds its request in the log
        log({"path": self.req_path, "range": self.headers.get("Range"),
             "auth": self.headers.get("Authorization"), "status": code})
        super().send_response(code, message)

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = unquote(urlsplit(self.path).path)
        self.req_path = path
        self.serve(path, self.headers.get("Range"), self.headers.get("Authorization"),
                   rules_for(path))

    def serve(self, path, rng, auth, rules):
        for r in rules:
            m = r.get("mode")
            if m == "auth" and auth != "Bearer " + r.get("token", ""):
                self.reply(401, b"unauthorized\n")
                return 401
            if m == "status":
                self.reply(r["code"], b"injected error\n")
                return r["code"]
            if m == "redirect":
                hdrs = [("Location", r["to"])]
                for e in rules:
                    if e.get("mode") == "etag":
                        hdrs.append(("X-Linked-Etag", '"%s"' % e["value"]))
                self.reply(302, b"", hdrs)
                return 302
        full = os.path.realpath(os.path.join(ROOT, path.lstrip("/")))
        if not full.startswith(os.path.realpath(ROOT) + os.sep) or not os.path.isfile(full):
            self.reply(404, b"not found\n")
            return 404
        size = os.path.getsize(full)
        start = 0
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= size:
                self.reply(416, b"", [("Content-Range", "bytes */%d" % size)])
                return 416
        code = 206 if start else 200
        self.send_response(code)
        self.send_header("Content-Length", str(size - start))
        self.send_header("Content-Type", "application/octet-stream")
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        for r in rules:
            if r.get("mode") == "etag":
                v = r["value"]
                if v == "auto":
                    with open(full, "rb") as f:
                        v = hashlib.sha256(f.read()).hexdigest()
                self.send_header("X-Linked-Etag", '"%s"' % v)
        self.end_headers()
        if self.command == "HEAD":
            return code
        count = size - start
        for r in rules:
            if r.get("mode") == "stall":
                self.wfile.flush()
                time.sleep(r.get("seconds", 30))
                self.close_connection = True
                return code
            if r.get("mode") == "drop":
                count = min(count, r.get("after", 0))
        self.wfile.flush()
        sock = self.connection
        with open(full, "rb") as f:
            off = start
            end = start + count
            while off < end:
                try:
                    n = os.sendfile(sock.fileno(), f.fileno(), off, min(end - off, 1 << 24))
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return code
                if n == 0:
                    break
                off += n
        if count < size - start:
            self.close_connection = True
            try:
                sock.shutdown(2)
            except OSError:
                pass
        return code


def main():
    global ROOT, CONTROL, LOG
    args = sys.argv[1:]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    ROOT = args[0]
    if "--control" in args:
        CONTROL = args[args.index("--control") + 1]
    if "--log" in args:
        LOG = args[args.index("--log") + 1]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
