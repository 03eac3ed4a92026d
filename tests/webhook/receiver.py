"""A real HTTP receiver on 127.0.0.1 that records what it is sent, as an integrator's would."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    headers: dict[str, str]
    body: bytes
    #: When it arrived (the process's clock, as ``time.time()``).
    at: float = field(default_factory=time.time)
    #: The headers as sent, looked up case-insensitively (as a web framework gives them).
    raw_headers: Any = None

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

    ``hold`` makes the first request wait until :meth:`release` (to kill a worker mid-delivery);
    ``host`` is where it listens (``::1`` for IPv6); ``tls`` serves HTTPS with that context.
    ``connections`` counts the connections accepted, requests or not.
    """

    def __init__(
        self,
        answer: Callable[[int], Answer] = lambda _n: 200,
        hold: bool = False,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ):
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
                        Received(
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            raw_headers=self.headers,
                        )
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

        self.server = _Server((host, 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def connections(self) -> int:
        return self.server.connections

    @property
    def url(self) -> str:
        host = str(self.server.server_address[0])
        return f"{self.scheme}://{f'[{host}]' if ':' in host else host}:{self.port}/hooks"

    def release(self) -> None:
        """Let a held first request be answered."""
        self._released.set()

    def types(self) -> list[str]:
        """The event types received, in order."""
        return [r.headers["memberkit-event-type"] for r in self.received]


class _Server(ThreadingHTTPServer):
    connections = 0

    address_family = socket.AF_INET

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1  # the accepting thread only
        return True


@contextmanager
def receiving(
    answer: Callable[[int], Answer] = lambda _n: 200,
    hold: bool = False,
    host: str = "127.0.0.1",
    tls: ssl.SSLContext | None = None,
) -> Iterator[Receiver]:
    """Run a :class:`Receiver` in a thread for the block."""
    receiver = Receiver(answer, hold=hold, host=host, tls=tls)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        receiver.server.shutdown()
        receiver.server.server_close()


class Trickler:
    """A receiver that answers a byte every ``pause`` seconds, for as long as it is listened to.

    A plain socket server on 127.0.0.1: it reads the request, sends the first ``at_once``
    bytes of ``answer`` at once, then trickles the rest. The default answer is a complete,
    valid ``200 OK`` that takes ``len(ANSWER) × pause`` seconds to arrive in full.
    """

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    def __init__(self, pause: float = 0.2, answer: bytes = ANSWER, at_once: int = 0) -> None:
        self.pause = pause
        self.answer = answer
        self.at_once = at_once
        self.connections = 0
        self.sent: list[int] = []  # bytes sent on each connection before the client left
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _address = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        sent = 0
        with connection:
            connection.settimeout(5)
            try:
                connection.recv(65536)  # the request (small: one read takes it)
                connection.sendall(self.answer[: self.at_once])
                sent = self.at_once
                for byte in self.answer[self.at_once :]:
                    if self._stop.wait(self.pause):
                        break
                    connection.sendall(bytes([byte]))
                    sent += 1
            except OSError:
                pass  # the client hung up
        self.sent.append(sent)

    def __enter__(self) -> Trickler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()


@dataclass(frozen=True)
class Certificates:
    """A test certificate authority and a server certificate it signed for ``localhost``."""

    server: ssl.SSLContext  # serves the certificate
    client: ssl.SSLContext  # trusts the authority, checks host names


def certificates(folder: Path) -> Certificates:
    """Make a CA and a certificate for ``localhost`` (only), as PEM files under ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def issue(subject: str, key: Any, issuer: Any, signer: Any, *, ca: bool) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue("Memberkit test CA", ca_key, None, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue("localhost", key, ca.subject, ca_key, ca=False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "server.pem", folder / "server.key")
    client = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    return Certificates(server=server, client=client)
