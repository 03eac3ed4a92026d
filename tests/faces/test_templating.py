"""One Jinja2 environment: templates found by package, translated by our catalogs, escaped."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from jinja2 import Template

from memberkit.faces.templating import environment, template_folders


def _page(body: str) -> Template:
    return environment.from_string('{% extends "faces/base.html" %}' + body)


def test_templates_are_found_by_package() -> None:
    folders = template_folders()
    assert {"faces", "api"} <= set(folders)
    assert all(
        path.name == "templates" and path.parent.name == name for name, path in folders.items()
    )


def test_every_template_compiles() -> None:
    names = environment.list_templates(extensions=["html"])
    assert {"faces/base.html", "api/docs.html"} <= set(names)
    for name in names:
        environment.get_template(name)


@pytest.mark.parametrize(
    ("locale", "lang", "subtitle", "skip"),
    [
        ("zh_CN", "zh-CN", "会员管理系统", "跳到正文"),
        ("en", "en", "Membership and loyalty", "Skip to content"),
    ],
)
def test_base_layout_renders_in_each_language(
    locale: str, lang: str, subtitle: str, skip: str
) -> None:
    html = _page("{% block content %}<p>body</p>{% endblock %}").render(locale=locale)
    assert f'<html lang="{lang}">' in html
    assert subtitle in html
    assert f'href="#content">{skip}</a>' in html
    assert "<p>body</p>" in html
    assert "/static/vendor/tabler/tabler.min.css?v=" in html
    assert "/static/vendor/htmx/htmx.min.js?v=" in html


def test_text_and_its_parameters_are_escaped() -> None:
    template = environment.from_string('{{ _("Not in any catalog: {x}", x=value) }}')
    assert template.render(locale="en", value="<script>") == "Not in any catalog: &lt;script&gt;"


def test_a_message_is_translated_with_its_parameters() -> None:
    template = environment.from_string(
        '{{ _("Not enough points: {needed} needed, {balance} available.", needed=5, balance=2) }}'
    )
    assert template.render(locale="zh_CN") == "积分不足：需要 5，可用 2。"


def test_an_undefined_variable_fails_loudly() -> None:
    with pytest.raises(Exception, match="is undefined"):
        environment.from_string("{{ missing }}").render(locale="en")


def test_plural_forms_are_refused() -> None:
    template = environment.from_string('{{ ngettext("one", "many", 2) }}')
    with pytest.raises(NotImplementedError):
        template.render(locale="en")


@pytest.mark.parametrize(
    ("accept", "lang"), [("en-US,en;q=0.9", "en"), ("zh-CN", "zh-CN"), (None, "zh-CN")]
)
def test_a_page_follows_the_request_language(
    client: TestClient, accept: str | None, lang: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/docs", headers=headers)
    assert response.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in response.text
