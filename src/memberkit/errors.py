"""Typed domain errors; each carries its HTTP status and a stable machine-readable code."""

from __future__ import annotations

from typing import Any

from memberkit.kit.i18n import _, translate


class MemberkitError(Exception):
    """Base of every refusal the domain makes; the message is translated at the edge."""

    status = 400
    code = "bad_request"
    message = _("The request was refused.")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        if message is not None:
            self.message = message
        self.params = params
        super().__init__(self.message.format(**params) if params else self.message)

    def detail(self, locale: str | None = None) -> str:
        """Return the human message in ``locale``."""
        return translate(self.message, locale, **self.params)


class NotFound(MemberkitError):
    """Something named by the request does not exist."""

    status = 404
    code = "not_found"
    message = _("Not found.")


class Conflict(MemberkitError):
    """The request collides with the current state."""

    status = 409
    code = "conflict"
    message = _("The request conflicts with the current state.")


class InvalidInput(MemberkitError):
    """The request is well-formed JSON but its content is wrong."""

    status = 422
    code = "invalid_input"
    message = _("The request content is invalid.")


class Forbidden(MemberkitError):
    """The caller may not do this."""

    status = 403
    code = "forbidden"
    message = _("This API key may not do that.")


class Unauthorized(MemberkitError):
    """No valid API key."""

    status = 401
    code = "unauthorized"
    message = _("A valid API key is required (Authorization: Bearer <key>).")


class IdempotencyConflict(Conflict):
    """A key was reused for a request with other content."""

    code = "idempotency_conflict"
    message = _("The key {key} was already used for a request with different content.")
