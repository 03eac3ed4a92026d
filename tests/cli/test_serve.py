"""``memberkit serve --workers N``: N processes answer on one port; the scheduler runs once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memberkit.config import settings
from memberkit.db import Database
from tests.cli.test_cli import _memberkit

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started."""
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _server_side_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the TCP connection from ``client_port``, if listed."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], int(fields[9])
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            return inode
    return None


def _holder(pids: set[int], inode: int) -> int | None:
    """Which of ``pids`` holds the socket ``inode`` open (the process that accepted it)."""
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue  # closed meanwhile
    return None


def _get_health(port: int) -> tuple[socket.socket, bytes]:
    """Ask ``GET /health`` on a keep-alive connection; return it (still open) and the answer."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
        chunk = client.recv(4096)
        if not chunk:
            break
        answer += chunk
    return client, answer


@pytest.fixture
def served(
    database: Database, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """``memberkit serve --workers 2`` on a database file of its own, scheduler on."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    assert _memberkit(url, "db", "upgrade").returncode == 0
    port = _free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "MEMBERKIT_DATABASE_URL": url,
        "MEMBERKIT_SECRET_KEY": settings.secret_key,
        "MEMBERKIT_DATA_DIR": str(settings.data_dir),
        "MEMBERKIT_SCHEDULER": "true",
    }
    command = [str(Path(sys.executable).with_name("memberkit")), "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--workers", "2"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while log.read_text().count("Application startup complete.") < 2:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            yield process, port, log
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_two_workers_answer_on_one_port_and_the_scheduler_starts_once(
    served: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    # given the server with two workers, both started
    process, port, log = served
    children = _children(process.pid)

    # when requests come in on connections held open, until two processes have answered
    answered: set[int] = set()
    held: list[socket.socket] = []
    try:
        for _ in range(200):
            client, answer = _get_health(port)
            held.append(client)
            assert answer.startswith(b"HTTP/1.1 200 OK"), answer
            assert answer.endswith(b'{"status":"ok","database":"ok"}'), answer
            inode = _server_side_inode(port, client.getsockname()[1])
            assert inode is not None
            holder = _holder(children, inode)
            assert holder is not None
            answered.add(holder)
            if len(answered) == 2:
                break
    finally:
        for client in held:
            client.close()

    # then two different worker processes, children of the server, answered
    assert len(answered) == 2 and answered <= children
    assert process.pid not in answered
    # and the scheduler started exactly once, in the serving parent, not in each worker
    said = log.read_text()
    assert said.count("scheduler started") == 1, said
    assert said.count("Started server process") == 2, said
