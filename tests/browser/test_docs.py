"""/docs shows Swagger UI from the app's own files, with no other host reachable."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import Tab, screenshot

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def _operations(served: str) -> int:
    spec: dict[str, Any] = httpx.get(f"{served}/openapi.json").json()
    return sum(1 for item in spec["paths"].values() for method in item if method in METHODS)


def test_docs_render_offline_with_every_operation(tab: Tab, served: str) -> None:
    # given a browser that can reach nothing but 127.0.0.1
    page = tab.page
    # when it opens the API docs
    page.goto("/docs")
    page.locator(".opblock").first.wait_for(state="visible", timeout=15_000)
    # then Swagger UI lists every operation of the OpenAPI document
    assert page.locator(".opblock").count() == _operations(served)
    assert page.locator(".opblock-summary-path", has_text="/api/v1/members").first.is_visible()
    assert page.locator(".info .title").inner_text().startswith("Memberkit API")
    screenshot(page, "docs")
    # and nothing was asked of another host, nor refused by the page's CSP
    assert tab.requested, "no request recorded"
    assert tab.left_the_machine() == []
    assert tab.errors == []
