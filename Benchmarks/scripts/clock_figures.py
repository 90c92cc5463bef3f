#!/usr/bin/env python3
"""The durable clock's throughput, measured against a real `troupe serve` (release build).

  due --server BIN [--runs 100000] [--window-s 10]
      Starts `--runs` runs of one-step `wait` workflows (one workflow per whole second of wait),
      as fast as 8 connections create them, each run's wait chosen so that it ends at a random
      moment of a `--window-s` window that opens once the last run is made: every wait is in
      flight together, then they all fall due within the window. Once every run has succeeded,
      reads them all back and prints: how many fired, fires per second (the busiest second and
      the median of the seconds with fires), and each fire's lag (its step's end against its
      start plus its wait, on the server's clock; p50, p99, max), with the server's RSS before
      and at its peak while they were pending.

The server runs on a fresh database in a temporary directory (plans unlimited) and stops after.
"""
import argparse
import json
import os
import random
import sys
import threading
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hardening_figures import Served, in_threads, request, rss_kib, signup  # noqa: E402


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def due(args):
    with Served(args) as served:
        port = served.port
        token = signup(port, "clock")
        # How long making them takes, from the first 1,000: the window opens after it.
        status, _ = request(port, "POST", "/v1/workflows", token,
                            {"slug": "probe", "name": "Probe", "steps": [{"id": "nap", "kind": "wait", "duration_ms": 3_600_000}]})
        assert status == 201, status
        probe_started = time.perf_counter()
        in_threads(port, 1000, lambda conn: request(port, "POST", "/v1/runs", token, {"workflow": "probe"}, conn))
        per_run = (time.perf_counter() - probe_started) / 1000
        longest = int(per_run * args.runs * 1.5) + args.window_s + 5
        for s in range(1, longest + 1):
            status, _ = request(port, "POST", "/v1/workflows", token,
                                {"slug": f"nap-{s}", "name": f"Nap {s}", "steps": [{"id": "nap", "kind": "wait", "duration_ms": s * 1000}]})
            assert status == 201, status
        time.sleep(1)
        before = rss_kib(served.process.pid)
        started = time.perf_counter()
        opens = started + per_run * args.runs * 1.3 + 2
        lock = threading.Lock()
        rng = random.Random(7)

        def run(conn):
            with lock:
                target = opens + rng.random() * args.window_s
            wait_s = min(longest, max(1, round(target - time.perf_counter())))
            status, _ = request(port, "POST", "/v1/runs", token, {"workflow": f"nap-{wait_s}"}, conn)
            assert status == 201, status
        in_threads(port, args.runs, run)
        created_s = time.perf_counter() - started
        peak = rss_kib(served.process.pid)
        while True:
            status, body = request(port, "GET", "/v1/runs?status=running&limit=2", token)
            body["data"] = [item for item in body["data"] if item["workflow"] != "probe"]
            assert status == 200, status
            if not body["data"]:
                break
            peak = max(peak, rss_kib(served.process.pid))
            time.sleep(0.5)
        lags, ends = [], []
        cursor = None
        while True:
            status, page = request(port, "GET", "/v1/runs?limit=200" + (f"&cursor={cursor}" if cursor else ""), token)
            assert status == 200, status
            for item in page["data"]:
                if item["workflow"] == "probe":
                    continue
                step = item["steps"][0]
                wait_s = int(item["workflow"].split("-")[1])
                end = instant(step["finished_at"])
                lags.append((end - instant(step["started_at"]) - wait_s) * 1000)
                ends.append(int(end))
            cursor = page["next_cursor"]
            if not cursor:
                break
        lags.sort()
        per_second = {}
        for end in ends:
            per_second[end] = per_second.get(end, 0) + 1
        busy = sorted(per_second.values())
        print(json.dumps({
            "figure": "due_work_throughput", "runs": args.runs, "fired": len(lags), "created_per_s": round(args.runs / created_s),
            "fires_per_s_busiest": busy[-1], "fires_per_s_median": busy[len(busy) // 2],
            "lag_p50_ms": round(lags[len(lags) // 2], 1), "lag_p99_ms": round(lags[int(len(lags) * 0.99) - 1], 1), "lag_max_ms": round(lags[-1], 1),
            "rss_before_mib": round(before / 1024, 1), "rss_peak_mib": round(peak / 1024, 1),
        }))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("due")
    command.add_argument("--server", required=True)
    command.add_argument("--base", action="store_true", help="a server from before login_address_limits existed")
    command.add_argument("--runs", type=int, default=100_000)
    command.add_argument("--window-s", type=int, default=10)
    args = parser.parse_args()
    due(args)


if __name__ == "__main__":
    main()
