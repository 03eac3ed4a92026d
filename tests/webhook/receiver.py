"""A real HTTP receiver on 127.0.0.1 that records what it is sent, as an integrator's would."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["memberkit-event-id"]


def verify(secret: str, received: Received) -> bool:
    """Check a delivery's signature the way the README tells integrators to."""
    timestamp = received.headers["memberkit-timestamp"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    scheme, _, given = received.headers["memberkit-signature"].partition("=")
    return scheme == "v1" and hmac.compare_digest(expected, given)


#: An answer: a status code, or (status code, extra headers).
Answer = int | tuple[int, dict[str, str]]


class Receiver:
    """Answers the n-th request (from 0) with ``answer(n)``; records every request first.

    ``hold`` makes the first request wait until :meth:`release` (to kill a worker mid-delivery).
    """

    def __init__(self, answer: Callable[[int], Answer] = lambda _n: 200, hold: bool = False):
        self.answer = answer
        self.received: list[Received] = []
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._hold = hold
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    number = len(receiver.received)
                    receiver.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                receiver.arrived.set()
                if number == 0 and receiver._hold:
                    receiver._released.wait(30)
                answer = receiver.answer(number)
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def release(self) -> None:
        """Let a held first request be answered."""
        self._released.set()

    def types(self) -> list[str]:
        """The event types received, in order."""
        return [r.headers["memberkit-event-type"] for r in self.received]


@contextmanager
def receiving(
    answer: Callable[[int], Answer] = lambda _n: 200, hold: bool = False
) -> Iterator[Receiver]:
    """Run a :class:`Receiver` in a thread for the block."""
    receiver = Receiver(answer, hold=hold)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        receiver.server.shutdown()
        receiver.server.server_close()
