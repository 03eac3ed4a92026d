"""Static files under ``/static``: the vendored front-end libraries and our own CSS and JS.

Nothing is loaded from a CDN: pages link to :func:`static_url` addresses, which carry a digest
of the file's content (``?v=…``). A versioned address is cached by browsers for a year without
asking again; a new release changes the digest, so the address, of every file that changed.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
PREFIX = "/static"
#: A versioned address never changes content: cache it for a year, never revalidate.
IMMUTABLE = "public, max-age=31536000, immutable"
#: An address without a version may change with a release: revalidate (ETag) on each use.
REVALIDATE = "no-cache"


class Assets(StaticFiles):
    """Static files whose versioned addresses (``?v=…``) are cached for a year."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Answer with the file (or 304), and say how long it may be cached."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = any(
            part.startswith(b"v=") for part in scope.get("query_string", b"").split(b"&")
        )
        response.headers["Cache-Control"] = IMMUTABLE if versioned else REVALIDATE
        return response


def mount(app: FastAPI) -> None:
    """Serve :data:`STATIC_DIR` at :data:`PREFIX`, compressed for clients that accept gzip."""
    files = Assets(directory=STATIC_DIR)
    app.mount(PREFIX, GZipMiddleware(files, compresslevel=6), name="static")


@lru_cache(maxsize=256)
def static_url(path: str) -> str:
    """Return the versioned address of a file under :data:`STATIC_DIR`.

    Raises ``FileNotFoundError`` for a file that does not exist, so a page that links to a
    missing asset fails its tests instead of showing unstyled.
    """
    file = (STATIC_DIR / path).resolve()
    if not file.is_relative_to(STATIC_DIR) or not file.is_file():
        raise FileNotFoundError(f"no static file {path!r} under {STATIC_DIR}")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    return f"{PREFIX}/{path}?v={digest}"
