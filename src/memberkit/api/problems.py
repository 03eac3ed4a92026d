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
from starlette.types import ASGIApp, Receive, Scope, Send

from memberkit.api.context import ConcurrentChange
from memberkit.db import RETRY_AFTER_SECONDS, DatabaseBusy, is_busy
from memberkit.errors import MemberkitError
from memberkit.kit.i18n import _, negotiate, translate

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
        (422, "Invalid content"),
        (503, "The database is busy; retry after the Retry-After seconds"),
    )
}


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
        errors = [
            {
                "field": ".".join(str(part) for part in error.get("loc", ()) if part != "body"),
                "message": error.get("msg", ""),
                "type": error.get("type", ""),
            }
            for error in exc.errors()
        ]
        return problem(
            request,
            status=422,
            code="validation_error",
            message=_("The request is not valid: {fields}."),
            params={"fields": ", ".join(e["field"] or "body" for e in errors)},
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
