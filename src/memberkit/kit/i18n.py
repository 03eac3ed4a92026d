"""Translations: gettext catalogs (zh_CN default, en) read with Babel at first use.

User-facing text is written in English in the code, marked with :func:`_` so it can be
extracted, and translated at the edge by :func:`translate` into the request's language.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from memberkit.config import settings

LOCALES = ("zh_CN", "en")
_LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def _(message: str) -> str:
    """Mark a message for translation; returns it unchanged (translated later)."""
    return message


@lru_cache(maxsize=len(LOCALES))
def catalog(locale: str) -> dict[str, str]:
    """Return the msgid -> msgstr map of one locale's catalog."""
    path = _LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=locale)
    return {
        str(message.id): str(message.string)
        for message in parsed
        if message.id and isinstance(message.id, str) and message.string
    }


def translate(message: str, locale: str | None = None, /, **params: object) -> str:
    """Translate a marked message into ``locale`` and fill its ``{named}`` parameters.

    A parameter that is itself a :class:`Text` is translated into the same locale.
    """
    text = catalog(locale or settings.default_locale).get(message, message)
    if not params:
        return text
    return text.format(
        **{
            name: value.translate(locale) if isinstance(value, Text) else value
            for name, value in params.items()
        }
    )


class Text:
    """A marked message and its parameters, translated when shown; English as ``str()``.

    Lets a pure rule say what is wrong (``Text(_("tier {code}: …"), code=code)``) and the edge
    say it in the request's language, also inside another message's ``{problem}``.
    """

    __slots__ = ("message", "params")

    def __init__(self, message: str, /, **params: object) -> None:
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return self.message.format(**self.params) if self.params else self.message

    def __repr__(self) -> str:
        return f"Text({str(self)!r})"

    def translate(self, locale: str | None = None) -> str:
        """Return the message in ``locale`` (the default locale when None)."""
        return translate(self.message, locale, **self.params)


class TextError(ValueError):
    """A rule's refusal whose message is a :class:`Text` (``str()`` gives the English)."""

    def __init__(self, message: str, /, **params: object) -> None:
        self.text = Text(message, **params)
        super().__init__(str(self.text))


def negotiate(accept_language: str | None) -> str:
    """Pick zh_CN or en from an Accept-Language header; the default locale otherwise."""
    if not accept_language:
        return settings.default_locale
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower().replace("_", "-")))
    for _q, _p, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return settings.default_locale
