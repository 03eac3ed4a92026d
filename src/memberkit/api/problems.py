"""Errors as RFC 9457 problem+json: a stable ``code``, a message in the caller's language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from memberkit.errors import MemberkitError
from memberkit.kit.i18n import _, negotiate, translate

log = logging.getLogger("memberkit.api")
MEDIA_TYPE = "application/problem+json"

_HTTP_MESSAGES = {
    404: ("not_found", _("No such resource.")),
    405: ("method_not_allowed", _("This method is not allowed here.")),
}


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    message: str,
    extra: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
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
        headers={"Content-Language": locale.replace("_", "-")},
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    @app.exception_handler(MemberkitError)
    async def _domain(request: Request, exc: MemberkitError) -> JSONResponse:
        return problem(
            request, status=exc.status, code=exc.code, message=exc.message, params=exc.params
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

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", _("Request failed.")))
        return problem(request, status=exc.status_code, code=code, message=message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            request,
            status=500,
            code="internal_error",
            message=_("An unexpected error occurred; nothing was changed."),
        )
