"""The delivery client against real sockets on this machine: one deadline per attempt, the
answer read up to a cap, TLS checked against the host's name, and the SSRF guard: each
attempt resolves its host once, refuses non-public addresses and connects to what it checked.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from pathlib import Path

from memberkit.webhook.sender import MAX_ANSWER_BYTES, Address, Sender
from tests.webhook.receiver import Trickler, certificates, receiving

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def sender(deadline: float = 5, **options: object) -> Sender:
    return Sender(deadline=deadline, connect_timeout=2, **options)  # type: ignore[arg-type]


def test_a_trickling_receiver_is_cut_off_at_the_deadline() -> None:
    # given a receiver whose 200 OK would take 12 s to arrive, a byte every 0.2 s
    with Trickler(pause=0.2) as trickler:
        started = time.monotonic()
        # when an attempt with a 1.5 s deadline is made
        answer = sender(1.5, allowed=LOOPBACK).post(trickler.url, body=b"{}", headers={})
        took = time.monotonic() - started
    # then it fails at the deadline, with no status, whatever the receiver had begun to say
    assert (answer.status_code, answer.error) == (
        None,
        "deadline: no complete answer within 1.5 s",
    )
    assert 1.5 <= took < 1.8
    assert 1500 <= answer.latency_ms < 1800
    assert trickler.connections == 1
    assert 0 < trickler.sent[0] < len(Trickler.ANSWER)


def test_an_answer_is_read_up_to_64_kib_and_not_a_byte_more() -> None:
    # given a 200 whose body is 1 MB: the first 64 KiB at once, then a byte every 0.2 s
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"
    answer = head + b"x" * 1_000_000
    with Trickler(pause=0.2, answer=answer, at_once=len(head) + MAX_ANSWER_BYTES) as trickler:
        got = sender(3, allowed=LOOPBACK).post(trickler.url, body=b"{}", headers={})
    # then the answer counts as soon as 64 KiB of its body are in: the rest is never awaited
    assert (got.status_code, got.error) == (200, None)
    assert got.latency_ms < 1000


def test_a_silent_resolver_cannot_outlast_the_deadline() -> None:
    def hanging(_host: str, _port: int) -> list[Address]:
        time.sleep(3)
        return []

    started = time.monotonic()
    answer = sender(0.5, resolve=hanging).post("https://hooks.example/", body=b"", headers={})
    assert answer.error == "deadline: no complete answer within 0.5 s"
    assert time.monotonic() - started < 0.8


def test_https_is_checked_against_the_host_name_though_the_address_is_connected_to(
    tmp_path: Path,
) -> None:
    tls = certificates(tmp_path)
    with receiving(tls=tls.server) as receiver:
        by_name = f"https://localhost:{receiver.port}/hooks"
        got = sender(allowed=LOOPBACK, tls=tls.client).post(
            by_name, body=b'{"a":1}', headers={"Memberkit-Event-Id": "e1"}
        )
        assert (got.status_code, got.error) == (200, None)
        # the certificate names localhost only: the same receiver by its address is refused
        by_address = f"https://127.0.0.1:{receiver.port}/hooks"
        refused = sender(allowed=LOOPBACK, tls=tls.client).post(by_address, body=b"", headers={})
    [received] = receiver.received
    assert (received.body, received.headers["memberkit-event-id"]) == (b'{"a":1}', "e1")
    assert received.headers["host"] == f"localhost:{receiver.port}"
    assert refused.status_code is None
    assert refused.error is not None and refused.error.startswith("TLSError: ")
    assert "IP address mismatch" in refused.error


def test_names_resolving_to_the_machine_itself_are_refused_without_a_connection() -> None:
    with receiving() as receiver, receiving(host="::1") as six:
        guarded = sender()
        by_name = guarded.post(f"http://localhost:{receiver.port}/hooks", body=b"", headers={})
        literal = guarded.post(receiver.url, body=b"", headers={})
        mapped = guarded.post(
            f"http://[::ffff:127.0.0.1]:{receiver.port}/hooks", body=b"", headers={}
        )
        ipv6 = guarded.post(six.url, body=b"", headers={})
        assert (receiver.connections, six.connections) == (0, 0)
        # and once the deployment allows the loopback network, they are delivered to
        allowed = sender(allowed=LOOPBACK)
        assert allowed.post(receiver.url, body=b"", headers={}).status_code == 200
        assert allowed.post(six.url, body=b"", headers={}).status_code == 200
    assert [(a.status_code, a.error) for a in (by_name, literal, mapped, ipv6)] == [
        (None, "blocked_address: localhost resolves to 127.0.0.1 (loopback)"),
        (None, "blocked_address: 127.0.0.1 (loopback)"),
        (None, "blocked_address: ::ffff:127.0.0.1 (loopback)"),
        (None, "blocked_address: ::1 (loopback)"),
    ]
    assert (receiver.connections, six.connections) == (1, 1)


def test_each_attempt_resolves_once_and_connects_to_the_address_it_checked() -> None:
    # given a name whose answer changes between lookups (DNS rebinding): first the receiver's
    # allowed address, then the cloud metadata service
    with receiving() as receiver:
        answers = [("127.0.0.1", receiver.port), ("169.254.169.254", receiver.port)]
        asked: list[tuple[str, int]] = []

        def rebinding(host: str, port: int) -> list[Address]:
            asked.append((host, port))
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, answers[min(len(asked), 2) - 1])]

        guarded = sender(allowed=LOOPBACK, resolve=rebinding)
        url = f"http://hooks.example:{receiver.port}/hooks"
        first = guarded.post(url, body=b"{}", headers={})
        second = guarded.post(url, body=b"{}", headers={})
    # then the first attempt looked the name up once and went to that address, with the name
    # as its Host; the second, answered with a blocked address, connected nowhere
    assert (first.status_code, first.error) == (200, None)
    assert second.error == "blocked_address: hooks.example resolves to 169.254.169.254 (link-local)"
    assert asked == [("hooks.example", receiver.port)] * 2
    assert [r.headers["host"] for r in receiver.received] == [f"hooks.example:{receiver.port}"]
    assert receiver.connections == 1


def test_a_name_is_refused_if_any_of_its_addresses_is_not_public() -> None:
    def mixed(_host: str, port: int) -> list[Address]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, ("93.184.215.14", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, ("fd00::7", port, 0, 0)),
        ]

    answer = sender(resolve=mixed).post("https://hooks.example/", body=b"", headers={})
    assert answer.error == "blocked_address: hooks.example resolves to fd00::7 (private)"
