"""Server-rendered pages: one Jinja2 environment for every face, translated by our catalogs.

Templates live beside the code that renders them, in a ``templates/`` folder of any memberkit
sub-package, and are named by that package: ``faces/base.html`` is
``memberkit/faces/templates/base.html``, ``member/detail.html`` would be
``memberkit/member/templates/detail.html``. Autoescaping is on.

Text is marked as in Python, ``{{ _("{count} members", count=total) }}``, and translated into
the page's ``locale`` (a context variable that :func:`render` sets) by
:func:`memberkit.kit.i18n.translate`; ``scripts/i18n.py`` extracts it from the templates too
(``babel.cfg``). Parameters are escaped
like any other value. A ``{% trans %}`` block works but takes ``%(name)s`` placeholders; use
``_()`` so every catalog entry has the same ``{name}`` form. There is no plural form: write
messages that read well for any count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, PrefixLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from memberkit.faces.assets import static_url
from memberkit.kit.i18n import negotiate, translate
from memberkit.kit.money import display_money
from memberkit.kit.time import local

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def template_folders() -> dict[str, Path]:
    """Every ``templates/`` folder of a memberkit sub-package, by the sub-package's name."""
    return {
        folder.parent.name: folder
        for folder in sorted(PACKAGE_DIR.glob("*/templates"))
        if folder.is_dir()
    }


@pass_context
def _gettext(context: Context, message: str, /, **params: object) -> str:
    """Translate ``message`` into the page's locale and fill its ``{named}`` parameters."""
    return translate(message, context.get("locale"), **params)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int, /, **params: object) -> str:
    raise NotImplementedError("no plural forms in templates: write one message with {count}")


def html_lang(locale: str) -> str:
    """Return the BCP 47 tag of a locale (``zh_CN`` → ``zh-CN``), for ``lang`` and headers."""
    return locale.replace("_", "-")


environment = Environment(
    loader=PrefixLoader(
        {name: FileSystemLoader(path) for name, path in template_folders().items()}
    ),
    autoescape=True,
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(_gettext, _ngettext, newstyle=False)  # type: ignore[attr-defined]
environment.globals["static_url"] = static_url
environment.filters["html_lang"] = html_lang
environment.filters["money"] = display_money
environment.filters["count"] = lambda value: f"{value:,}"
#: Data as JSON text to read (Chinese as itself, not \u escapes); autoescaped like any text.
environment.filters["json_text"] = lambda value: json.dumps(
    value, ensure_ascii=False, sort_keys=True
)
environment.filters["local"] = lambda value: local(value).strftime("%Y-%m-%d %H:%M")

templates = Jinja2Templates(env=environment)


def render(
    request: Request,
    name: str,
    /,
    *,
    locale: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render the template ``name`` in ``locale``, by default the request's language."""
    chosen = locale or negotiate(request.headers.get("accept-language"))
    return templates.TemplateResponse(
        request,
        name,
        {"locale": chosen, **context},
        status_code=status_code,
        headers={"Content-Language": html_lang(chosen), "Vary": "Accept-Language"},
    )
