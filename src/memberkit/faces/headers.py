"""Security headers: every HTML page gets a strict Content-Security-Policy and framing ban.

The policy allows scripts, styles and fonts from the app itself only: no inline ``<script>``,
no ``style="…"`` attribute in markup or ``<style>`` element, no ``eval``. Pages put their code
in static files and pass data through ``data-*`` attributes. Images may also be ``data:``
addresses (Tabler's and Swagger UI's stylesheets draw check marks and arrows with them).
Other answers (the JSON API) only get ``X-Content-Type-Options: nosniff``. A response that
sets one of these headers itself keeps its own.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_EVERY: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)
_HTML: tuple[tuple[bytes, bytes], ...] = (
    *_EVERY,
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # Staff pages show personal data: a shared till's browser keeps none of them.
    (b"cache-control", b"no-store"),
)


class SecurityHeaders:
    """ASGI middleware: add the security headers to each response as it starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers its response lacks."""
        await self.app(scope, receive, _adding_headers(send) if scope["type"] == "http" else send)


def _adding_headers(send: Send) -> Send:
    """Wrap ``send`` so that the response's start carries the headers it lacks."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            present = {name.lower() for name, _value in headers}
            html = any(
                name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                for name, value in headers
            )
            headers.extend(h for h in (_HTML if html else _EVERY) if h[0] not in present)
            message = {**message, "headers": headers}
        await send(message)

    return send_with_headers
