"""The base layout renders with its vendored assets under the CSP, in both languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.conftest import Tab, screenshot


@pytest.mark.parametrize(
    ("locale", "lang", "subtitle"),
    [("zh_CN", "zh-CN", "会员管理系统"), ("en", "en", "Membership and loyalty")],
)
def test_layout_renders_in_each_language(
    new_tab: Callable[..., Tab], locale: str, lang: str, subtitle: str
) -> None:
    tab = new_tab(lang)
    page = tab.page
    page.goto(f"/_test/layout?locale={locale}")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator(".navbar-brand-subtitle").inner_text() == subtitle
    # Tabler's stylesheet, ours and the icon font are applied
    assert page.locator(".navbar").evaluate("e => getComputedStyle(e).display") == "flex"
    assert "WenQuanYi Zen Hei" in page.evaluate("getComputedStyle(document.body).fontFamily")
    icon_font = "[...document.fonts].find(f => f.family.replaceAll('\"', '') === 'tabler-icons')"
    assert page.evaluate(f"{icon_font}?.status") == "loaded"
    assert any(url.split("?")[0].endswith("/tabler-icons.woff2") for url in tab.requested)
    # Tabler's script and htmx run, htmx with our CSP-safe configuration
    assert page.evaluate("typeof window.tabler === 'object'")
    assert page.evaluate("htmx.config.includeIndicatorStyles === false && !htmx.config.allowEval")
    screenshot(page, f"layout-{locale}")
    assert tab.left_the_machine() == []
    assert tab.errors == []


def test_htmx_swaps_and_charts_draw_under_the_csp(tab: Tab) -> None:
    page = tab.page
    page.goto("/_test/layout")
    # htmx swaps a fragment in
    page.get_by_role("button", name="Load").click()
    page.locator("#fragment .swapped").wait_for(state="visible")
    # charts.js drew the chart from its data-chart option, and its tooltip shows on hover
    page.locator("#chart canvas").first.wait_for(state="visible")
    box = page.locator("#chart").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.6)
    page.wait_for_function(
        "echarts.getInstanceByDom(document.getElementById('chart'))"
        ".getOption().tooltip[0].renderMode === 'richText'"
    )
    page.wait_for_timeout(300)  # the tooltip is drawn on the canvas: nothing to wait for
    screenshot(page, "layout-htmx-chart")
    assert tab.left_the_machine() == []
    assert tab.errors == []


def test_the_csp_stops_inline_script_and_style(tab: Tab) -> None:
    # given a page with an inline script and an inline style attribute
    page = tab.page
    page.goto("/_test/inline")
    # then neither applies, and the browser reports both (so the tests above would see them)
    assert page.title() == "untouched"
    assert page.locator("#styled").evaluate("e => getComputedStyle(e).color") != "rgb(255, 0, 0)"
    assert len(tab.errors) == 2
    assert all("Content Security Policy" in error for error in tab.errors)
