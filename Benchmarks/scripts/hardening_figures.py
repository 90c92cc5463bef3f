#!/usr/bin/env python3
"""The figures of the hardening work, measured against a real `troupe serve` (release build).

  streams  --server BIN [--streams 30] [--events 40] [--output-kib 60]
      Fills a workspace with `--events` step.succeeded events of `--output-kib` KiB each, then
      opens `--streams` event streams resumed from before them that never read (a 4 KiB
      receive buffer). Prints the server's RSS before and after, and the growth per stream.

  verify   --server BIN [--entries 100000] [--requests 2000]
      Gives workspace A an audit chain of `--entries` entries, then times workspace B's
      `GET /v1/runs` (`--requests` sequential requests) alone and while two loops of A's
      `GET /v1/audit/verify` run. Prints p50 and p99 of both and their ratio.

  usage    --server BIN [--runs 100000] [--requests 200]
      Gives a workspace `--runs` runs, each with a completed job that reported tokens and cost,
      then times its `GET /v1/usage` over the widest period (366 days; `--requests` sequential
      requests). Prints p50 and p99.

  waits    --server BIN [--runs 100000] [--wait-s 600]
      Starts `--runs` runs of a one-step workflow that waits `--wait-s` seconds, then prints the
      server's RSS growth per 1,000 pending waits. With `--overdue`, stops the server once they
      are started, moves nothing, and times a restart with the clock past them: how long until
      every run has succeeded (the waits fired after the restart, per second). Needs a server
      whose waits survive a restart (rows of `due_work`) for `--overdue`.

Each starts the server on a fresh database in a temporary directory and stop it after; plans are
unlimited and the per-address login limits off, so only the figure under test is measured.
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

CONFIG = {"signup": True, "password_iterations": 1000, "max_body_bytes": 4 << 20,
          "plans": {p: {"requests_per_minute": None, "requests_per_day": None, "active_runs": None}
                    for p in ("starter", "growth", "enterprise")}}


def start(binary, directory, login_limits_key=True):
    config = dict(CONFIG)
    if login_limits_key:
        config["login_address_limits"] = None
    path = os.path.join(directory, "config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    process = subprocess.Popen([binary, "serve", "--port", "0", "--db", os.path.join(directory, "troupe.db"), "--config", path],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("troupe listening on http://127.0.0.1:"):
            return process, int(line.strip().rsplit(":", 1)[1])
    raise SystemExit("the server did not start")


class Served:
    """A server on a fresh database in a temporary directory for the length of a `with`, which
    may be restarted on that database; stopped at the end."""

    def __init__(self, args):
        self.args = args

    def __enter__(self):
        self.folder = tempfile.TemporaryDirectory()
        self.directory = self.folder.__enter__()
        self.process, self.port = start(self.args.server, self.directory, login_limits_key=not self.args.base)
        return self

    def stop(self):
        self.process.terminate()
        self.process.wait()

    def restart(self):
        self.stop()
        self.process, self.port = start(self.args.server, self.directory, login_limits_key=not self.args.base)

    def __exit__(self, *failure):
        self.stop()
        return self.folder.__exit__(*failure)


def request(port, method, path, token=None, body=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    reply = conn.getresponse()
    data = reply.read()
    if own:
        conn.close()
    return reply.status, (json.loads(data) if data else None)


def signup(port, name):
    status, body = request(port, "POST", "/v1/auth/signup",
                           body={"email": f"{name}-{time.time_ns()}@example.com", "password": "correct horse battery", "workspace_name": name})
    assert status == 201, (status, body)
    return body["token"]


def in_threads(port, total, work, threads=8):
    """Calls `work(conn)` `total` times in all, from `threads` threads with a connection each."""
    made = [0]
    lock = threading.Lock()

    def loop():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if made[0] >= total:
                    return
                made[0] += 1
            work(conn)
    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def streams(args):
    with Served(args) as served:
        port = served.port
        token = signup(port, "streams")
        status, _ = request(port, "POST", "/v1/workflows", token, {"slug": "one", "name": "One", "steps": [{"id": "t", "kind": "task"}]})
        assert status == 201
        blob = "x" * (args.output_kib * 1024 - 64)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(args.events):
            status, run = request(port, "POST", "/v1/runs", token, {"workflow": "one"}, conn)
            assert status == 201, run
            status, job = request(port, "POST", "/v1/jobs/claim", token, {"queues": ["default"], "worker_id": "w"}, conn)
            assert status == 200, job
            status, done = request(port, "POST", f"/v1/jobs/{job['id']}/complete", token,
                                   {"lease_token": job["lease_token"], "output": {"blob": blob}}, conn)
            assert status == 200, (status, str(done)[:300])
        time.sleep(1)
        before = rss_kib(served.process.pid)
        sockets = []
        for _ in range(args.streams):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(f"GET /v1/events/stream?after=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            sockets.append(s)
        time.sleep(args.settle)
        after = rss_kib(served.process.pid)
        print(json.dumps({"figure": "rss_per_non_reading_stream", "streams": args.streams, "events": args.events,
                          "event_kib": args.output_kib, "rss_before_mib": round(before / 1024, 1), "rss_after_mib": round(after / 1024, 1),
                          "per_stream_mib": round((after - before) / 1024 / args.streams, 2)}))
        for s in sockets:
            s.close()


def verify(args):
    with Served(args) as served:
        port = served.port
        a = signup(port, "chain")
        b = signup(port, "quiet")
        for _ in range(20):
            request(port, "POST", "/v1/jobs", b, {"queue": "q"})
        def job(conn):
            status, _ = request(port, "POST", "/v1/jobs", a, {"queue": "q"}, conn)
            assert status == 201
        in_threads(port, args.entries, job)
        stop = threading.Event()
        verified = [0, 0]

        def verify_loop():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            while not stop.is_set():
                status, body = request(port, "GET", "/v1/audit/verify", a, None, conn)
                verified[0 if status == 200 else 1] += 1
                if status == 429:
                    time.sleep(1)  # as Retry-After says: a client that honours it

        def timed():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                status, _ = request(port, "GET", "/v1/runs?limit=20", b, None, conn)
                times.append((time.perf_counter() - started) * 1000)
                assert status == 200
            times.sort()
            return times[len(times) // 2], times[int(len(times) * 0.99) - 1]

        alone = timed()
        loops = [threading.Thread(target=verify_loop) for _ in range(2)]
        for t in loops:
            t.start()
        time.sleep(0.5)
        loaded = timed()
        stop.set()
        for t in loops:
            t.join()
        print(json.dumps({"figure": "quiet_get_runs_beside_two_verify_loops", "entries": args.entries, "requests": args.requests,
                          "alone_p50_ms": round(alone[0], 2), "alone_p99_ms": round(alone[1], 2),
                          "loaded_p50_ms": round(loaded[0], 2), "loaded_p99_ms": round(loaded[1], 2),
                          "p99_ratio": round(loaded[1] / alone[1], 2), "verifies_answered": verified[0], "verifies_refused": verified[1]}))


def usage(args):
    with Served(args) as served:
        port = served.port
        token = signup(port, "busy")
        status, _ = request(port, "POST", "/v1/workflows", token,
                            {"slug": "one", "name": "One", "steps": [{"id": "a", "kind": "task", "queue": "q"}]})
        assert status == 201, status
        def run_and_complete(conn):
            status, _ = request(port, "POST", "/v1/runs", token, {"workflow": "one"}, conn)
            assert status == 201, status
            status, job = request(port, "POST", "/v1/jobs/claim", token, {"queues": ["q"], "worker_id": "w"}, conn)
            if status == 200 and job:
                request(port, "POST", "/v1/jobs/%s/complete" % job["id"], token,
                        {"lease_token": job["lease_token"], "output": {},
                         "usage": {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.001}}, conn)
        in_threads(port, args.runs, run_and_complete)
        today = time.gmtime()
        since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 365 * 86400))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        times = []
        body = None
        for _ in range(args.requests):
            started = time.perf_counter()
            status, body = request(port, "GET", "/v1/usage?from=%s&to=%s" % (since, time.strftime("%Y-%m-%d", today)), token, None, conn)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200, status
        times.sort()
        print(json.dumps({"figure": "usage_over_366_days", "runs": args.runs, "requests": args.requests,
                          "runs_created": body["runs_created"], "jobs_completed": body["jobs_completed"],
                          "p50_ms": round(times[len(times) // 2], 2), "p99_ms": round(times[int(len(times) * 0.99) - 1], 2)}))


def waits(args):
    with Served(args) as served:
        port = served.port
        token = signup(port, "sleepy")
        status, _ = request(port, "POST", "/v1/workflows", token,
                            {"slug": "nap", "name": "Nap", "steps": [{"id": "nap", "kind": "wait", "duration_ms": args.wait_s * 1000}]})
        assert status == 201, status
        time.sleep(1)
        before = rss_kib(served.process.pid)

        def run(conn):
            status, _ = request(port, "POST", "/v1/runs", token, {"workflow": "nap"}, conn)
            assert status == 201, status
        started = time.perf_counter()
        in_threads(port, args.runs, run)
        created_s = time.perf_counter() - started
        time.sleep(3)
        after = rss_kib(served.process.pid)
        figure = {"figure": "pending_waits", "runs": args.runs, "created_per_s": round(args.runs / created_s),
                  "rss_before_mib": round(before / 1024, 1), "rss_after_mib": round(after / 1024, 1),
                  "rss_kib_per_1000_waits": round((after - before) / (args.runs / 1000), 1)}
        if args.overdue:
            served.stop()
            time.sleep(args.wait_s + 1)
            restarted = time.perf_counter()
            served.restart()
            port = served.port
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while True:
                status, body = request(port, "GET", "/v1/runs?status=running&limit=1", token, None, conn)
                assert status == 200, status
                if not body["data"]:
                    break
                time.sleep(0.2)
            fired_s = time.perf_counter() - restarted
            figure.update({"overdue_fired_s": round(fired_s, 2), "overdue_fired_per_s": round(args.runs / fired_s)})
        print(json.dumps(figure))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", required=True)
    common.add_argument("--base", action="store_true", help="a server from before login_address_limits existed")
    sub = parser.add_subparsers(dest="command", required=True)
    options = {
        "streams": [("--streams", int, 30), ("--events", int, 40), ("--output-kib", int, 60), ("--settle", float, 3.0)],
        "verify": [("--entries", int, 100_000), ("--requests", int, 2000)],
        "usage": [("--runs", int, 100_000), ("--requests", int, 200)],
        "waits": [("--runs", int, 100_000), ("--wait-s", int, 600)],
    }
    for command, arguments in options.items():
        command_parser = sub.add_parser(command, parents=[common])
        for name, kind, default in arguments:
            command_parser.add_argument(name, type=kind, default=default)
        if command == "waits":
            command_parser.add_argument("--overdue", action="store_true")
    args = parser.parse_args()
    {"streams": streams, "verify": verify, "usage": usage, "waits": waits}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
