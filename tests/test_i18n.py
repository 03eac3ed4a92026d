"""The translation catalogs cover every marked message; locale negotiation (no database)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from memberkit.config import settings
from memberkit.kit import i18n
from memberkit.kit.i18n import LOCALES, catalog, negotiate, translate

SOURCE = Path(i18n.__file__).resolve().parent.parent
#: What scripts/i18n.py extracts from: Python files and the Jinja2 templates.
MAPPING = Path(__file__).resolve().parent.parent / "babel.cfg"
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
HINT = "run `.venv/bin/python scripts/i18n.py` and translate the new entries"


def _extracted() -> set[str]:
    with MAPPING.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    return {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(SOURCE),
            method_map=method_map,
            options_map=options_map,
            keywords={"_": None},
            comment_tags=(),
        )
        if isinstance(message, str) and message
    }


MESSAGES = sorted(_extracted())


def test_source_has_marked_messages() -> None:
    assert len(MESSAGES) > 10
    assert "Not enough points: {needed} needed, {balance} available." in MESSAGES


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_translates_every_message(locale: str) -> None:
    translations = catalog(locale)
    missing = [m for m in MESSAGES if not translations.get(m, "").strip()]
    assert not missing, f"{len(missing)} untranslated in {locale} ({HINT}):\n" + "\n".join(missing)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_placeholders(locale: str) -> None:
    wrong = [
        f"{msgid!r} -> {msgstr!r}"
        for msgid, msgstr in catalog(locale).items()
        if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(msgstr))
    ]
    assert not wrong, f"placeholders differ in {locale}:\n" + "\n".join(wrong)


def test_english_catalog_is_identity() -> None:
    translations = catalog("en")
    assert all(translations.get(m) == m for m in MESSAGES)


@pytest.fixture
def zh_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_locale", "zh_CN")


@pytest.mark.usefixtures("zh_default")
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("zh-CN", "zh_CN"),
        ("zh_CN", "zh_CN"),
        (None, "zh_CN"),
        ("", "zh_CN"),
        ("fr", "zh_CN"),
        ("fr-FR,en;q=0.5", "en"),
        ("zh;q=0.5, en;q=0.8", "en"),
        ("en;q=0.3, zh-CN;q=0.7", "zh_CN"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_translate_fills_parameters() -> None:
    message = "Not enough points: {needed} needed, {balance} available."
    assert translate(message, "zh_CN", needed=100, balance=30) == "积分不足：需要 100，可用 30。"
    assert translate(message, "en", needed=100, balance=30) == (
        "Not enough points: 100 needed, 30 available."
    )


def test_translate_falls_back_to_message() -> None:
    assert translate("Not in any catalog: {x}", "zh_CN", x=1) == "Not in any catalog: 1"


def test_a_rules_problem_is_translated_inside_the_refusal() -> None:
    from memberkit.program.service import InvalidProgramSettings
    from memberkit.wallet.rules import WalletRulesError, parse_wallet_rules

    with pytest.raises(WalletRulesError) as caught:
        parse_wallet_rules({"bonuses": [], "max_balance": "0.00"})
    refusal = InvalidProgramSettings(problem=caught.value.text)
    assert str(caught.value) == "max_balance must be more than zero"  # logs stay English
    assert refusal.detail("zh_CN") == "会员方案设置无效：max_balance 须大于零"
    assert refusal.detail("en") == "Invalid program settings: max_balance must be more than zero"
