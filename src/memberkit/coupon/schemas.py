"""Request and response models of the coupons API (pydantic)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from memberkit.coupon import queries, service
from memberkit.coupon.models import Coupon, CouponBatch, CouponTemplate
from memberkit.coupon.rules import WHOLE, CouponKind
from memberkit.kit.schemas import (
    ONE_LINE,
    Input,
    LocalTime,
    Money,
    MoneyOut,
    PlainText,
    refuse_null,
)

CODE = r"^[a-z0-9_]{1,32}$"
#: A scope list entry: a store code, a channel, a category or a SKU.
Entry = Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
Entries = Annotated[list[Entry], Field(max_length=service.MAX_SCOPE_ENTRIES)]


class ScopeIn(Input):
    """Where and on what a coupon applies; an empty include list means every one."""

    stores: Entries = []
    exclude_stores: Entries = []
    channels: Entries = []
    categories: Entries = []
    exclude_categories: Entries = []
    skus: Entries = []
    exclude_skus: Entries = []


class TemplateFields(Input):
    """The fields a template may have; each kind uses its own (the others stay empty)."""

    name: PlainText = Field(min_length=1, max_length=50, examples=["满100减20"])
    description: PlainText = Field(default="", max_length=500)
    kind: CouponKind
    off: Money = Field(default=0, description="amount_off, cash: what it takes off")
    threshold: Money = Field(default=0, description="amount_off: the spend it needs (满)")
    percent_bp: int = Field(default=0, ge=0, le=WHOLE, description="percent_off: 1500 = 15 % off")
    cap: Money | None = Field(default=None, description="percent_off: the most it takes off")
    gift_sku: str | None = Field(default=None, min_length=1, max_length=64)
    min_spend: Money = 0
    scope: ScopeIn = Field(default_factory=ScopeIn)
    with_coupons: bool = False
    with_tier_discount: bool = True
    with_points: bool = True
    valid_from: date | None = Field(default=None, description="first day (program's timezone)")
    valid_until: date | None = Field(default=None, description="last day, inclusive")
    valid_days: int | None = Field(default=None, ge=1, le=service.MAX_VALID_DAYS)
    per_member_limit: int | None = Field(default=None, ge=1, le=1000)
    budget_count: int | None = Field(default=None, ge=1, le=100_000_000)
    budget: Money | None = Field(default=None, description="the most discount all may give")
    return_on_refund: bool = True
    active: bool = True
    on_registration: bool = Field(default=False, description="given on registration (新人礼)")
    on_upgrade_tier: str | None = Field(
        default=None, max_length=32, description="given on an upgrade to this tier (升级礼包)"
    )
    on_birthday: bool = Field(default=False, description="given on the member's birthday")

    def given(self) -> service.TemplateIn:
        """The template as the service takes it."""
        return service.TemplateIn(
            **_service_fields(_raw(self, exclude={"scope", "code"})),
            scope=self.scope.model_dump(),
        )


#: Field names of the API that differ from the service's.
_RENAMED = {
    "off": "off_minor",
    "threshold": "threshold_minor",
    "cap": "cap_minor",
    "min_spend": "min_spend_minor",
    "budget": "budget_minor",
}


def _raw(model: BaseModel, *, exclude: set[str], only_set: bool = False) -> dict[str, Any]:
    """A model's values as parsed (money in minor units; ``model_dump`` would format it)."""
    names = model.model_fields_set if only_set else set(type(model).model_fields)
    return {name: getattr(model, name) for name in names - exclude}


def _service_fields(values: dict[str, Any]) -> dict[str, Any]:
    return {_RENAMED.get(name, name): value for name, value in values.items()}


class TemplateIn(TemplateFields):
    """A coupon template (优惠券模板): what a coupon gives, where, when, and how many."""

    code: str = Field(pattern=CODE, examples=["new_member_20"])


class TemplatePatch(Input):
    """What changes of a template: any of its fields (terms frozen once it has issued)."""

    name: Annotated[str, Field(min_length=1, max_length=50), ONE_LINE] | None = None
    description: Annotated[str, Field(max_length=500), ONE_LINE] | None = None
    off: Money | None = None
    threshold: Money | None = None
    percent_bp: int | None = Field(default=None, ge=0, le=WHOLE)
    cap: Money | None = None
    gift_sku: str | None = Field(default=None, min_length=1, max_length=64)
    min_spend: Money | None = None
    scope: ScopeIn | None = None
    with_coupons: bool | None = None
    with_tier_discount: bool | None = None
    with_points: bool | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    valid_days: int | None = Field(default=None, ge=1, le=service.MAX_VALID_DAYS)
    per_member_limit: int | None = Field(default=None, ge=1, le=1000)
    budget_count: int | None = Field(default=None, ge=1, le=100_000_000)
    budget: Money | None = None
    return_on_refund: bool | None = None
    active: bool | None = None
    on_registration: bool | None = None
    on_upgrade_tier: str | None = Field(default=None, max_length=32)
    on_birthday: bool | None = None

    # Fields that may be left out but never cleared: a null would be stored as nothing.
    _not_null = field_validator(
        "name",
        "description",
        "off",
        "threshold",
        "percent_bp",
        "min_spend",
        "with_coupons",
        "with_tier_discount",
        "with_points",
        "return_on_refund",
        "active",
        "on_registration",
        "on_birthday",
    )(refuse_null)

    def changes(self) -> dict[str, Any]:
        """The fields given (an explicit null clears an optional one), as the service names them."""
        values = _raw(self, exclude={"scope"}, only_set=True)
        if "scope" in self.model_fields_set:
            values["scope"] = self.scope.model_dump() if self.scope is not None else {}
        return _service_fields(values)


class ScopeOut(BaseModel):
    """A template's scope lists."""

    stores: list[str]
    exclude_stores: list[str]
    channels: list[str]
    categories: list[str]
    exclude_categories: list[str]
    skus: list[str]
    exclude_skus: list[str]


class TemplateOut(BaseModel):
    """A template as stored, with its budget counters."""

    code: str
    name: str
    description: str
    kind: CouponKind
    off: MoneyOut
    threshold: MoneyOut
    percent_bp: int
    cap: MoneyOut | None
    gift_sku: str | None
    min_spend: MoneyOut
    scope: ScopeOut
    with_coupons: bool
    with_tier_discount: bool
    with_points: bool
    valid_from: date | None
    valid_until: date | None
    valid_days: int | None
    per_member_limit: int | None
    budget_count: int | None
    budget: MoneyOut | None
    return_on_refund: bool
    active: bool
    on_registration: bool
    on_upgrade_tier: str | None
    on_birthday: bool
    issued: int
    discount_used: MoneyOut

    @classmethod
    def of(cls, template: CouponTemplate, terms: service.TemplateIn) -> TemplateOut:
        """Build from a template and its terms as given (local days)."""
        scope = {name: list(terms.scope.get(name, [])) for name in ScopeOut.model_fields}
        return cls(
            code=template.code,
            name=template.name,
            description=template.description,
            kind=CouponKind(template.kind),
            off=template.off_minor,
            threshold=template.threshold_minor,
            percent_bp=template.percent_bp,
            cap=template.cap_minor,
            gift_sku=template.gift_sku,
            min_spend=template.min_spend_minor,
            scope=ScopeOut(**scope),
            with_coupons=template.with_coupons,
            with_tier_discount=template.with_tier_discount,
            with_points=template.with_points,
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            valid_days=template.valid_days,
            per_member_limit=template.per_member_limit,
            budget_count=template.budget_count,
            budget=template.budget_minor,
            return_on_refund=template.return_on_refund,
            active=template.active,
            on_registration=template.on_registration,
            on_upgrade_tier=template.on_upgrade_tier,
            on_birthday=template.on_birthday,
            issued=template.issued,
            discount_used=template.discount_used_minor,
        )


class IssueIn(Input):
    """A coupon given by hand to one member; ``external_id`` makes it once only."""

    member_no: str = Field(pattern=r"^[0-9]{1,20}$")
    external_id: PlainText = Field(min_length=1, max_length=80)
    reason: PlainText = Field(default="", max_length=200)


class CouponOut(BaseModel):
    """An issued coupon; ``state`` is ``expired`` for an available one past its last moment."""

    code: str
    template: str
    name: str
    kind: CouponKind
    member_no: str | None
    state: str
    source: str
    valid_from: LocalTime
    valid_until: LocalTime
    issued_at: LocalTime
    used_at: LocalTime | None
    revoked_at: LocalTime | None
    revoke_reason: str

    @classmethod
    def of(
        cls, coupon: Coupon, template: CouponTemplate, state: str, member_no: str | None
    ) -> CouponOut:
        """Build from a coupon, its template and its state."""
        return cls(
            code=coupon.code,
            template=template.code,
            name=template.name,
            kind=CouponKind(template.kind),
            member_no=member_no,
            state=state,
            source=coupon.source,
            valid_from=coupon.valid_from,
            valid_until=coupon.valid_until,
            issued_at=coupon.issued_at,
            used_at=coupon.used_at,
            revoked_at=coupon.revoked_at,
            revoke_reason=coupon.revoke_reason,
        )


class IssuedOut(CouponOut):
    """A coupon as issued by hand, and whether this request issued it."""

    created: bool


class RevokeIn(Input):
    """Why a coupon is revoked."""

    reason: PlainText = Field(min_length=1, max_length=200)


class FilterIn(Input):
    """Which active members a bulk issue goes to (every one given must match)."""

    tier: str | None = Field(default=None, max_length=32)
    tag: str | None = Field(default=None, max_length=64)
    store_code: str | None = Field(default=None, max_length=32)
    registered_from: date | None = Field(default=None, description="first day, inclusive")
    registered_to: date | None = Field(default=None, description="last day, inclusive")


class BatchIn(Input):
    """A bulk issue: to ``members`` (card numbers or phones) or to the members a filter finds."""

    wide_lists = frozenset({"members"})

    template: str = Field(pattern=CODE)
    external_id: PlainText = Field(min_length=1, max_length=100)
    members: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(
        default=None, max_length=service.MAX_ROWS
    )
    filter: FilterIn | None = None


class BatchOut(BaseModel):
    """A bulk issue and how far it went: ``state`` pending, running, done or failed."""

    id: int
    external_id: str
    template: str
    kind: str
    state: str
    total: int
    done: int
    issued: int
    skipped: int
    failed: int
    problems: list[dict[str, Any]]
    created_at: LocalTime
    finished_at: LocalTime | None

    @classmethod
    def of(cls, batch: CouponBatch, template_code: str) -> BatchOut:
        """Build from a batch."""
        return cls(
            id=batch.id,
            external_id=batch.external_id,
            template=template_code,
            kind=batch.kind,
            state=batch.state,
            total=batch.total,
            done=batch.done,
            issued=batch.issued,
            skipped=batch.skipped,
            failed=batch.failed,
            problems=list(batch.problems),
            created_at=batch.created_at,
            finished_at=batch.finished_at,
        )


class CodeRow(Input):
    """One partner code, optionally held by a member (card number)."""

    code: str = Field(min_length=1, max_length=40)
    member_no: str | None = Field(default=None, max_length=40)


class ImportIn(Input):
    """A partner's codes for a template, kept as given (stripped)."""

    wide_lists = frozenset({"rows"})

    rows: list[CodeRow] = Field(min_length=1, max_length=service.MAX_ROWS)


class ImportOut(BaseModel):
    """How many codes came in, and each row refused with its code."""

    imported: int
    refused: list[dict[str, Any]]


class FiguresOut(BaseModel):
    """A template's liability and effect as of now."""

    template: str
    name: str
    kind: CouponKind
    issued: int
    redeemed: int
    expired: int
    outstanding: int
    revoked: int
    discount_given: MoneyOut
    orders: int
    sales: MoneyOut

    @classmethod
    def of(cls, template: CouponTemplate, figures: queries.Figures) -> FiguresOut:
        """Build from a template and its figures."""
        return cls(
            template=template.code,
            name=template.name,
            kind=CouponKind(template.kind),
            issued=figures.issued,
            redeemed=figures.used,
            expired=figures.expired,
            outstanding=figures.outstanding,
            revoked=figures.revoked,
            discount_given=figures.discount_minor,
            orders=figures.orders,
            sales=figures.sales_minor,
        )
