"""Request and response models of the benefits API (pydantic)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from memberkit.benefit import service
from memberkit.benefit.rules import BenefitKind, Period
from memberkit.kit.schemas import ONE_LINE, Input, LocalTime, PlainText

CODE = r"^[a-z0-9_]{1,32}$"


class BenefitIn(Input):
    """A benefit the merchant defines and its stores verify (核销)."""

    code: str = Field(pattern=CODE, examples=["free_parking"])
    kind: BenefitKind
    name: PlainText = Field(min_length=1, max_length=50, examples=["免费停车"])
    description: PlainText = Field(default="", max_length=500)
    icon: str = Field(default="ti-gift", pattern=r"^ti-[a-z0-9-]{1,29}$")


class BenefitPatch(Input):
    """What may change of a benefit (a system benefit is never switched off)."""

    name: Annotated[str, Field(min_length=1, max_length=50), ONE_LINE] | None = None
    description: Annotated[str, Field(max_length=500), ONE_LINE] | None = None
    icon: str | None = Field(default=None, pattern=r"^ti-[a-z0-9-]{1,29}$")
    active: bool | None = None


class GrantBody(Input):
    """A benefit given to a tier: ``quota`` per ``period`` (no quota: no limit), a value."""

    tier: str = Field(min_length=1, max_length=32)
    quota: int | None = Field(default=None, ge=1, le=10_000)
    period: Period = Period.month
    value: int = Field(default=0, ge=0, le=1_000_000)


class GrantOut(BaseModel):
    """A grant as stored."""

    tier: str
    quota: int | None
    period: Period
    value: int


class BenefitOut(BaseModel):
    """A benefit and the tiers that have it."""

    code: str
    kind: BenefitKind
    name: str
    description: str
    icon: str
    active: bool
    system: bool
    grants: list[GrantOut]

    @classmethod
    def of(cls, view: service.BenefitView) -> BenefitOut:
        """Build from the service's view."""
        benefit = view.benefit
        return cls(
            code=benefit.code,
            kind=BenefitKind(benefit.kind),
            name=benefit.name,
            description=benefit.description,
            icon=benefit.icon,
            active=benefit.active,
            system=view.system,
            grants=[
                GrantOut(tier=g.tier_code, quota=g.quota, period=g.period, value=g.value)
                for g in view.grants
            ],
        )


class MemberBenefitOut(BaseModel):
    """A benefit the member's tier has, and what is left of it this period."""

    code: str
    kind: BenefitKind
    name: str
    quota: int | None
    period: Period
    value: int
    used: int
    left: int | None
    renews_at: LocalTime | None


class UseIn(Input):
    """A verification at a store, made now (never dated back); ``external_id`` makes it unique."""

    external_id: PlainText = Field(min_length=1, max_length=100)
    quantity: int = Field(default=1, ge=1, le=100)
    store_code: str | None = Field(default=None, max_length=32)


class UndoIn(Input):
    """Why a verification is undone."""

    reason: PlainText = Field(min_length=1, max_length=200)


class UseOut(BaseModel):
    """A use as made (or undone), and what is left this period (None: no limit)."""

    external_id: str
    member_no: str
    benefit: str
    quantity: int
    used_at: LocalTime
    undone_at: LocalTime | None
    left: int | None

    @classmethod
    def of(cls, result: service.UseResult) -> UseOut:
        """Build from the service's result."""
        return cls(
            external_id=result.external_id,
            member_no=result.member_no,
            benefit=result.benefit_code,
            quantity=result.quantity,
            used_at=result.used_at,
            undone_at=result.undone_at,
            left=result.left,
        )
