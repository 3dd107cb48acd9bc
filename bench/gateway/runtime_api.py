#!/usr/bin/env python3
"""A tiny Lambda runtime API (the endpoints a custom runtime calls), to time a function binary
outside AWS.

It starts the binary under `/usr/bin/time -v` with AWS_LAMBDA_RUNTIME_API pointing here, hands
it the same event INVOCATIONS times, and prints one JSON object:

  init_ms        process start -> first `invocation/next` (the runtime is ready)
  cold_start_ms  process start -> first response posted (init + the first event)
  first_event_ms first `next` served -> its response
  warm_p50_ms / warm_p99_ms   the other invocations, `next` served -> response
  peak_rss_kib   `Maximum resident set size` reported by /usr/bin/time
  statuses       the HTTP statuses the function answered, with counts

    runtime_api.py --event events/webhook-gateway/http-api-v2-pull-request.json \
        --invocations 50 -- target/release/webhook-gateway
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class Runtime:
    def __init__(self, event: bytes, invocations: int):
        self.event = event
        self.remaining = invocations
        self.lock = threading.Lock()
        self.served = {}  # request id -> monotonic time the event was handed out
        self.first_next = None
        self.responses = []  # (request id, seconds from serve to response, status)
        self.errors = []
        self.done = threading.Event()

    def next_event(self):
        with self.lock:
            now = time.monotonic()
            if self.first_next is None:
                self.first_next = now
            if self.remaining == 0:
                return None
            self.remaining -= 1
            request_id = str(uuid.uuid4())
            self.served[request_id] = now
            return request_id

    def record(self, request_id, body, error=False):
        now = time.monotonic()
        with self.lock:
            if error:
                self.errors.append(body.decode("utf-8", "replace")[:500])
            else:
                try:
                    status = json.loads(body).get("statusCode")
                except ValueError:
                    status = None
                self.responses.append((request_id, now - self.served.pop(request_id, now), status, now))
            if self.remaining == 0 and not self.served:
                self.done.set()


def handler_for(runtime: Runtime):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real runtime API

        def setup(self):
            super().setup()
            # Headers and body go out as separate writes: without this, Nagle's algorithm and
            # the client's delayed ACK add ~40 ms to every keep-alive exchange.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path != f"{PREFIX}/invocation/next":
                self.send_error(404)
                return
            request_id = runtime.next_event()
            if request_id is None:
                # Out of events: hold the runtime here until the process is stopped.
                runtime.done.wait()
                time.sleep(3600)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                             "arn:aws:lambda:us-east-1:123456789012:function:bench")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")
            self.send_header("Content-Length", str(len(runtime.event)))
            self.end_headers()
            self.wfile.write(runtime.event)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            match = re.fullmatch(rf"{PREFIX}/invocation/([^/]+)/(response|error)", self.path)
            if match:
                runtime.record(match.group(1), body, error=match.group(2) == "error")
            elif self.path == f"{PREFIX}/init/error":
                runtime.errors.append("init: " + body.decode("utf-8", "replace")[:500])
                runtime.done.set()
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


class QuietServer(ThreadingHTTPServer):
    """Stopping the function resets its connection; that is expected, not worth a traceback."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def percentile(values, q):
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(-(-len(ordered) * q // 1)) - 1))
    return ordered[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--event", required=True)
    parser.add_argument("--invocations", type=int, default=50)
    parser.add_argument("--log", default=os.devnull, help="where the function's output goes")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()

    with open(args.event, "rb") as f:
        runtime = Runtime(f.read(), args.invocations)
    server = QuietServer(("127.0.0.1", 0), handler_for(runtime))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    env = dict(os.environ,
               AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench",
               AWS_LAMBDA_LOG_STREAM_NAME="bench", _HANDLER="bootstrap")
    stats = tempfile.NamedTemporaryFile(prefix="time-v.", delete=False)
    log = open(args.log, "ab")
    started = time.monotonic()
    timer = subprocess.Popen(["/usr/bin/time", "-v", "-o", stats.name, *args.command],
                             env=env, stdout=log, stderr=log)
    finished = runtime.done.wait(timeout=120)
    stop(timer)
    log.close()
    server.shutdown()

    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(stats.name).read())
    os.unlink(stats.name)
    if not finished or runtime.errors or not runtime.responses:
        sys.exit(f"runtime_api.py: run incomplete (finished={finished}, errors={runtime.errors})")
    responses = sorted(runtime.responses, key=lambda r: r[3])
    warm = [r[1] * 1000 for r in responses[1:]] or [0.0]
    statuses = {}
    for r in responses:
        statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
    print(json.dumps({
        "init_ms": (runtime.first_next - started) * 1000,
        "cold_start_ms": (responses[0][3] - started) * 1000,
        "first_event_ms": responses[0][1] * 1000,
        "warm_p50_ms": percentile(warm, 0.50),
        "warm_p99_ms": percentile(warm, 0.99),
        "peak_rss_kib": int(peak.group(1)) if peak else None,
        "statuses": statuses,
    }))


def stop(timer: subprocess.Popen):
    """Stops the function (the child of /usr/bin/time), so time reports its figures."""
    try:
        children = open(f"/proc/{timer.pid}/task/{timer.pid}/children").read().split()
    except OSError:
        children = []
    for pid in children:
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        timer.wait(timeout=10)
    except subprocess.TimeoutExpired:
        timer.kill()
        timer.wait()


if __name__ == "__main__":
    main()
