"""The cashier screen (``/pos``): identify a member, ring up a sale, refund, recharge, register.

Made for a till or a tablet and a barcode scanner: the identify field has the focus and a
scanner's Enter submits it. Every page calls the services the API's POS endpoints call;
the store is always the signed-in staff member's (:attr:`StaffContext.store_code`), never a
form field. Each change carries a key rendered into its form and runs through
:meth:`memberkit.uow.Work.once` under the API's key scheme (:mod:`memberkit.kit.keys`), so a
double tap or a retry posts once; each writes an audit entry in its own transaction.

A sale's preview posts the order for real with :func:`memberkit.order.service.post_order` in
a transaction that is always rolled back (there is no preview endpoint in the API): what it
shows is exactly what confirming would do, and nothing of it is kept. A sale may name coupon
codes (typed or scanned); the member's tier discount and the coupons come off the lines, and
cash, when no cash amount is typed, pays what the other payments leave of the due, decided in
the posting's own unit of work.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from memberkit.audit import service as audit_service
from memberkit.errors import MemberkitError
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit import keys
from memberkit.kit.i18n import Text, _, translate
from memberkit.kit.money import MoneyFormatError, parse_money
from memberkit.kit.time import utcnow
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.member.rules import mask_name, mask_phone, normalize_phone, valid_member_no
from memberkit.member.service import MemberRef
from memberkit.order import queries as order_queries
from memberkit.order import rules as order_rules
from memberkit.order import service as order_service
from memberkit.order.errors import OrderAmountImplausible, OrderAmountZero
from memberkit.order.schemas import MAX_COUPONS, MAX_QUANTITY
from memberkit.pos.errors import OrderOfAnotherStore, TillNeedsStore
from memberkit.staff.rules import Action
from memberkit.tier import service as tier_service
from memberkit.wallet import service as wallet_service
from memberkit.wallet.models import RechargeMethod

router = APIRouter(prefix="/pos", include_in_schema=False)
Till = Annotated[StaffContext, Depends(require_action(Action.identify_members))]

#: A form's key: what :func:`new_key` makes (a retry of the same form carries the same one).
FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{16,43}$")
#: Payment fields of the sale form, in the order they are shown; points are counted in points.
MONEY_METHODS = ("cash", "wechat", "alipay", "card", "wallet")
PAY_FIELDS = (*MONEY_METHODS, "points")
#: What each way of paying is called on the screen and the receipt.
METHOD_NAMES = {
    "cash": _("Cash"),
    "wechat": _("WeChat Pay"),
    "alipay": _("Alipay"),
    "card": _("Bank card"),
    "wallet": _("Stored value"),
    "points": _("Points"),
    "coupon": _("Coupon"),
}
#: The most lines one sale form takes, and the longest text of any field.
MAX_LINES = 20
FIELD_MAX = 100
#: The coupons field holds several codes.
COUPONS_MAX = 500


def new_key() -> str:
    """A fresh key for a form: the idempotency of what submitting it does."""
    return secrets.token_urlsafe(16)


def form_text(form: Mapping[str, Any], name: str, *, most: int = FIELD_MAX) -> str:
    """A form field's text, stripped and cut one past ``most`` (so a longer one is told)."""
    value = form.get(name)
    return value.strip()[: most + 1] if isinstance(value, str) else ""


def _texts(form: Any, name: str) -> list[str]:
    return [v.strip()[: FIELD_MAX + 1] for v in form.getlist(name) if isinstance(v, str)]


def till_store(staff: StaffContext, action: Action, form: Mapping[str, Any] | None = None) -> str:
    """The store the staff member books to (the one they work for), once they may ``action``.

    A form's hidden ``store`` must be that store: one made for another is refused.
    """
    store_code = staff.store_code
    if store_code is None:
        staff.actor.require(action)
        raise TillNeedsStore()
    staff.actor.require(action, store_code=store_code)
    if form is not None:
        staff.actor.require_same_store(form_text(form, "store")[:32], working=store_code)
    return store_code


def _render(
    staff: StaffContext, name: str, /, *, status_code: int = 200, **context: Any
) -> Response:
    """Render a page of the till, with the payment methods' names in the staff's language."""
    names = {method: translate(text, staff.locale) for method, text in METHOD_NAMES.items()}
    return staff.render(name, status_code=status_code, method_names=names, **context)


def _audit(
    staff: StaffContext,
    session: Session,
    action: str,
    subject_type: str,
    subject_id: str,
    after: Any,
) -> None:
    """Record what the staff member did at the till, in the change's own transaction."""
    audit_service.record(
        session,
        program_id=staff.program.id,
        origin=staff.origin,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        after=after,
    )


# --- the member shown at the till ------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A member as the till shows one: personal data masked unless the role may see it."""

    member_no: str
    name: str
    phone: str
    status: str
    tier_name: str
    tier_level: int
    points: int
    growth: int
    wallet: int
    notice: tier_service.NoticeView | None
    orders: list[Any] = field(default_factory=list)


def member_shown(staff: StaffContext, session: Session, member: Member) -> Shown:
    """The member as the till's pages show them (masked unless the role sees personal data)."""
    view = member_service.view(session, member)
    personal = staff.actor.sees_personal_data
    tier = staff.program.ladder.tier(member.tier_code)
    notice = tier_service.pending_notice(
        session, ladder=staff.program.ladder, member_id=member.id, review_at=member.tier_review_at
    )
    orders: list[Any] = []
    if staff.store_code is not None:
        orders = order_queries.recent_at_store(
            session, program_id=staff.program.id, member_id=member.id, store_code=staff.store_code
        )
    return Shown(
        member_no=view.member_no,
        name=(view.name if personal else mask_name(view.name)) or "",
        phone=view.phone if personal else mask_phone(view.phone),
        status=view.status,
        tier_name=tier.name,
        tier_level=tier.level,
        points=view.points_balance,
        growth=view.growth_balance,
        wallet=view.wallet_balance,
        notice=notice,
        orders=orders,
    )


def naming(raw: str) -> MemberRef:
    """What a typed or scanned identifier names: a card number, a phone, else a QR token."""
    if valid_member_no(raw):
        return MemberRef(member_no=raw)
    phone = normalize_phone(raw)
    if phone is not None:
        return MemberRef(phone=phone)
    return MemberRef(qr_token=raw)


def member_named(staff: StaffContext, session: Session, member_no: str) -> Member:
    """The member of a card number a till's form carries (refused if it is none)."""
    if not valid_member_no(member_no):
        raise member_service.InvalidMember(problem=Text(_("not a card number")))
    return member_service.find(session, program_id=staff.program.id, member_no=member_no)


def _till(staff: StaffContext, *, status_code: int = 200, **context: Any) -> Response:
    """The till's main page; ``context`` overrides what it shows (a member, errors, …)."""
    values: dict[str, Any] = {
        "member": None,
        "identify_error": None,
        "typed": "",
        "sale": None,
        "sale_errors": {},
        "sale_error": None,
        "recharge_error": None,
        "register_errors": {},
        "register_error": None,
        "register": {"phone": "", "name": ""},
        "store_code": staff.store_code,
        "methods": MONEY_METHODS,
        "preview": None,
        "recharge_methods": [str(method) for method in RechargeMethod],
        "key": new_key(),
        "recharge_key": new_key(),
    }
    values.update(context)
    return _render(staff, "pos/till.html", status_code=status_code, **values)


@router.get("")
def till(staff: Till, m: str | None = None) -> Response:
    """The till: the identify field (focused), then the member, the sale and the recharge."""
    if m is None:
        return _till(staff)
    with staff.work.transaction() as session:
        try:
            member = member_named(staff, session, m[:FIELD_MAX])
        except MemberkitError as exc:
            return _till(staff, status_code=exc.status, identify_error=exc.detail(staff.locale))
        shown = member_shown(staff, session, member)
    return _till(staff, member=shown)


@router.post("/identify")
async def identify(staff: Till) -> Response:
    """Find the member typed or scanned (card number, phone or QR token) and show them.

    Posted, so a phone number never lands in a URL; the page shown is the member's by card
    (``then=rewards``: their rewards waiting for pickup, the catalog's step of the till).
    """
    form = await staff.form()
    typed = form_text(form, "q")
    if not typed or len(typed) > FIELD_MAX:
        error = translate(_("Scan the member's card or type a card number or phone."), staff.locale)
        return _till(staff, status_code=422, identify_error=error)
    with staff.work.transaction() as session:
        try:
            member = member_service.find(
                session, program_id=staff.program.id, **vars(naming(typed))
            )
        except MemberkitError as exc:
            error = translate(_("No member found for what was entered."), staff.locale)
            return _till(staff, status_code=exc.status, identify_error=error)
        member_no = member.member_no
    shown = "/pos/rewards" if form_text(form, "then") == "rewards" else "/pos"
    return RedirectResponse(f"{shown}?m={member_no}", status_code=303)


# --- sales ----------------------------------------------------------------------------


@dataclass
class Sale:
    """A sale as the form gives it: lines, payments, and what its fingerprint is made of."""

    member_no: str
    key: str
    lines: list[order_service.LineIn]
    payments: list[order_service.PaymentIn]
    fields: dict[str, Any]
    errors: dict[str, str]
    #: The form's fields as typed, to show the form again (and carry it to the confirmation).
    typed: dict[str, Any] = field(default_factory=dict)
    #: The coupon codes typed or scanned.
    coupons: tuple[str, ...] = ()
    #: Whether cash pays what the other payments leave of the due (no cash amount typed).
    cash_rest: bool = False

    @property
    def external_id(self) -> str:
        """The order's external id, from the form's key."""
        return f"POS-{self.key}"

    @property
    def total_minor(self) -> int:
        """What the lines cost."""
        return sum(line.amount_minor for line in self.lines)

    @property
    def lines_open(self) -> bool:
        """Whether lines were typed (the form shows them open again)."""
        return any(any(row) for row in self.typed.get("rows", []))

    def request(self) -> dict[str, Any]:
        """The change asked for, as the idempotency fingerprint sees it."""
        return {"member_no": self.member_no, "sale": self.fields}


def _money(raw: str, name: str, errors: dict[str, str], locale: str) -> int | None:
    if not raw:
        return None
    try:
        minor = parse_money(raw)
    except MoneyFormatError:
        errors[name] = translate(_("Enter an amount such as 60.00."), locale)
        return None
    if minor < 0:
        errors[name] = translate(_("Enter an amount such as 60.00."), locale)
        return None
    return minor


def _count(raw: str, name: str, errors: dict[str, str], locale: str, *, most: int) -> int | None:
    if not raw:
        return None
    if not raw.isdecimal() or len(raw) > 13 or not 1 <= int(raw) <= most:
        errors[name] = translate(_("Enter a whole number from 1 to {most}."), locale, most=most)
        return None
    return int(raw)


def _parse_sale(staff: StaffContext, form: Any) -> Sale:
    """Read the sale form: the lines (or one amount) and the payments; errors by field."""
    locale, errors = staff.locale, {}
    member_no, key = form_text(form, "member"), form_text(form, "key")
    if not valid_member_no(member_no) or not FORM_KEY.fullmatch(key):
        errors["form"] = translate(
            _("This form is out of date: identify the member again."), locale
        )
    lines: list[order_service.LineIn] = []
    rows = list(zip(_texts(form, "sku"), _texts(form, "qty"), _texts(form, "price"), strict=False))
    for number, (sku, qty, price) in enumerate(rows[:MAX_LINES], start=1):
        if not (sku or qty or price):
            continue
        quantity = _count(qty or "1", f"qty-{number}", errors, locale, most=MAX_QUANTITY)
        unit = _money(price, f"price-{number}", errors, locale)
        if unit is None and f"price-{number}" not in errors:
            errors[f"price-{number}"] = translate(_("Enter an amount such as 60.00."), locale)
        if len(sku) > 64:
            errors[f"sku-{number}"] = translate(_("At most 64 characters."), locale)
        if quantity is not None and unit is not None:
            code = sku or f"ITEM{number}"
            lines.append(order_service.LineIn(code, "", "", quantity, unit, quantity * unit))
    amount = _money(form_text(form, "amount"), "amount", errors, locale)
    if not lines and amount is not None:
        lines.append(order_service.LineIn("SALE", "", "", 1, amount, amount))
    if not lines and not errors:
        errors["amount"] = translate(_("Enter the amount, or the lines, of the sale."), locale)
    paid: dict[str, int | None] = {
        method: _money(form_text(form, f"pay-{method}"), f"pay-{method}", errors, locale)
        for method in MONEY_METHODS
    }
    points = _count(form_text(form, "pay-points"), "pay-points", errors, locale, most=10**12)
    coupons = _coupon_codes(form_text(form, "coupons", most=COUPONS_MAX), errors, locale)
    payments: list[order_service.PaymentIn] = []
    if points:
        payments.append(order_service.PaymentIn("points", points=points))
    payments += [order_service.PaymentIn(m, paid[m]) for m in MONEY_METHODS if paid[m]]
    fields = {
        "lines": [[line.sku, line.quantity, line.unit_price_minor] for line in lines],
        # No cash typed: cash pays the rest of what is due (known under the member's lock).
        "payments": {m: paid[m] or 0 for m in MONEY_METHODS}
        | {"points": points or 0, "cash_rest": paid["cash"] is None},
        "coupons": list(coupons),
    }
    typed: dict[str, Any] = {
        name: form_text(form, name) for name in ("amount", *(f"pay-{m}" for m in PAY_FIELDS))
    }
    typed["coupons"] = " ".join(coupons)
    typed["rows"] = rows[:MAX_LINES]
    return Sale(
        member_no,
        key,
        lines,
        payments,
        fields,
        errors,
        typed,
        coupons=coupons,
        cash_rest=paid["cash"] is None,
    )


def _coupon_codes(raw: str, errors: dict[str, str], locale: str) -> tuple[str, ...]:
    """The coupon codes of the form: one a line or apart by spaces or commas (a scanner's)."""
    codes = tuple(dict.fromkeys(code for code in re.split(r"[\s,，;；]+", raw) if code))
    if len(codes) > MAX_COUPONS or any(len(code) > 40 for code in codes):
        errors["coupons"] = translate(
            _("At most {most} coupon codes of up to 40 characters."), locale, most=MAX_COUPONS
        )
    return codes


def _settled(
    staff: StaffContext, session: Session, sale: Sale, store_code: str
) -> list[order_service.PaymentIn]:
    """The sale's payments, cash paying the rest of what is due when no cash was typed.

    What is due is decided as the order decides it (:func:`order_service.checkout`: the
    member's tier discount and the coupons named), in the same unit of work.
    """
    if not sale.cash_rest:
        return sale.payments
    member = member_named(staff, session, sale.member_no)
    points = sum(payment.points or 0 for payment in sale.payments)
    decided = order_service.checkout(
        session,
        program=staff.program,
        member_id=member.id,
        tier_code=member.tier_code,
        lines=sale.lines,
        store_code=store_code,
        channel="store",
        at=utcnow(),
        codes=sale.coupons,
        pays_with_points=points > 0,
    )
    points_value = points * 100 // staff.program.points_per_currency_unit
    others = sum(p.amount_minor or 0 for p in sale.payments if p.method != "points")
    rest = decided.plan.due_minor - others - points_value
    if rest <= 0:
        return sale.payments
    cash = order_service.PaymentIn("cash", rest)
    return [*sale.payments[: 1 if points else 0], cash, *sale.payments[1 if points else 0 :]]


def _order(
    staff: StaffContext, session: Session, sale: Sale, store_code: str
) -> order_service.OrderIn:
    return order_service.OrderIn(
        external_id=sale.external_id,
        member=MemberRef(member_no=sale.member_no),
        store_code=store_code,
        channel="store",
        occurred_at=utcnow(),
        lines=sale.lines,
        payments=_settled(staff, session, sale, store_code),
        coupons=sale.coupons,
    )


def _sale_form(staff: StaffContext, sale: Sale, *, status_code: int, **context: Any) -> Response:
    """The till again with the sale form as it was sent, its errors next to its fields."""
    with staff.work.transaction() as session:
        try:
            shown = member_shown(staff, session, member_named(staff, session, sale.member_no))
        except MemberkitError as exc:
            return _till(staff, status_code=exc.status, identify_error=exc.detail(staff.locale))
    return _till(
        staff, status_code=status_code, member=shown, sale=sale, sale_errors=sale.errors, **context
    )


#: Refusals of the sale's amount (the order rules decide them): said next to the amount field.
AMOUNT_REFUSALS = frozenset({OrderAmountImplausible.code, OrderAmountZero.code})


def _sale_refused(staff: StaffContext, sale: Sale, exc: MemberkitError) -> Response:
    """The sale form again with why the sale was refused, by its amount when it is about it."""
    message = exc.detail(staff.locale)
    if exc.code in AMOUNT_REFUSALS:
        sale.errors["amount"] = message
        return _sale_form(staff, sale, status_code=exc.status)
    return _sale_form(staff, sale, status_code=exc.status, sale_error=message)


@dataclass(frozen=True)
class Preview:
    """What confirming a sale would do: computed by posting it in a rolled-back transaction."""

    total_minor: int
    points_paid: int
    wallet_paid: int
    points_earned: int
    growth_earned: int
    points_after: int
    tier_name: str
    upgraded: bool
    most_points: int
    most_wallet: int
    #: What the lines came to, what the tier discount and the coupons took off.
    lines_minor: int = 0
    tier_discount_minor: int = 0
    coupons: tuple[order_service.CouponDiscount, ...] = ()


async def _sale_sent(staff: StaffContext) -> tuple[str, Sale]:
    """The sale sent (its token checked) and the store it is booked to, the staff's own."""
    form = await staff.form()
    store_code = till_store(staff, Action.post_orders, form)
    return store_code, _parse_sale(staff, form)


@router.post("/sale/preview")
async def preview_sale(staff: Till) -> Response:
    """Show what the sale would pay and earn, and the tier it would reach; posts nothing."""
    store_code, sale = await _sale_sent(staff)
    if sale.errors:
        return _sale_form(staff, sale, status_code=422)
    held_points = held_wallet = 0
    try:
        # Always rolled back: the real posting, so the preview is what confirming would do.
        with staff.database.session_scope(rollback=True) as session:
            member = member_named(staff, session, sale.member_no)
            view = member_service.view(session, member)
            held_points, held_wallet = view.points_balance, view.wallet_balance
            result = order_service.post_order(
                session, program=staff.program, order=_order(staff, session, sale, store_code)
            )
    except MemberkitError as exc:
        return _sale_refused(staff, sale, exc)
    total = result.total_minor
    preview = Preview(
        total_minor=total,
        points_paid=result.points_paid,
        wallet_paid=result.wallet_principal_paid + result.wallet_bonus_paid,
        points_earned=result.points_earned,
        growth_earned=result.growth_earned,
        points_after=result.points_balance,
        tier_name=result.tier.name if result.tier else "",
        upgraded=bool(result.tier and result.tier.upgraded),
        most_points=order_rules.most_points_payable(
            total_minor=total,
            balance=held_points,
            points_per_unit=staff.program.points_per_currency_unit,
        ),
        most_wallet=min(held_wallet, total),
        lines_minor=result.lines_minor,
        tier_discount_minor=result.tier_discount_minor,
        coupons=result.coupons,
    )
    return _sale_form(staff, sale, status_code=200, preview=preview)


@router.post("/sale")
async def post_sale(staff: Till) -> Response:
    """Post the sale once per form key (a double tap or a retry gets the first receipt)."""
    store_code, sale = await _sale_sent(staff)
    if sale.errors:
        return _sale_form(staff, sale, status_code=422)

    def action(session: Session) -> dict[str, Any]:
        order = _order(staff, session, sale, store_code)
        result = order_service.post_order(session, program=staff.program, order=order)
        body = {
            "external_id": result.external_id,
            "member_no": result.member_no,
            "store_code": store_code,
            "total": result.total_minor,
            "points_paid": result.points_paid,
            "points_earned": result.points_earned,
            "wallet_paid": result.wallet_principal_paid + result.wallet_bonus_paid,
            "tier": result.tier.code if result.tier else None,
            **(
                {
                    "tier_discount": result.tier_discount_minor,
                    "coupons": {c.code: c.discount_minor for c in result.coupons},
                }
                if result.discount_minor
                else {}
            ),
        }
        _audit(staff, session, "order.post", "order", result.external_id, body)
        return body

    try:
        outcome = staff.work.once(
            key=keys.order(sale.external_id), request=sale.request(), action=action
        )
    except MemberkitError as exc:
        return _sale_refused(staff, sale, exc)
    return RedirectResponse(f"/pos/receipt/{outcome.body['external_id']}", status_code=303)


def _order_of_store(
    staff: StaffContext, session: Session, external_id: str, action: Action
) -> None:
    """Refuse an order the staff member may not ``action`` (another store's, or none's).

    A refund is of an order of the store worked for: one of another of one's own stores is
    refunded once that store is chosen.
    """
    found, order_store = order_queries.store_of_order(
        session, program_id=staff.program.id, external_id=external_id
    )
    if not found:
        raise order_service.OrderNotFound(external_id=external_id)
    staff.actor.require(action, store_code=order_store)
    working = staff.store_code
    if action == Action.refund_orders and working is not None and order_store != working:
        raise OrderOfAnotherStore(order_store=order_store or "", store_code=working)


@router.get("/receipt/{external_id}")
def receipt(staff: Till, external_id: str) -> Response:
    """The sale's receipt, print-friendly; an order of the staff member's stores only."""
    if len(external_id) > FIELD_MAX:
        raise order_service.OrderNotFound(external_id=external_id[:FIELD_MAX])
    with staff.work.transaction() as session:
        _order_of_store(staff, session, external_id, Action.view_orders)
        view = order_service.get_order(session, program=staff.program, external_id=external_id)
        row = order_queries.order_with_member(
            session, program_id=staff.program.id, external_id=external_id
        )
        assert row is not None
        lines = order_queries.lines_of(session, order_id=row[0].id)
        payments = order_queries.payments_of(session, order_id=row[0].id)
    return _render(
        staff, "pos/receipt.html", view=view, order=row[0], lines=lines, payments=payments
    )


# --- refunds --------------------------------------------------------------------------


def _refund_page(
    staff: StaffContext, external_id: str, *, status_code: int = 200, **context: Any
) -> Response:
    values: dict[str, Any] = {"order": None, "view": None, "lines": [], "error": None}
    values |= {"done": None, "order_no": external_id, "key": new_key(), "form": {}}
    values.update(context)
    if external_id and values["order"] is None:
        with staff.work.transaction() as session:
            try:
                _order_of_store(staff, session, external_id, Action.refund_orders)
                view = order_service.get_order(
                    session, program=staff.program, external_id=external_id
                )
            except MemberkitError as exc:
                values["error"] = values["error"] or exc.detail(staff.locale)
                status_code = status_code if status_code != 200 else exc.status
            else:
                values["view"] = view
                values["lines"] = order_queries.lines_of(session, order_id=view.order.order_id)
    return _render(staff, "pos/refund.html", status_code=status_code, **values)


@router.get("/refund")
def refund_page(staff: Till, order: str = "") -> Response:
    """Find an order of this store (scan its receipt) and show what is still refundable."""
    return _refund_page(staff, order.strip()[:FIELD_MAX])


@router.post("/refund")
async def refund(staff: Till) -> Response:
    """Refund the order in whole, by lines or by amount, once per form key."""
    form = await staff.form()
    if staff.store_code is not None:
        staff.actor.require_same_store(form_text(form, "store")[:32], working=staff.store_code)
    locale = staff.locale
    order_no, key, how = form_text(form, "order"), form_text(form, "key"), form_text(form, "how")
    errors: dict[str, str] = {}
    if not order_no or len(order_no) > FIELD_MAX or not FORM_KEY.fullmatch(key):
        return _refund_page(
            staff,
            "",
            status_code=422,
            error=translate(_("This form is out of date: find the order again."), locale),
        )
    amount: int | None = None
    quantities: dict[int, int] = {}
    if how == "amount":
        amount = _money(form_text(form, "amount"), "amount", errors, locale)
        if amount is None and not errors:
            errors["amount"] = translate(_("Enter an amount such as 60.00."), locale)
    elif how == "lines":
        for name in list(form.keys())[: MAX_LINES * 5]:
            if name.startswith("line-") and name[5:].isdecimal() and len(name) < 12:
                count = _count(form_text(form, name), name, errors, locale, most=MAX_QUANTITY)
                if count:
                    quantities[int(name[5:])] = count
        if not quantities and not errors:
            errors["lines"] = translate(_("Enter how many of a line come back."), locale)
    elif how != "all":
        errors["how"] = translate(_("Choose how to refund."), locale)
    if errors:
        return _refund_page(staff, order_no, status_code=422, form=errors)
    request = {"order": order_no, "how": how, "amount": amount, "lines": quantities}
    external_id = f"POSR-{key}"

    def action(session: Session) -> dict[str, Any]:
        _order_of_store(staff, session, order_no, Action.refund_orders)
        result = order_service.post_refund(
            session,
            program=staff.program,
            refund=order_service.RefundIn(
                external_id=external_id,
                order_external_id=order_no,
                occurred_at=None,
                amount_minor=amount,
                lines=quantities,
            ),
        )
        body = {
            "external_id": result.external_id,
            "order": result.order_external_id,
            "amount": result.amount_minor,
            "points_reversed": result.points_reversed,
            "points_returned": result.points_returned,
            "wallet_returned": result.wallet_principal_returned + result.wallet_bonus_returned,
            "points_balance": result.points_balance,
            "points_debt": result.points_debt,
        }
        if result.coupons_returned:
            body["coupons_returned"] = list(result.coupons_returned)
        _audit(staff, session, "order.refund", "order", order_no, body)
        return body

    try:
        outcome = staff.work.once(
            key=keys.refund(external_id),
            request={**request, "lines": sorted(quantities.items())},
            action=action,
        )
    except MemberkitError as exc:
        return _refund_page(staff, order_no, status_code=exc.status, error=exc.detail(locale))
    return _refund_page(staff, order_no, done=outcome.body)


# --- recharges ------------------------------------------------------------------------


def _recharge_form(
    staff: StaffContext, form: Any
) -> tuple[str, str, int | None, str, dict[str, str]]:
    locale, errors = staff.locale, {}
    member_no, key, method = (
        form_text(form, "member"),
        form_text(form, "key"),
        form_text(form, "method"),
    )
    if not valid_member_no(member_no) or not FORM_KEY.fullmatch(key):
        errors["form"] = translate(
            _("This form is out of date: identify the member again."), locale
        )
    amount = _money(form_text(form, "amount"), "amount", errors, locale)
    if not amount and "amount" not in errors:
        errors["amount"] = translate(_("Enter an amount such as 60.00."), locale)
    if method not in {str(m) for m in RechargeMethod}:
        errors["method"] = translate(_("Choose how the recharge is paid."), locale)
    return member_no, key, amount, method, errors


def _recharge_page(
    staff: StaffContext, member_no: str, *, status_code: int = 200, **context: Any
) -> Response:
    values: dict[str, Any] = {"bonus": None, "done": None, "error": None, "errors": {}}
    values |= {"amount": None, "method": "", "key": new_key()}
    values.update(context)
    with staff.work.transaction() as session:
        try:
            shown = member_shown(staff, session, member_named(staff, session, member_no))
        except MemberkitError as exc:
            return _till(staff, status_code=exc.status, identify_error=exc.detail(staff.locale))
    return _render(staff, "pos/recharge.html", status_code=status_code, member=shown, **values)


@router.post("/recharge/preview")
async def preview_recharge(staff: Till) -> Response:
    """Show the bonus a recharge would earn (the program's wallet rules) before it is taken."""
    form = await staff.form()
    till_store(staff, Action.recharge_wallet, form)
    member_no, key, amount, method, errors = _recharge_form(staff, form)
    if errors.get("form"):
        return _till(staff, status_code=422, identify_error=errors["form"])
    if errors or amount is None:
        return _recharge_page(
            staff, member_no, status_code=422, errors=errors, method=method, key=key
        )
    bonus = staff.program.wallet.bonus_for(amount)
    return _recharge_page(staff, member_no, amount=amount, method=method, key=key, bonus=bonus)


@router.post("/recharge")
async def recharge(staff: Till) -> Response:
    """Take the recharge once per form key; the bonus comes from the program's steps."""
    form = await staff.form()
    store_code = till_store(staff, Action.recharge_wallet, form)
    member_no, key, amount, method, errors = _recharge_form(staff, form)
    if errors.get("form"):
        return _till(staff, status_code=422, identify_error=errors["form"])
    if errors or amount is None:
        return _recharge_page(
            staff, member_no, status_code=422, errors=errors, method=method, key=key
        )
    external_id = f"POSW-{key}"

    def action(session: Session) -> dict[str, Any]:
        result = wallet_service.recharge(
            session,
            program=staff.program,
            member_no=member_no,
            external_id=external_id,
            amount_minor=amount,
            method=method,
            store_code=store_code,
            occurred_at=utcnow(),
        )
        body = {
            "external_id": result.external_id,
            "member_no": result.member_no,
            "store_code": store_code,
            "amount": result.amount_minor,
            "bonus": result.bonus_minor,
            "method": method,
            "wallet": result.wallet.total,
        }
        _audit(staff, session, "wallet.recharge", "member", result.member_no, body)
        return body

    try:
        outcome = staff.work.once(
            key=keys.recharge(external_id),
            request={"amount": amount, "method": method},
            action=action,
            subject=member_no,
        )
    except MemberkitError as exc:
        return _recharge_page(
            staff,
            member_no,
            status_code=exc.status,
            error=exc.detail(staff.locale),
            amount=amount,
            method=method,
            key=key,
            bonus=staff.program.wallet.bonus_for(amount),
        )
    return _recharge_page(staff, member_no, done=outcome.body)


# --- registration ---------------------------------------------------------------------


@router.post("/register")
async def register(staff: Till) -> Response:
    """Register a member at this store by phone (a name if given); then show them."""
    form = await staff.form()
    store_code = till_store(staff, Action.register_members, form)
    locale, errors = staff.locale, {}
    phone, name, key = form_text(form, "phone"), form_text(form, "name"), form_text(form, "key")
    typed = {"phone": phone[:FIELD_MAX], "name": name[:FIELD_MAX]}
    normalized = normalize_phone(phone) if len(phone) <= 20 else None
    if normalized is None:
        errors["phone"] = translate(_("Enter a mainland China mobile number."), locale)
    if len(name) > 50 or not name.isprintable():
        errors["name"] = translate(_("At most 50 characters, no control characters."), locale)
    if not FORM_KEY.fullmatch(key):
        errors["phone"] = translate(_("This form is out of date: try again."), locale)
    if errors or normalized is None:
        return _till(staff, status_code=422, register_errors=errors, register=typed)

    def action(session: Session) -> dict[str, Any]:
        member = member_service.register(
            session,
            program_id=staff.program.id,
            phone=normalized,
            name=name or None,
            store_code=store_code,
            channel="store",
        )
        body = {"member_no": member.member_no, "store_code": store_code}
        _audit(
            staff,
            session,
            "member.register",
            "member",
            member.member_no,
            {**body, "phone": normalized, "name": name or None},
        )
        return body

    try:
        outcome = staff.work.once(
            key=keys.member(f"pos-{key}"),
            request={"phone": normalized, "name": name},
            action=action,
        )
    except MemberkitError as exc:
        return _till(
            staff, status_code=exc.status, register_error=exc.detail(locale), register=typed
        )
    return RedirectResponse(f"/pos?m={outcome.body['member_no']}", status_code=303)
