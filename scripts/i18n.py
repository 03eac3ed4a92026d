"""Refresh the translation catalogs from the ``_("...")`` messages in the source.

Run from the repository root after adding or changing user-facing text::

    .venv/bin/python scripts/i18n.py

It extracts every message marked with ``_`` under ``src/memberkit`` (Python files and the
Jinja2 templates, as ``babel.cfg`` maps them) into
``src/memberkit/locale/messages.pot`` (Babel, no source locations), then updates each
``src/memberkit/locale/<locale>/LC_MESSAGES/messages.po`` like ``pybabel update``:
existing translations are kept, new messages are added untranslated (no fuzzy guesses)
and removed ones become obsolete ``#~`` entries. English is the source language, so
empty ``en`` entries are filled with their msgid; translate the new empty ``zh_CN``
entries by hand, then run ``.venv/bin/pytest -q tests/test_i18n.py``.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "memberkit"
LOCALE_DIR = SOURCE / "locale"
TEMPLATE = LOCALE_DIR / "messages.pot"
MAPPING = ROOT / "babel.cfg"


def main() -> None:
    """Extract the template, update every catalog and mirror msgids into ``en``."""
    pybabel = CommandLineInterface().run
    extract = "pybabel -q extract -k _ --no-location --sort-output --project memberkit"
    pybabel([*extract.split(), "-F", str(MAPPING), "-o", str(TEMPLATE), str(SOURCE)])
    update = "pybabel -q update --no-fuzzy-matching -i"
    pybabel([*update.split(), str(TEMPLATE), "-d", str(LOCALE_DIR)])
    english = LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
    with english.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
    buffer = BytesIO()
    write_po(buffer, catalog)
    english.write_bytes(buffer.getvalue())


if __name__ == "__main__":
    main()
