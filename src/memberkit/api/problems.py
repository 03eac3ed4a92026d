"""Errors as RFC 9457 problem+json: a stable ``code``, a message in the caller's language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memberkit.config import settings
from memberkit.db import RETRY_AFTER_SECONDS, DatabaseBusy, is_busy
from memberkit.errors import MemberkitError
from memberkit.kit.i18n import Text, TextError, _, negotiate, translate
from memberkit.kit.schemas import CONTROL_CHARACTERS, CONTROL_PROBLEM, NOT_NULL
from memberkit.uow import ConcurrentChange

log = logging.getLogger("memberkit.api")
MEDIA_TYPE = "application/problem+json"

_HTTP_MESSAGES = {
    400: ("invalid_body", _("The request body could not be read as JSON.")),
    404: ("not_found", _("No such resource.")),
    405: ("method_not_allowed", _("This method is not allowed here.")),
}


class Problem(BaseModel):
    """An error (RFC 9457): ``code`` is stable, ``detail`` is in the request's language."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str
    errors: list[dict[str, str]] | None = None


#: Documented on every route: the errors any request may meet.
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": description}
    for status, description in (
        (400, "Unreadable request"),
        (401, "No valid API key"),
        (403, "The key may not do this"),
        (404, "Not found"),
        (409, "Conflict with the current state (or with an earlier use of the key)"),
        (413, "The body is larger than the deployment's limit"),
        (422, "Invalid content"),
        (503, "The database is busy; retry after the Retry-After seconds"),
    )
}

#: What each kind of pydantic error says, in words the catalogs translate; its ``ctx`` fills
#: the placeholders. Kinds not listed say :data:`_INVALID_VALUE`.
_FIELD_MESSAGES = {
    "missing": _("this field is required"),
    "extra_forbidden": _("this field is not expected here"),
    "string_type": _("must be a string"),
    "string_too_short": _("must be at least {min_length} characters long"),
    "string_too_long": _("must be at most {max_length} characters long"),
    "string_pattern_mismatch": _("does not have the expected format"),
    "int_type": _("must be a whole number"),
    "int_parsing": _("must be a whole number"),
    "int_from_float": _("must be a whole number"),
    "bool_type": _("must be true or false"),
    "bool_parsing": _("must be true or false"),
    "float_type": _("must be a number"),
    "float_parsing": _("must be a number"),
    "finite_number": _("must be a finite number"),
    "decimal_parsing": _("must be a decimal number"),
    "greater_than": _("must be greater than {gt}"),
    "greater_than_equal": _("must be at least {ge}"),
    "less_than": _("must be less than {lt}"),
    "less_than_equal": _("must be at most {le}"),
    "too_short": _("must hold at least {min_length} items"),
    "too_long": _("must hold at most {max_length} items"),
    "list_type": _("must be a list"),
    "dict_type": _("must be an object"),
    "model_type": _("must be an object"),
    "model_attributes_type": _("must be an object"),
    "enum": _("must be one of {expected}"),
    "literal_error": _("must be one of {expected}"),
    "date_type": _("must be a date such as 2026-12-31"),
    "date_parsing": _("must be a date such as 2026-12-31"),
    "date_from_datetime_parsing": _("must be a date such as 2026-12-31"),
    "date_from_datetime_inexact": _("must be a date such as 2026-12-31"),
    "datetime_type": _("must be a time such as 2026-12-31T10:00:00+08:00"),
    "datetime_parsing": _("must be a time such as 2026-12-31T10:00:00+08:00"),
    "datetime_from_date_parsing": _("must be a time such as 2026-12-31T10:00:00+08:00"),
    "timezone_aware": _("must carry a UTC offset, such as +08:00"),
    "greater_than_equal_date": _("must be on or after {ge}"),
    CONTROL_CHARACTERS: CONTROL_PROBLEM,
    NOT_NULL: _("cannot be null: leave it out to keep it"),
}
_INVALID_VALUE = _("is not a valid value")


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    message: str,
    extra: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Render one problem in the request's language."""
    locale = negotiate(request.headers.get("accept-language"))
    body = {
        "type": f"https://memberkit.dev/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": translate(message, locale, **(params or {})),
        "instance": request.url.path,
        **(extra or {}),
    }
    return JSONResponse(
        body,
        status_code=status,
        media_type=MEDIA_TYPE,
        headers={"Content-Language": locale.replace("_", "-"), **(headers or {})},
    )


#: The bulk endpoints, whose bodies may reach ``settings.max_import_body_bytes``.
BULK_PATHS = frozenset({"/api/v1/orders/import"})


class LimitBodySize:
    """ASGI middleware: a request body above ``settings.max_body_bytes`` gets a 413, unread.

    The bulk endpoints (:data:`BULK_PATHS`) have ``settings.max_import_body_bytes`` instead.

    A declared ``Content-Length`` above the limit is refused before any byte is read (the
    server holds a body to its declared length); a body without one (chunked) is read up to
    the limit and refused as soon as it passes it, else handed on whole. Either way nothing
    parses, authenticates or stores any part of an oversized body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on unless its body is too large."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (
            settings.max_import_body_bytes
            if scope.get("path") in BULK_PATHS
            else settings.max_body_bytes
        )
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _too_large(scope, receive, send, limit)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message | None = {"type": "http.request", "body": b"".join(chunks)}

        async def replay() -> Message:
            nonlocal whole
            if whole is not None:
                message, whole = whole, None
                return message
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem(
        Request(scope, receive),
        status=413,
        code="body_too_large",
        message=_("The request body is larger than the limit of {limit} bytes."),
        params={"limit": limit},
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)


class RefuseNulInUrls:
    """ASGI middleware: a path or query holding a NUL character gets a 400 before any route.

    Plain ASGI rather than ``@app.middleware("http")``, which costs a stream wrapper per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on unless its address holds a NUL."""
        if scope["type"] == "http":
            raw = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
            if b"%00" in raw or b"\x00" in raw:
                request = Request(scope, receive)
                response = problem(
                    request,
                    status=400,
                    code="invalid_characters",
                    message=_("The address must not contain NUL characters."),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _field_message(error: Any, locale: str) -> str:
    """Say what is wrong with one field in ``locale``, from a pydantic error."""
    context = error.get("ctx") or {}
    if error.get("type") in ("value_error", "assertion_error"):
        cause = context.get("error")
        if isinstance(cause, TextError):
            return cause.text.translate(locale)
        if isinstance(cause, BaseException):
            return translate(str(cause), locale)
    message = _FIELD_MESSAGES.get(error.get("type", ""), _INVALID_VALUE)
    params = {name: context.get(name, "") for name in ("min_length", "max_length", "ge", "gt")}
    params |= {name: context.get(name, "") for name in ("le", "lt", "expected")}
    return Text(message, **params).translate(locale)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    @app.exception_handler(MemberkitError)
    async def _domain(request: Request, exc: MemberkitError) -> JSONResponse:
        headers = None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        elif exc.status == 503:
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return problem(
            request,
            status=exc.status,
            code=exc.code,
            message=exc.message,
            params=exc.params,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        if any(error.get("type") == "json_invalid" for error in raw):
            code, message = _HTTP_MESSAGES[400]
            return problem(request, status=400, code=code, message=message)
        locale = negotiate(request.headers.get("accept-language"))
        errors = [
            {
                "field": ".".join(str(part) for part in error.get("loc", ()) if part != "body"),
                "message": _field_message(error, locale),
                "type": error.get("type", ""),
            }
            for error in raw
        ]
        # Text holding control characters only: said by its own code, for clients to match.
        only_control = all(error["type"] == CONTROL_CHARACTERS for error in errors)
        return problem(
            request,
            status=422,
            code=CONTROL_CHARACTERS if only_control else "validation_error",
            message=_("The request is not valid: {fields}."),
            params={
                "fields": "; ".join(
                    f"{error['field'] or 'body'}: {error['message']}" for error in errors
                )
            },
            extra={"errors": errors},
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_busy(exc):
            return await _domain(request, DatabaseBusy())
        if isinstance(exc, IntegrityError):
            # A unique key taken by a concurrent request between our check and our write.
            return await _domain(request, ConcurrentChange())
        return await _unexpected(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _no_connection(request: Request, exc: PoolTimeout) -> JSONResponse:
        return await _domain(request, DatabaseBusy())

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", _("Request failed.")))
        return problem(
            request,
            status=exc.status_code,
            code=code,
            message=message,
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            request,
            status=500,
            code="internal_error",
            message=_("An unexpected error occurred; nothing was changed."),
        )
