"""Latency and throughput of posting orders from 1, 4 and 16 concurrent clients over HTTP.

Every client is a thread with its own keep-alive ``httpx.Client``, posting the API contract's
example order (bench/earn.py) to one real ``memberkit serve`` child process, to members taken
round-robin, one request at a time, as a till does. Each run posts the same number of orders in
total; the table shows the median and 99th-percentile latency, orders per second, and the
throughput and p99 of each run against the one-client run and its own p50. Every order must get
201 and the ledger must balance afterwards, or the run fails.

SQLite always runs, on a temporary file; PostgreSQL runs too when MEMBERKIT_BENCH_DATABASE_URL
(or MEMBERKIT_TEST_DATABASE_URL) names a server, in a database created for the run and dropped
after it.

    .venv/bin/python bench/concurrency.py [--orders 800] [--clients 1,4,16] [--port 8201]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from earn import (
    SERVER_PIDS,
    Setup,
    check_ledger,
    cpu_seconds,
    databases,
    order_body,
    prepare,
    server,
)


@dataclass(frozen=True)
class Run:
    """One run at a number of clients: every request's latency in seconds, and the wall time."""

    kind: str
    clients: int
    latencies: list[float]
    seconds: float
    #: CPU time the server used per order (user + system), robust to other load on the host.
    server_cpu: float

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def memberkit_serve(port: int) -> list[str]:
    """The command line of ``memberkit serve`` on ``port``."""
    return [str(Path(sys.executable).parent / "memberkit"), "serve", "--port", str(port)]


def post_concurrently(setup: Setup, base_url: str, *, clients: int, external_ids: list[str]) -> Run:
    """Post ``external_ids`` from ``clients`` threads at once; every order must get a 201."""
    members = setup.member_nos
    headers = {"Authorization": f"Bearer {setup.api_key}"}
    shares = [external_ids[n::clients] for n in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    ready = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        bodies = [
            order_body(setup, members[(k * clients + number) % len(members)], external_id)
            for k, external_id in enumerate(shares[number])
        ]
        with httpx.Client(base_url=base_url, headers=headers, timeout=120.0) as http:
            http.get("/health")  # open the connection before the clock starts
            ready.wait()
            for body in bodies:
                start = time.perf_counter()
                response = http.post("/api/v1/orders", json=body)
                latencies[number].append(time.perf_counter() - start)
                if response.status_code != 201:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    start, cpu = time.perf_counter(), cpu_seconds(SERVER_PIDS[base_url])
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    cpu = cpu_seconds(SERVER_PIDS[base_url]) - cpu
    if failures:
        raise SystemExit(f"{setup.kind}, {clients} clients: {len(failures)} failed: {failures[0]}")
    return Run(
        setup.kind,
        clients,
        [t for share in latencies for t in share],
        seconds,
        cpu / len(external_ids),
    )


def bench(kind: str, url: str, data_dir: Path, *, args: argparse.Namespace) -> list[Run]:
    setup = prepare(kind, url, data_dir, members=args.members)
    runs = []
    posted = 0
    with server(setup, port=args.port, command=memberkit_serve) as base_url:
        for clients in args.clients:
            warmup = [f"C{clients}-W{n:06d}" for n in range(args.warmup)]
            post_concurrently(setup, base_url, clients=clients, external_ids=warmup)
            timed = [f"C{clients}-{n:06d}" for n in range(args.orders)]
            runs.append(post_concurrently(setup, base_url, clients=clients, external_ids=timed))
            posted += len(warmup) + len(timed)
    check_ledger(setup, orders=posted)
    setup.database.dispose()
    return runs


def print_table(runs: list[Run]) -> None:
    header = (
        "database",
        "clients",
        "orders",
        "p50 ms",
        "p99 ms",
        "p99/p50",
        "orders/s",
        "vs 1 client",
        "server CPU ms/order",
    )
    rows = []
    for run in runs:
        single = next(r for r in runs if r.kind == run.kind and r.clients == 1)
        p50, p99 = run.percentile(0.5), run.percentile(0.99)
        rows.append(
            (
                run.kind,
                str(run.clients),
                f"{len(run.latencies):,}",
                f"{p50 * 1000:.1f}",
                f"{p99 * 1000:.1f}",
                f"{p99 / p50:.1f}×",
                f"{run.rate:,.0f}",
                f"{run.rate / single.rate:.2f}×",
                f"{run.server_cpu * 1000:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=800, help="timed orders per run")
    parser.add_argument("--warmup", type=int, default=64, help="untimed orders before each run")
    parser.add_argument("--members", type=int, default=200, help="members, used round-robin")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 4, 16],
        help="comma-separated client counts; the first should be 1",
    )
    parser.add_argument("--port", type=int, default=8201, help="port of the server")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="run one database")
    args = parser.parse_args()
    if 1 not in args.clients or min(args.clients) < 1 or args.orders < max(args.clients):
        parser.error("--clients must include 1, and --orders be at least the most clients")
    targets = databases(parser, args.only)
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs; {args.members} members round-robin, {args.orders} timed orders "
        f"per run after {args.warmup} warm-up, clients {args.clients} over HTTP to one "
        f"memberkit serve"
    )
    runs: list[Run] = []
    for target in targets:
        with target() as (kind, url, data_dir):
            runs.extend(bench(kind, url, data_dir, args=args))
    print_table(runs)


if __name__ == "__main__":
    main()
