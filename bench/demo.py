"""How long `make run` takes on a fresh machine: first answer, and the demo loaded behind it.

Runs what `make run` runs after installing (``memberkit db upgrade``, then ``memberkit serve
--demo-if-empty``) on an empty SQLite database in a temporary data directory, and prints the
seconds until ``GET /health`` first answers, until the demo staff can sign in, and until the
demo is loaded (``"demo": {"state": "loaded"}``); then ``memberkit ledger check``.

    .venv/bin/python bench/demo.py                        # the default demo (5,000 members)
    .venv/bin/python bench/demo.py --members 500 --orders 6000

``--foreground`` also times ``memberkit demo`` alone (what `make run` waited for before the
server started, the figure before this change), in a second empty database.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

MEMBERKIT = str(Path(sys.executable).with_name("memberkit"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=60000)
    parser.add_argument("--foreground", action="store_true")
    args = parser.parse_args()
    sizes = ["--members", str(args.members), "--orders", str(args.orders)]
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp) / "serve")
        begin = time.perf_counter()
        subprocess.run([MEMBERKIT, "db", "upgrade"], env=env, check=True, capture_output=True)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        command = [MEMBERKIT, "serve", "--demo-if-empty", "--port", str(port)]
        command += ["--demo-members", str(args.members), "--demo-orders", str(args.orders)]
        log = (Path(tmp) / "serve.log").open("wb")
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            answered = signed_in = None
            while True:
                try:
                    health = httpx.get(f"{url}/health", timeout=2).json()
                except httpx.TransportError:
                    time.sleep(0.1)
                    continue
                moment = time.perf_counter() - begin
                answered = answered or moment
                demo = health.get("demo", {})
                if signed_in is None and demo.get("stage") != "setup":
                    signed_in = moment
                if demo.get("state") in ("loaded", "failed", "interrupted"):
                    break
                time.sleep(1)
            loaded = time.perf_counter() - begin
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()
        print(
            f"demo {args.members} members, {args.orders} orders on SQLite, {os.cpu_count()} cores"
        )
        print(f"  first answer of GET /health:      {answered:7.1f} s")
        print(f"  demo staff accounts ready:        {signed_in:7.1f} s")
        print(f"  demo {demo.get('state')} in the background:  {loaded:7.1f} s")
        check = subprocess.run([MEMBERKIT, "ledger", "check"], env=env, capture_output=True)
        print(f"  ledger check: exit {check.returncode}, {check.stdout.decode().strip()[-80:]}")
        if args.foreground:
            env = _env(Path(tmp) / "foreground")
            subprocess.run([MEMBERKIT, "db", "upgrade"], env=env, check=True, capture_output=True)
            begin = time.perf_counter()
            subprocess.run([MEMBERKIT, "demo", *sizes], env=env, check=True, capture_output=True)
            alone = time.perf_counter() - begin
            print(f"  memberkit demo alone (foreground): {alone:6.1f} s")


def _env(data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(parents=True)
    return {
        **os.environ,
        "MEMBERKIT_DATA_DIR": str(data_dir),
        "MEMBERKIT_DATABASE_URL": f"sqlite:///{data_dir / 'memberkit.db'}",
        "MEMBERKIT_SCHEDULER": "false",
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
