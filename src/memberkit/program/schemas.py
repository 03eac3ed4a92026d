"""Request and response models of the program API (pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictInt

from memberkit.kit.schemas import Input


class ProgramOut(BaseModel):
    """The program and its settings."""

    code: str
    name: str
    currency: str
    points_name: str
    points_per_currency_unit: int
    earning_rules: dict[str, Any]
    points_validity: dict[str, Any]
    policies: dict[str, Any]


class ProgramPatch(Input):
    """New settings; only the fields given change. See the README for the rule format."""

    earning_rules: dict[str, Any] | None = Field(
        default=None,
        examples=[
            {
                "points_per_unit": "1",
                "growth_per_unit": "1",
                "rounding": "floor",
                "min_order_amount": "1.00",
                "excluded_categories": ["gift_card"],
                "category_multipliers": {"beauty": "1.5"},
                "store_multipliers": {"SH001": "2"},
                "date_multipliers": [{"name": "会员日", "weekday": 3, "multiplier": "2"}],
            }
        ],
    )
    points_validity: dict[str, Any] | None = Field(
        default=None, examples=[{"type": "end_of_year", "years": 1}]
    )
    points_per_currency_unit: StrictInt | None = Field(default=None, ge=1, le=10_000)
    policies: dict[str, Any] | None = Field(
        default=None,
        description="Only the policies given change; the others keep their values.",
        examples=[
            {"backdate_days": 30, "cross_store_returns": False, "idempotency_retention_days": 30}
        ],
    )


class SectionOut(BaseModel):
    """A settings section: name, title (in the request's language), JSON Schema and value.

    The value is the program's now: its default when the program never set the section.
    """

    name: str
    title: str
    json_schema: dict[str, Any] = Field(serialization_alias="schema")
    value: Any


class SectionsOut(BaseModel):
    """Every settings section of the program, in a stable order."""

    sections: list[SectionOut]
