"""Fixtures of browser tests: the real app served by uvicorn on 127.0.0.1 (in a thread, on the
test database), driven by Debian's chromium through Playwright, with every request to any
other host refused and recorded.

Chromium comes from apt (``make browser``, which ``make test`` runs); no browser is ever
downloaded. Without it these tests are skipped, except in CI (``CI`` set), where they fail.
Screenshots go to ``artifacts/screenshots/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    sync_playwright,
)

from memberkit.app import create_app
from memberkit.db import Database
from memberkit.faces.templating import environment, html_lang

HOST = "127.0.0.1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
#: A tablet in landscape: the console and the cashier screen must be usable at this width.
VIEWPORT = {"width": 1280, "height": 800}

#: A page that extends the base layout, served only to these tests: the layout renders, its
#: assets load under the CSP, htmx swaps, charts.js draws.
LAYOUT_PAGE = environment.from_string(
    """{% extends "faces/base.html" %}
{% block title %}Layout test{% endblock %}
{% block heading %}Layout test{% endblock %}
{% block content %}
<div class="card"><div class="card-body">
  <button class="btn btn-primary" hx-get="/_test/fragment" hx-target="#fragment">
    <i class="ti ti-refresh" aria-hidden="true"></i> Load
  </button>
  <div id="fragment"></div>
  <div id="chart" class="chart" data-chart='{{ chart|tojson }}'></div>
</div></div>
{% endblock %}
{% block scripts %}
<script src="{{ static_url('vendor/echarts/echarts.min.js') }}"></script>
<script src="{{ static_url('charts.js') }}"></script>
{% endblock %}
"""
)
#: A bar chart with a tooltip, months named in Chinese (the CJK font must draw them).
CHART = {
    "animation": False,
    "tooltip": {},
    "xAxis": {"data": ["一月", "二月", "三月"]},
    "yAxis": {},
    "series": [{"type": "bar", "data": [5, 20, 36]}],
}
#: What the CSP must stop: an inline script and an inline style.
INLINE_PAGE = """<!doctype html><html><head><title>untouched</title></head><body>
<script>document.title = "script ran";</script>
<p id="styled" style="color: rgb(255, 0, 0)">styled</p></body></html>"""

test_pages = APIRouter(prefix="/_test", include_in_schema=False)


@test_pages.get("/layout", response_class=HTMLResponse)
def layout(request: Request, locale: str = "zh_CN") -> HTMLResponse:
    return HTMLResponse(
        LAYOUT_PAGE.render(request=request, locale=locale, chart=CHART),
        headers={"Content-Language": html_lang(locale)},
    )


@test_pages.get("/fragment", response_class=HTMLResponse)
def fragment() -> HTMLResponse:
    return HTMLResponse('<p class="swapped">swapped by htmx</p>')


@test_pages.get("/inline", response_class=HTMLResponse)
def inline() -> HTMLResponse:
    return HTMLResponse(INLINE_PAGE)


@pytest.fixture(scope="package")
def chromium_path() -> str:
    """Debian's chromium; skipped when missing outside CI, a failure in CI."""
    path = shutil.which("chromium")
    if path is None:
        reason = "Debian's chromium is missing: run `make browser` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="package")
def served(database: Database) -> Iterator[str]:
    """Serve the real app (and :data:`test_pages`) with uvicorn; yield its base URL."""
    app = create_app(scheduler=False, outbox_worker=False)
    app.include_router(test_pages)
    listener = socket.socket()
    listener.bind((HOST, 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the app did not start")
        time.sleep(0.02)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Browser]:
    """Headless chromium; ``--no-sandbox`` because the tests run as root."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox"], headless=True
        )
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page of its own browser context, and what it asked for and reported."""

    page: Page
    requested: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def left_the_machine(self) -> list[str]:
        """The addresses asked for on any host but 127.0.0.1 (refused, but asked for)."""
        return [url for url in self.requested if urlsplit(url).hostname != HOST] + self.refused


def _guard(tab: Tab) -> Callable[[Route], None]:
    def route(route: Route) -> None:
        if urlsplit(route.request.url).hostname == HOST:
            route.continue_()
        else:
            tab.refused.append(route.request.url)
            route.abort("blockedbyclient")

    return route


@pytest.fixture
def new_tab(browser: Browser, served: str) -> Iterator[Callable[..., Tab]]:
    """Open tabs on the served app, in a language (``zh-CN`` by default), offline but for it."""
    contexts: list[BrowserContext] = []

    def open_tab(locale: str = "zh-CN") -> Tab:
        context = browser.new_context(base_url=served, locale=locale, viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page)
        context.route("**/*", _guard(tab))
        context.on("request", lambda request: tab.requested.append(request.url))

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                tab.errors.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        return tab

    yield open_tab
    for context in contexts:
        context.close()


@pytest.fixture
def tab(new_tab: Callable[..., Tab]) -> Tab:
    """One tab in Chinese."""
    return new_tab()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``artifacts/screenshots/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
