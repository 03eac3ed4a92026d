"""HTML pages carry the security headers; the JSON API only the harmless nosniff."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from memberkit.faces.headers import CONTENT_SECURITY_POLICY, SecurityHeaders

PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
}


def test_docs_page_carries_the_security_headers(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert {name: response.headers.get(name) for name in PAGE_HEADERS} == PAGE_HEADERS
    assert CONTENT_SECURITY_POLICY == PAGE_HEADERS["content-security-policy"]


def test_docs_page_has_no_inline_code_and_no_other_host(client: TestClient) -> None:
    html = client.get("/docs").text
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert len(scripts) == 2
    assert all(re.search(r'\bsrc="/static/[^"]+\?v=[0-9a-f]{12}"', tag) for tag in scripts)
    assert re.findall(r"<script\b[^>]*>([^<]+)</script>", html) == []
    assert "style=" not in html
    assert "<style" not in html
    assert re.findall(r'(?:src|href)="(?!/static/)', html) == []
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', html))


@pytest.mark.parametrize("path", ["/health", "/api/v1/stores", "/no-such-page"])
def test_the_json_api_gets_only_nosniff(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["content-type"].startswith("application/")
    assert response.headers["x-content-type-options"] == "nosniff"
    for name in ("content-security-policy", "x-frame-options", "referrer-policy"):
        assert name not in response.headers


def test_health_answers_as_before(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("path", ["/redoc", "/docs/oauth2-redirect"])
def test_only_our_docs_page_is_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_a_response_keeps_a_header_it_set_itself() -> None:
    def framed(_request: object) -> HTMLResponse:
        return HTMLResponse("<p>embeddable</p>", headers={"X-Frame-Options": "SAMEORIGIN"})

    app = SecurityHeaders(Starlette(routes=[Route("/", framed)]))
    response = TestClient(app).get("/")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
