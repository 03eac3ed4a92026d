"""Pure decisions of webhook delivery: signatures, back-off, giving up, which URLs are allowed.

Which addresses a delivery may go to is decided here too: only public unicast addresses,
unless the deployment allows a network (an SSRF guard: a subscription must not make the
worker POST to the machine itself, the private network or a cloud metadata service).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from random import Random
from typing import Any
from urllib.parse import urlsplit

import httpx

from memberkit.kit.i18n import TextError, _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The signature scheme's version, as it appears in the header (``v1=<hex>``).
SIGNATURE_VERSION = "v1"
#: The first retry comes about this long after a failure; each next one twice as late.
FIRST_RETRY = timedelta(seconds=10)
#: No two attempts are further apart than this.
LONGEST_RETRY = timedelta(hours=1)
MAX_URL_LENGTH = 2000
#: A host as it goes on the wire: DNS labels (IDNA-encoded), an IPv4 or an IPv6 literal.
_WIRE_HOST = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*")


def body(
    *,
    event_id: str,
    type: str,
    program: str,
    member_no: str | None,
    occurred_at: str,
    data: dict[str, Any],
) -> bytes:
    """Return the JSON body of a delivery (compact, UTF-8)."""
    document = {
        "id": event_id,
        "type": type,
        "program": program,
        "member_no": member_no,
        "occurred_at": occurred_at,
        "data": data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, *, timestamp: int, payload: bytes) -> str:
    """Return the ``Memberkit-Signature`` value: HMAC-SHA256 of ``"{timestamp}.{body}"``."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def headers(
    secret: str, *, event_id: str, event_type: str, timestamp: int, payload: bytes
) -> dict[str, str]:
    """Return the headers of a delivery: the event's id and type, the time, the signature."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Memberkit-Webhooks/1",
        "Memberkit-Event-Id": event_id,
        "Memberkit-Event-Type": event_type,
        "Memberkit-Timestamp": str(timestamp),
        "Memberkit-Signature": signature(secret, timestamp=timestamp, payload=payload),
    }


def delivered(status_code: int | None) -> bool:
    """Tell whether an answer counts as delivered: any 2xx (a redirect does not)."""
    return status_code is not None and 200 <= status_code < 300


def backoff(attempts: int, *, rng: Random) -> timedelta:
    """Return the wait after the ``attempts``-th failed attempt: doubling, capped, jittered.

    The jitter draws between half and all of the doubled wait, so receivers that fail
    together are not retried together.
    """
    exponent = min(max(attempts - 1, 0), 20)
    ceiling = min(FIRST_RETRY * (2**exponent), LONGEST_RETRY)
    return ceiling * (0.5 + rng.random() / 2)


def next_attempt(
    *, attempts: int, retry_from: datetime, now: datetime, window: timedelta, rng: Random
) -> datetime | None:
    """Return when to try again after a failure at ``now``, or None to give up.

    A delivery is retried while its next attempt falls within ``window`` of ``retry_from``.
    """
    due = now + backoff(attempts, rng=rng)
    return due if due <= retry_from + window else None


def wants(event_types: Sequence[str], event_type: str) -> bool:
    """Tell whether a subscription to ``event_types`` receives ``event_type`` (empty: all)."""
    return not event_types or event_type in event_types


def check_url(url: str) -> str:
    """Return ``url`` if it may receive webhooks: http or https, a host, no credentials.

    Raises :class:`TextError` naming the fault.
    """
    if len(url) > MAX_URL_LENGTH:
        raise TextError(_("the URL is longer than {limit} characters"), limit=MAX_URL_LENGTH)
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise TextError(_("the URL must not contain spaces or control characters"))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TextError(_("the URL is not well formed")) from exc
    if parts.scheme not in ("http", "https"):
        raise TextError(_("the URL must start with http:// or https://"))
    if not parts.hostname:
        raise TextError(_("the URL has no host"))
    if parts.username is not None or parts.password is not None:
        raise TextError(_("the URL must not carry a user name or password"))
    if port == 0:
        raise TextError(_("the URL's port must not be 0"))
    if not _wire_host(url):
        raise TextError(_("the URL's host is not a valid host name"))
    if parts.fragment:
        raise TextError(_("the URL must not have a fragment (#…)"))
    return url


def wire_host(url: str) -> str:
    """Return the host of ``url`` as the delivery client puts it on the wire (IDNA, no [])."""
    return httpx.URL(url).raw_host.decode("ascii")


def _wire_host(url: str) -> bool:
    # What the delivery client would send: a host it cannot encode, or one with escapes or
    # invisible characters in it, could never be reached.
    try:
        host = wire_host(url)
    except (httpx.InvalidURL, UnicodeError):
        return False
    return _WIRE_HOST.fullmatch(host) is not None


def describe_failure(status_code: int | None, error: str | None) -> str:
    """Describe a failed attempt for the delivery log (technical English, like HTTP itself)."""
    if error:
        return error[:500]
    if status_code is not None and 300 <= status_code < 400:
        return f"HTTP {status_code}: redirects are not followed"
    return f"HTTP {status_code}"


class AddressKind(StrEnum):
    """Why an address may not receive deliveries (unless its network is allowed)."""

    unspecified = "unspecified"  # 0.0.0.0, ::
    loopback = "loopback"  # 127.0.0.0/8, ::1: the worker's own machine
    link_local = "link-local"  # 169.254.0.0/16 (cloud metadata), fe80::/10
    multicast = "multicast"  # 224.0.0.0/4, ff00::/8
    private = "private"  # 10/8, 172.16/12, 192.168/16, fc00::/7, documentation ranges, …
    reserved = "reserved"  # 240.0.0.0/4, the IETF's reserved ranges
    shared = "shared"  # not global otherwise: carrier-grade NAT (100.64.0.0/10), …


def _own_kind(address: IPAddress) -> AddressKind | None:
    for kind, is_it in (
        (AddressKind.unspecified, address.is_unspecified),
        (AddressKind.loopback, address.is_loopback),
        (AddressKind.link_local, address.is_link_local),
        (AddressKind.multicast, address.is_multicast),
        (AddressKind.private, address.is_private),
        (AddressKind.reserved, address.is_reserved),
        (AddressKind.shared, not address.is_global),
    ):
        if is_it:
            return kind
    return None


def plain(address: IPAddress) -> IPAddress:
    """Return the IPv4 address an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) stands for."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_kind(address: IPAddress) -> AddressKind | None:
    """Return why deliveries may not go to ``address``, or None for a public unicast address.

    An IPv4-mapped IPv6 address is judged as its IPv4 address, a 6to4 address (2002::/16)
    also by the IPv4 address it carries (NAT64's 64:ff9b::/96 is reserved as a whole).
    """
    address = plain(address)
    if isinstance(address, ipaddress.IPv6Address) and (inner := address.sixtofour):
        return _own_kind(inner) or _own_kind(address)
    return _own_kind(address)


def blocked(address: IPAddress, *, allowed: Sequence[IPNetwork]) -> AddressKind | None:
    """Return why ``address`` may not receive deliveries; None if it may.

    ``allowed`` are the networks the deployment lets receivers be on although not public.
    """
    address = plain(address)
    if any(address.version == net.version and address in net for net in allowed):
        return None
    return address_kind(address)


def literal_address(host: str) -> IPAddress | None:
    """Return the address a URL's host names literally, or None for a host name.

    Legacy IPv4 forms that the system resolver reads as addresses count too (``127.1``,
    ``0x7f000001``, ``2130706433``), so they cannot slip past the check at creation.
    """
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if not re.fullmatch(r"[0-9A-Fa-fXx.]+", bare):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None
