"""The vendored libraries are the pinned ones, shipped in the package, served under /static."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from memberkit.faces.assets import IMMUTABLE, REVALIDATE, STATIC_DIR, static_url
from memberkit.faces.templating import PACKAGE_DIR

ROOT = Path(__file__).resolve().parents[2]
VENDOR = STATIC_DIR / "vendor"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_vendored_files_are_exactly_those_the_script_wrote() -> None:
    listed = dict(
        reversed(line.split("  ", 1))  # type: ignore[misc]
        for line in (VENDOR / "SHA256SUMS").read_text().splitlines()
    )
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert present - {"SHA256SUMS"} == set(listed)
    changed = [name for name, digest in listed.items() if _sha256(VENDOR / name) != digest]
    assert changed == [], "vendored files were edited: re-run scripts/vendor_assets.sh"


def test_versions_list_every_pinned_package() -> None:
    script = (ROOT / "scripts" / "vendor_assets.sh").read_text()
    pinned = re.findall(r'^\s+"([^|"]+)\|([^|]+)\|([^|]+)\|', script, re.MULTILINE)
    versions = (VENDOR / "VERSIONS.md").read_text()
    assert [name for name, _version, _licence in pinned] == [
        "@tabler/core",
        "@tabler/icons-webfont",
        "htmx.org",
        "echarts",
        "swagger-ui-dist",
    ]
    for name, version, licence in pinned:
        assert f"| `{name}` | {version} | {licence} |" in versions


def test_package_data_ships_every_data_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["memberkit"]
    shipped = {path for pattern in patterns for path in PACKAGE_DIR.glob(pattern)}
    # Only needed to make catalogs and migrations, from a checkout.
    development = {".py", ".pyc", ".pot", ".mako"}
    data = {
        path
        for path in PACKAGE_DIR.rglob("*")
        if path.is_file() and path.suffix not in development and "__pycache__" not in path.parts
    }
    assert sorted(p.relative_to(PACKAGE_DIR).as_posix() for p in data - shipped) == []
    assert VENDOR / "echarts" / "echarts.min.js" in shipped


def test_static_url_carries_the_content_digest() -> None:
    url = static_url("docs.js")
    assert url == f"/static/docs.js?v={_sha256(STATIC_DIR / 'docs.js')[:12]}"


@pytest.mark.parametrize("path", ["missing.js", "../app.py", "vendor", ""])
def test_static_url_refuses_what_is_not_a_static_file(path: str) -> None:
    with pytest.raises(FileNotFoundError):
        static_url(path)


def test_a_versioned_asset_is_cached_for_a_year(client: TestClient) -> None:
    response = client.get(static_url("vendor/htmx/htmx.min.js"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == (VENDOR / "htmx" / "htmx.min.js").read_bytes()


def test_an_unversioned_asset_is_revalidated(client: TestClient) -> None:
    first = client.get("/static/memberkit.css")
    assert first.status_code == 200
    assert first.headers["cache-control"] == REVALIDATE
    again = client.get("/static/memberkit.css", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == REVALIDATE


def test_scripts_are_compressed_fonts_are_not(client: TestClient) -> None:
    gzip = {"Accept-Encoding": "gzip"}
    script = client.get(static_url("vendor/echarts/echarts.min.js"), headers=gzip)
    assert script.headers["content-encoding"] == "gzip"
    assert script.content == (VENDOR / "echarts" / "echarts.min.js").read_bytes()
    font = client.get(static_url("vendor/tabler-icons/fonts/tabler-icons.woff2"), headers=gzip)
    assert font.status_code == 200
    assert "content-encoding" not in font.headers


@pytest.mark.parametrize(
    "path", ["/static/..%2Fapp.py", "/static/%2e%2e/app.py", "/static/nothing.js", "/static/"]
)
def test_nothing_outside_the_static_folder_is_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
