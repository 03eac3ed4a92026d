"""The API's documentation page, ``/docs``: Swagger UI from the app's own files.

FastAPI's own page loads Swagger UI from a CDN (blank offline or where the CDN is blocked) and
starts it with an inline script, which the pages' Content-Security-Policy forbids; this one
links to the vendored copy (``faces/static/vendor/swagger-ui``) and starts it from
``faces/static/docs.js``. ReDoc is not served (``redoc_url=None``): its styles are injected
inline, against the same policy, and Swagger UI shows the same document.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from memberkit.faces.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """Show the OpenAPI document in Swagger UI."""
    return render(
        request, "api/docs.html", title=request.app.title, openapi_url=request.app.openapi_url
    )
