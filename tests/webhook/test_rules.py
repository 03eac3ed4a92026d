"""Pure webhook rules: signatures, back-off with jitter, giving up, allowed URLs and addresses."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime, timedelta
from random import Random

import pytest

from memberkit.kit.i18n import TextError
from memberkit.webhook import rules

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    payload = b'{"id":"e1"}'
    expected = hmac.new(b"whsec_x", b'1764590400.{"id":"e1"}', hashlib.sha256).hexdigest()
    assert rules.signature("whsec_x", timestamp=1764590400, payload=payload) == f"v1={expected}"
    headers = rules.headers(
        "whsec_x", event_id="e1", event_type="order.posted", timestamp=1764590400, payload=payload
    )
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "Memberkit-Webhooks/1",
        "Memberkit-Event-Id": "e1",
        "Memberkit-Event-Type": "order.posted",
        "Memberkit-Timestamp": "1764590400",
        "Memberkit-Signature": f"v1={expected}",
    }


def test_the_body_is_compact_utf8_json() -> None:
    assert (
        rules.body(
            event_id="e1",
            type="tier.changed",
            program="default",
            member_no="800000000018",
            occurred_at="2026-11-22T10:00:00+08:00",
            data={"to_tier": "金卡"},
        )
        == (
            '{"id":"e1","type":"tier.changed","program":"default","member_no":"800000000018",'
            '"occurred_at":"2026-11-22T10:00:00+08:00","data":{"to_tier":"金卡"}}'
        ).encode()
    )


@pytest.mark.parametrize(
    ("code", "ok"),
    [(200, True), (204, True), (299, True), (301, False), (404, False), (None, False)],
)
def test_only_2xx_is_delivered(code: int | None, ok: bool) -> None:
    assert rules.delivered(code) is ok


def test_backoff_doubles_is_capped_and_jittered_within_half_to_all() -> None:
    rng = Random(7)
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (50, 3600)]:
        for _ in range(50):
            wait = rules.backoff(attempts, rng=rng).total_seconds()
            assert ceiling / 2 <= wait <= ceiling
    waits = {rules.backoff(5, rng=rng) for _ in range(20)}
    assert len(waits) == 20  # jittered: receivers failing together are not retried together


def test_a_delivery_is_given_up_once_its_next_attempt_would_leave_the_window() -> None:
    window = timedelta(hours=24)
    start = NOW - timedelta(hours=23, minutes=50)
    kept = rules.next_attempt(attempts=3, retry_from=start, now=NOW, window=window, rng=Random(1))
    assert kept is not None and NOW + timedelta(seconds=20) <= kept <= NOW + timedelta(seconds=40)
    assert (
        rules.next_attempt(attempts=12, retry_from=start, now=NOW, window=window, rng=Random(1))
        is None
    )


def test_empty_event_types_mean_every_type() -> None:
    assert rules.wants([], "order.posted")
    assert rules.wants(["order.posted"], "order.posted")
    assert not rules.wants(["tier.changed"], "order.posted")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks",
        "http://127.0.0.1:8080/x?y=1",
        "https://[::1]:9/hooks",
        "https://例え.jp/hooks",
        "https://xn--r8jz45g.jp/hooks",
        "https://crm.example.com./hooks",
    ],
)
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert rules.check_url(url) == url


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("example.com/hooks", "http:// or https://"),
        ("https:///hooks", "no host"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://token@example.com/", "user name or password"),
        ("https://example.com:0/", "port must not be 0"),
        ("https://example.com:99999/", "not well formed"),
        ("https://exa mple.com/", "spaces or control"),
        ("https://example.com/\x00", "spaces or control"),
        ("https://example.com/#frag", "fragment"),
        ("https://%00/hooks", "not a valid host name"),
        ("https://ex%41mple.com/hooks", "not a valid host name"),
        ("https://\u200b/hooks", "not a valid host name"),
        ("https://exa\u00admple.com/hooks", "not a valid host name"),
        ("https://a..b/hooks", "not a valid host name"),
        ("https://example.com/" + "a" * 2000, "longer than 2000"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url: str, fault: str) -> None:
    with pytest.raises(TextError) as refused:
        rules.check_url(url)
    assert fault in str(refused.value)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("::ffff:192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "*"),  # reserved (private too, to some Pythons' tables)
        ("255.255.255.255", "*"),
        ("100.64.0.1", "shared"),  # carrier-grade NAT
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
        ("2002:a00:1::1", "private"),  # 6to4 around 10.0.0.1
        ("64:ff9b::7f00:1", "*"),  # NAT64
        ("8.8.8.8", None),
        ("::ffff:8.8.8.8", None),
        ("93.184.215.14", None),
        ("2001:4860:4860::8888", None),
        ("2002:808:808::1", None),  # 6to4 around a public address
    ],
)
def test_only_public_unicast_addresses_may_receive_deliveries(
    address: str, kind: str | None
) -> None:
    found = rules.address_kind(ipaddress.ip_address(address))
    if kind == "*":
        assert found is not None
    else:
        assert (str(found) if found else None) == kind


def test_an_allowed_network_lets_its_addresses_receive_and_no_others() -> None:
    allowed = [ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd00:1::/32")]
    for address in ("10.20.3.4", "::ffff:10.20.3.4", "fd00:1::9"):
        assert rules.blocked(ipaddress.ip_address(address), allowed=allowed) is None
    for address, kind in (
        ("10.21.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
    ):
        assert rules.blocked(ipaddress.ip_address(address), allowed=allowed) == kind
    assert rules.blocked(ipaddress.ip_address("8.8.8.8"), allowed=()) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("127.1", "127.0.0.1"),  # forms the system resolver reads as addresses
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("crm.example.com", None),
        ("localhost", None),
        ("deadbeef", None),
        ("1e100.net", None),
    ],
)
def test_a_host_written_as_an_address_is_read_as_the_resolver_would(
    host: str, address: str | None
) -> None:
    found = rules.literal_address(host)
    assert found == (ipaddress.ip_address(address) if address else None)
