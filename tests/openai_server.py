#!/usr/bin/env python3
"""openai_server.py — a loopback OpenAI-compatible completions server with
scripted, deterministic completions and scripted faults, for
tests/test_remote.c and bench/remote.sh.  Standard library only.

    python3 tests/openai_server.py [--port P] [--script FILE] [--log FILE]
        [--fault none|5xx|400|stall|malformed|drop] [--fault-every M]
        [--fault-times K] [--stall-seconds S] [--die-after N] [--text-only]
        [--bench]

Prints the port on the first line of stdout, then serves POST
/v1/completions on 127.0.0.1 until killed.

Completions depend only on (prompt, seed, max_tokens): a generator seeded
by sha256 of those draws a length and, for half of the requests, the
position of a `</think>` delimiter, and emits ids from the script's word
pool.  Script (JSON): {"words": [[id, "text"], ...], "think": [[ids...],
"</think>"]}.  A completion that fits in max_tokens ends with the first
stop_token_ids entry (finish_reason "stop"); one that does not is cut at
max_tokens ("length").  Responses carry choices[0].text, choices[0].token_ids
(unless --text-only), finish_reason, vLLM's stop_reason, and the header
X-Server-Time (seconds spent building the response).

Faults hit requests whose key (sha256 of the body with the seed) falls
in 1 of M (--fault-every), on their first K attempts (--fault-times):
5xx = HTTP 503; 400 = HTTP 400; stall = sleep S seconds before answering;
malformed = a 200 body that is not JSON; drop = close the connection half
way through the body.  --die-after N: the process exits (abruptly, mid-
response for requests in flight) once N completions have been sent.
--bench: one pre-built response for every request (the ids of a fixed
16-token completion), to measure the client rather than this server.
"""
import argparse
import hashlib
import json
import os
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
SCRIPT = {"words": [[i, " w%d" % i] for i in range(10, 60)], "think": [[5, 6], "</think>"]}
LOCK = threading.Lock()
ATTEMPTS = {}
SENT = [0]
LOGF = None
BENCH_BODY = None


def completion(prompt, seed, max_tokens, stop_ids):
    h = hashlib.sha256(json.dumps([prompt, seed, max_tokens]).encode()).digest()
    rng = random.Random(h)
    words = SCRIPT["words"]
    think_ids, think_text = SCRIPT["think"]
    n = rng.randint(1, max(1, int(max_tokens * 1.3)))
    ids, text = [], []
    cut = rng.randint(0, n) if rng.random() < 0.5 else -1
    for i in range(n):
        if i == cut:
            ids.extend(think_ids)
            text.append(think_text)
        wid, wtext = words[rng.randrange(len(words))]
        ids.append(wid)
        text.append(wtext)
    if len(ids) < max_tokens and stop_ids:
        ids.append(stop_ids[0])
        finish, stop_reason = "stop", stop_ids[0]
        return ids, "".join(text), finish, stop_reason
    if len(ids) < max_tokens:
        return ids, "".join(text), "stop", None
    # cut at max_tokens; the text is rebuilt from the kept ids
    ids = ids[:max_tokens]
    pieces = dict((w[0], w[1]) for w in words)
    out, i = [], 0
    while i < len(ids):
        if ids[i:i + len(think_ids)] == think_ids:
            out.append(think_text)
            i += len(think_ids)
        else:
            out.append(pieces.get(ids[i], ""))
            i += 1
    return ids, "".join(out), "length", None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle
        # plus the client's delayed ACK add 40 ms to every response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *a):
        pass

    def send_json(self, code, obj, extra=None):
        body = (obj if isinstance(obj, bytes) else json.dumps(obj).encode())
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        t0 = time.perf_counter()
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        if BENCH_BODY is not None:
            self.send_json(200, BENCH_BODY, {"X-Server-Time": "%.6f" % (time.perf_counter() - t0)})
            return
        if self.path != "/v1/completions":
            self.send_json(404, {"error": {"message": "no route " + self.path}})
            return
        try:
            req = json.loads(raw)
        except ValueError:
            self.send_json(400, {"error": {"message": "body is not JSON"}})
            return
        key = hashlib.sha256(raw).hexdigest()
        with LOCK:
            ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
            attempt = ATTEMPTS[key]
            if LOGF:
                LOGF.write(json.dumps({"auth": self.headers.get("Authorization"),
                                       "attempt": attempt, "body": req}) + "\n")
                LOGF.flush()
        fault = ARGS.fault
        hit = fault != "none" and int(key[:8], 16) % ARGS.fault_every == 0 \
            and attempt <= ARGS.fault_times
        if hit and fault == "5xx":
            self.send_json(503, {"error": {"message": "scripted overload"}})
            return
        if hit and fault == "400":
            self.send_json(400, {"error": {"message": "scripted bad request"}})
            return
        if hit and fault == "stall":
            time.sleep(ARGS.stall_seconds)
        prompt = req.get("prompt")
        seed = req.get("seed")
        max_tokens = int(req.get("max_tokens", 16))
        stops = req.get("stop_token_ids") or []
        ids, text, finish, stop_reason = completion(prompt, seed, max_tokens, stops)
        choice = {"index": 0, "text": text, "finish_reason": finish, "stop_reason": stop_reason}
        if not ARGS.text_only:
            choice["token_ids"] = ids
        hdr = {"X-Server-Time": "%.6f" % (time.perf_counter() - t0)}
        if hit and fault == "malformed":
            self.send_json(200, b'{"choices": [{"text": "oops", ', hdr)
            return
        try:
            if req.get("stream"):
                self.stream(choice, ids, hit and fault == "drop", hdr)
            else:
                body = json.dumps({"id": "cmpl-" + key[:12], "object": "text_completion",
                                   "model": req.get("model"), "choices": [choice]}).encode()
                if hit and fault == "drop":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.send_json(200, body, hdr)
        except (BrokenPipeError, ConnectionResetError):
            return
        with LOCK:
            SENT[0] += 1
            if ARGS.die_after and SENT[0] >= ARGS.die_after:
                os._exit(0)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def stream(self, choice, ids, drop, hdr):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in hdr.items():
            self.send_header(k, v)
        self.end_headers()
        # a few chunks: ids split in up to 4 parts, text in the first one
        parts = max(1, min(4, len(ids)))
        step = (len(ids) + parts - 1) // parts
        for p in range(parts):
            c = {"index": 0, "text": choice["text"] if p == 0 else "", "finish_reason": None}
            if "token_ids" in choice:
                c["token_ids"] = ids[p * step:(p + 1) * step]
            if p == parts - 1:
                c["finish_reason"] = choice["finish_reason"]
                c["stop_reason"] = choice["stop_reason"]
            if drop and p == parts - 1:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.chunk(b"data: " + json.dumps({"choices": [c]}).encode() + b"\n\n")
        self.chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")


def main():
    global ARGS, SCRIPT, LOGF, BENCH_BODY
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--script")
    ap.add_argument("--log")
    ap.add_argument("--fault", default="none",
                    choices=["none", "5xx", "400", "stall", "malformed", "drop"])
    ap.add_argument("--fault-every", type=int, default=1)
    ap.add_argument("--fault-times", type=int, default=1)
    ap.add_argument("--stall-seconds", type=float, default=5)
    ap.add_argument("--die-after", type=int, default=0)
    ap.add_argument("--text-only", action="store_true")
    ap.add_argument("--bench", action="store_true")
    ARGS = ap.parse_args()
    if ARGS.script:
        with open(ARGS.script) as f:
            SCRIPT = json.load(f)
    if ARGS.log:
        LOGF = open(ARGS.log, "a")
    if ARGS.bench:
        ids = list(range(100, 116))
        BENCH_BODY = json.dumps({"choices": [{"index": 0, "text": "x" * 16, "token_ids": ids,
                                              "finish_reason": "length"}]}).encode()
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
