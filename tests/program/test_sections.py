"""The settings sections: each parses its default, the registry is whole, the program service
knows no domain's rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from memberkit.growth.settings import GROWTH, GrowthSettings
from memberkit.ledger.settings import VALIDITY
from memberkit.ledger.validity import ValidityPolicy
from memberkit.order.rules import EarningRules
from memberkit.order.settings import EARNING
from memberkit.program import service
from memberkit.program.settings import CALENDAR
from memberkit.sections import BY_NAME, SECTIONS

SERVICE = Path(service.__file__)


def test_every_section_parses_its_default_and_stores_it_as_it_is() -> None:
    assert len(BY_NAME) == len(SECTIONS)
    for section in SECTIONS:
        default = section.default()
        assert section.render(default, section.parse(default)) == default, section.name
        assert section.schema()["type"] == "object", section.name


def test_the_program_service_imports_no_domains_rules_at_runtime() -> None:
    # given the imports of program/service.py outside ``if TYPE_CHECKING:``
    tree = ast.parse(SERVICE.read_text())
    runtime: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.module:
                runtime.append(inner.module)
    # then none is a domain's rules or settings: it reads them through the registry only
    domains = ("order", "ledger.validity", "tier", "growth", "wallet", "program.policies")
    assert [m for m in runtime if m.startswith(tuple(f"memberkit.{d}" for d in domains))] == []
    assert "memberkit.sections" in runtime


@pytest.mark.usefixtures("database")
def test_a_section_reads_typed_and_the_old_names_read_the_same(
    program: service.ProgramConfig,
) -> None:
    earning: EarningRules = program.section(EARNING)
    validity: ValidityPolicy = program.section(VALIDITY)
    growth: GrowthSettings = program.section(GROWTH)
    assert earning is program.earning and isinstance(earning, EarningRules)
    assert validity is program.validity
    assert (growth.behaviours, growth.decay, growth.spend_cap) == (
        program.behaviours,
        program.decay,
        program.spend_cap,
    )
    assert program.section(CALENDAR) is program.tz
    assert program.timezone == "Asia/Shanghai"
