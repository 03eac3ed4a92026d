"""The HTTP client of deliveries: one POST to a checked address, within one total deadline.

A general client (httpx) bounds each read, not an attempt, so a receiver that answers a byte
at a time holds it for as long as it likes; and it resolves the host itself, after any check
made before (DNS rebinding). Here one attempt is, every step with what is left of the
deadline as its timeout:

1. resolve the host, once (in a helper thread: a hanging resolver cannot outlast the deadline);
2. refuse it if any of its addresses may not receive deliveries (:func:`rules.blocked`): no
   connection is made;
3. connect to those very addresses (TLS with the host's name, for SNI and the certificate);
4. send the request (HTTP/1.1 framed by h11, ``Connection: close``) and read the answer: its
   head, and at most :data:`MAX_ANSWER_BYTES` of its body, which is discarded.

Redirects are not followed: a 3xx is an answer like any other.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import h11
import httpx

from memberkit.config import settings
from memberkit.webhook import rules

#: The most of an answer's body that is read; the rest is never received.
MAX_ANSWER_BYTES = 64 * 1024
#: The most of an answer's head (status line and headers) that is read.
MAX_HEAD_BYTES = 16 * 1024
_CHUNK = 16 * 1024

#: An address to connect to, as ``socket.getaddrinfo`` gives it: (family, type, proto, sockaddr).
Address = tuple[socket.AddressFamily, socket.SocketKind, int, Any]
#: Resolves (host, port) to its addresses; raises ``OSError`` when it cannot.
Resolver = Callable[[str, int], Sequence[Address]]


def system_resolver(host: str, port: int) -> list[Address]:
    """Resolve ``host`` with the system resolver (TCP addresses only)."""
    return [
        (family, kind, proto, sockaddr)
        for family, kind, proto, _name, sockaddr in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    ]


@cache
def default_tls() -> ssl.SSLContext:
    """The TLS context of deliveries: certificates checked against the usual trust store."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Answer:
    """What an HTTP attempt got: a status code, or an error; and how long it took."""

    status_code: int | None
    latency_ms: int
    error: str | None = None


class _Failed(Exception):
    """An attempt that ended without an answer; ``str()`` is what the delivery log says."""


class _Clock:
    """One attempt's deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.ends = self.started + seconds

    def left(self) -> float:
        """Return the seconds left; raise the deadline failure when none are."""
        left = self.ends - time.monotonic()
        if left <= 0:
            raise self.passed()
        return left

    def passed(self) -> _Failed:
        """The failure of an attempt that ran out of time."""
        return _Failed(f"deadline: no complete answer within {self.seconds:g} s")

    def elapsed_ms(self) -> int:
        """Milliseconds since the attempt started."""
        return int((time.monotonic() - self.started) * 1000)


@dataclass(frozen=True)
class Sender:
    """Sends deliveries: ``deadline`` seconds per attempt, to public addresses or ``allowed``."""

    deadline: float
    connect_timeout: float
    allowed: tuple[rules.IPNetwork, ...] = ()
    tls: ssl.SSLContext | None = None
    resolve: Resolver = field(default=system_resolver)

    @classmethod
    def from_settings(cls) -> Sender:
        """The sender the deployment's settings describe."""
        return cls(
            deadline=settings.webhook_deadline_seconds,
            connect_timeout=settings.webhook_connect_timeout,
            allowed=settings.webhook_allowed_networks,
        )

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> Answer:
        """POST ``body`` to ``url`` and return the answer's status; never raises for the network.

        The answer counts only if it is complete (its head, and its body up to
        :data:`MAX_ANSWER_BYTES`) within the deadline.
        """
        clock = _Clock(self.deadline)
        try:
            status = self._post(clock, url, body=body, headers=headers)
        except _Failed as exc:
            return Answer(None, clock.elapsed_ms(), str(exc)[:500])
        return Answer(status, clock.elapsed_ms())

    def _post(self, clock: _Clock, url: str, *, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            target = httpx.URL(url)
            host = target.raw_host.decode("ascii")
            authority = target.netloc.decode("ascii")
            path = target.raw_path.decode("ascii")
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise _Failed(f"InvalidURL: {exc}") from None
        https = target.scheme == "https"
        port = target.port or (443 if https else 80)
        addresses = self._addresses(clock, host, port)
        connection = self._connect(clock, addresses)
        try:
            if https:
                connection = self._secure(clock, connection, host)
            return self._exchange(
                clock,
                connection,
                h11.Request(
                    method="POST",
                    target=path,
                    headers=[
                        ("Host", authority),
                        *headers.items(),
                        ("Content-Length", str(len(body))),
                        ("Connection", "close"),
                    ],
                ),
                body,
            )
        finally:
            connection.close()

    def _addresses(self, clock: _Clock, host: str, port: int) -> list[Address]:
        """Resolve ``host`` once and check every address it has; refuse it if one is blocked."""
        found: list[Sequence[Address] | OSError] = []

        def resolve() -> None:
            try:
                found.append(self.resolve(host, port))
            except OSError as exc:
                found.append(exc)

        thread = threading.Thread(target=resolve, name="memberkit-resolve", daemon=True)
        thread.start()
        thread.join(clock.left())
        if not found:
            raise clock.passed()
        [answer] = found
        if isinstance(answer, OSError):
            raise _Failed(f"ConnectError: cannot resolve {host}: {answer}")
        addresses = list(dict.fromkeys(answer))
        if not addresses:
            raise _Failed(f"ConnectError: {host} has no address")
        for *_kind, sockaddr in addresses:
            address = ipaddress.ip_address(sockaddr[0])
            why = rules.blocked(address, allowed=self.allowed)
            if why is not None:
                literal = rules.literal_address(host) == address
                named = host if literal else f"{host} resolves to {address}"
                raise _Failed(f"blocked_address: {named} ({why})")
        return addresses

    def _connect(self, clock: _Clock, addresses: list[Address]) -> socket.socket:
        """Connect to the first of ``addresses`` that accepts, each within the connect timeout."""
        failure = _Failed("ConnectError: no address to connect to")
        for family, kind, proto, sockaddr in addresses:
            connection = socket.socket(family, kind, proto)
            timeout = min(self.connect_timeout, clock.left())
            connection.settimeout(timeout)
            try:
                connection.connect(sockaddr)
            except TimeoutError:
                connection.close()
                clock.left()
                failure = _Failed(
                    f"ConnectTimeout: {sockaddr[0]} did not answer within {timeout:g} s"
                )
            except OSError as exc:
                connection.close()
                failure = _Failed(f"ConnectError: {exc}")
            else:
                return connection
        raise failure

    def _secure(self, clock: _Clock, connection: socket.socket, host: str) -> ssl.SSLSocket:
        """Start TLS on ``connection``, checking the certificate against ``host``."""
        with _step(clock, "TLSError"):
            connection.settimeout(clock.left())
            return (self.tls or default_tls()).wrap_socket(connection, server_hostname=host)

    def _exchange(
        self, clock: _Clock, connection: socket.socket, request: h11.Request, body: bytes
    ) -> int:
        """Send the request and read the answer's head and some of its body; returns its status."""
        protocol = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        with _step(clock, "ProtocolError"):
            out = (
                protocol.send(request)
                + protocol.send(h11.Data(data=body))
                + protocol.send(h11.EndOfMessage())
            )
        with _step(clock, "WriteError"):
            view = memoryview(out)
            while view:
                connection.settimeout(clock.left())
                view = view[connection.send(view) :]
        status: int | None = None
        budget = MAX_HEAD_BYTES + MAX_ANSWER_BYTES
        read = 0
        with _step(clock, "ReadError"):
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    if budget <= 0:
                        break
                    connection.settimeout(clock.left())
                    data = connection.recv(min(_CHUNK, budget))
                    budget -= len(data)
                    protocol.receive_data(data)
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    read += len(event.data)
                    if read >= MAX_ANSWER_BYTES or budget <= 0:
                        break
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
        if status is None:
            raise _Failed("ProtocolError: the connection closed before an answer")
        return status


@contextmanager
def _step(clock: _Clock, name: str) -> Iterator[None]:
    """Turn what a step raises into the failure the delivery log records."""
    try:
        yield
    except TimeoutError:
        raise clock.passed() from None
    except ssl.SSLError as exc:
        raise _Failed(f"TLSError: {exc}") from None
    except h11.ProtocolError as exc:
        raise _Failed(f"ProtocolError: {exc}") from None
    except OSError as exc:
        raise _Failed(f"{name}: {exc}") from None
