"""Coupon use cases against a real database: templates, every issuing path, revoking, figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberkit.coupon import queries, service
from memberkit.coupon.models import Coupon, CouponSource, CouponTemplate, OrderCoupon
from memberkit.coupon.rules import CouponKind, normalize_code
from memberkit.db import Database
from memberkit.events import OutboxEvent
from memberkit.member import service as member_service
from memberkit.member.models import MemberStatus
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from tests.factories import make_member, make_store, post_order
from tests.rest import table_contents

SHANGHAI_MIDNIGHT = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 2026-12-01 00:00 +08:00


def cash(**changes: Any) -> service.TemplateIn:
    values: dict[str, Any] = {"kind": CouponKind.cash, "name": "代金券10元", "off_minor": 1000}
    values.setdefault("valid_days", 30)
    return service.TemplateIn(**{**values, **changes})


def define(
    database: Database, program: ProgramConfig, code: str = "cash10", **changes: Any
) -> None:
    with database.session_scope() as session:
        service.define(session, program=program, code=code, given=cash(**changes))


def give(
    session: Session,
    program: ProgramConfig,
    member_id: int,
    batch_key: str,
    code: str = "cash10",
) -> service.Issued:
    template = service.found(session, program=program, code=code)
    return service.issue(
        session,
        program=program,
        template=template,
        member_id=member_id,
        batch_key=batch_key,
        source=CouponSource.hand,
        actor="test",
    )


def issued_count(database: Database, code: str = "cash10") -> int:
    with database.session_scope(read_only=True) as session:
        template = session.scalar(select(CouponTemplate).where(CouponTemplate.code == code))
        assert template is not None
        return template.issued


# --- templates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"off_minor": 0}, "above zero"),
        ({"kind": CouponKind.amount_off, "threshold_minor": 500}, "threshold is at least"),
        ({"threshold_minor": 5000}, "only an amount-off"),
        ({"kind": CouponKind.percent_off, "off_minor": 0, "percent_bp": 0}, "basis points"),
        ({"kind": CouponKind.percent_off, "off_minor": 0, "percent_bp": 10_001}, "basis points"),
        ({"kind": CouponKind.gift, "off_minor": 0}, "names the SKU"),
        ({"gift_sku": "A1"}, "only a gift"),
        ({"valid_days": None}, "first and a last day"),
        ({"valid_from": date(2026, 12, 1)}, "not both"),
        (
            {"valid_days": None, "valid_from": date(2026, 12, 2), "valid_until": date(2026, 12, 1)},
            "comes before",
        ),
        ({"valid_days": 0}, "1 to 3650"),
        ({"scope": {"stores": ["NOPE"]}}, "no store NOPE"),
        ({"scope": {"skus": ["A1"], "exclude_skus": ["A1"]}}, "both included and excluded"),
        ({"scope": {"brands": ["x"]}}, "no scope list brands"),
        ({"budget_count": 0}, "at least 1"),
        ({"on_upgrade_tier": "platinum"}, "no tier platinum"),
        ({"on_upgrade_tier": "regular"}, "entry tier"),
    ],
)
def test_terms_that_make_no_sense_are_refused_and_nothing_is_kept(
    database: Database, program: ProgramConfig, changes: dict[str, Any], problem: str
) -> None:
    before = table_contents(database)
    with pytest.raises(service.InvalidTemplate) as refused, database.session_scope() as session:
        service.define(session, program=program, code="bad", given=cash(**changes))
    assert refused.value.status == 422
    assert problem in str(refused.value.detail("en"))
    assert table_contents(database) == before


def test_a_fixed_validity_runs_from_the_first_local_day_to_the_end_of_the_last(
    database: Database, program: ProgramConfig
) -> None:
    given = cash(valid_days=None, valid_from=date(2026, 12, 1), valid_until=date(2026, 12, 31))
    with database.session_scope() as session:
        template, created = service.define(session, program=program, code="dec", given=given)
        assert created
        assert template.valid_from == SHANGHAI_MIDNIGHT
        assert template.valid_until == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
        assert service.terms_of(template, program) == given
        # the same definition again is a replay; another under the code is refused
        again, created = service.define(session, program=program, code="dec", given=given)
        assert (again.id, created) == (template.id, False)
        with pytest.raises(service.TemplateExists):
            service.define(session, program=program, code="dec", given=cash())


def test_once_issued_a_templates_terms_are_frozen_but_its_name_and_budget_may_change(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program, budget_count=5)
    with database.session_scope() as session:
        give(session, program, make_member(session, program).id, "b1")
    before = table_contents(database)
    for changes in ({"off_minor": 2000}, {"valid_days": 7}, {"scope": {"skus": ["A1"]}}):
        with pytest.raises(service.TemplateIssued), database.session_scope() as session:
            service.change(session, program=program, code="cash10", changes=changes)
    with pytest.raises(service.InvalidTemplate), database.session_scope() as session:
        service.change(session, program=program, code="cash10", changes={"budget_count": 0})
    assert table_contents(database) == before
    with database.session_scope() as session:
        changed = service.change(
            session,
            program=program,
            code="cash10",
            changes={"name": "十元券", "budget_count": 9, "active": False},
        )
        assert (changed.name, changed.budget_count, changed.active) == ("十元券", 9, False)


# --- issuing --------------------------------------------------------------------------------


def test_a_coupon_is_issued_once_per_batch_key_with_a_checked_code_and_an_event(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program, valid_days=3)
    with database.session_scope() as session:
        member = make_member(session, program)
        first = give(session, program, member.id, "hand:1")
        again = give(session, program, member.id, "hand:1")
        other = give(session, program, member.id, "hand:2")
    assert first.created and not again.created and other.created
    assert again.coupon.code == first.coupon.code != other.coupon.code
    assert normalize_code(first.coupon.code) == first.coupon.code
    # valid for three local days counting the day of issue
    local_issue = first.coupon.issued_at.astimezone(program.tz).date()
    assert first.coupon.valid_until == datetime(
        local_issue.year, local_issue.month, local_issue.day, tzinfo=program.tz
    ).astimezone(UTC) + timedelta(days=3)
    assert issued_count(database) == 2
    with database.session_scope(read_only=True) as session:
        told = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == "coupon.issued")
        ).all()
    assert [(p["code"], p["template"], p["source"]) for p in told] == [
        (first.coupon.code, "cash10", "hand"),
        (other.coupon.code, "cash10", "hand"),
    ]


def test_a_spent_budget_refuses_and_changes_nothing(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program, budget_count=1)
    with database.session_scope() as session:
        give(session, program, make_member(session, program).id, "b")
        late = make_member(session, program).id
    before = table_contents(database)
    with pytest.raises(service.BudgetSpent) as refused, database.session_scope() as session:
        give(session, program, late, "b")
    assert (refused.value.status, refused.value.code) == (409, "coupon_budget_spent")
    assert table_contents(database) == before


def test_the_per_member_limit_counts_held_coupons_but_not_revoked_ones(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program, per_member_limit=1)
    with database.session_scope() as session:
        member_id = make_member(session, program).id
        held = give(session, program, member_id, "one").coupon.code
    before = table_contents(database)
    with pytest.raises(service.MemberLimit) as refused, database.session_scope() as session:
        give(session, program, member_id, "two")
    assert refused.value.code == "coupon_member_limit"
    assert table_contents(database) == before
    with database.session_scope() as session:
        service.revoke(session, program=program, code=held, reason="发错了", actor="test")
        assert give(session, program, member_id, "two").created


def test_an_inactive_template_or_a_frozen_member_gets_nothing(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program, active=False)
    with database.session_scope() as session:
        member = make_member(session, program)
        member_id = member.id
    before = table_contents(database)
    with pytest.raises(service.TemplateInactive), database.session_scope() as session:
        give(session, program, member_id, "x")
    assert table_contents(database) == before
    with database.session_scope() as session:
        service.change(session, program=program, code="cash10", changes={"active": True})
        found = member_service.find(session, program_id=program.id, member_no=member.member_no)
        member_service.change(session, member=found, changes={"status": MemberStatus.frozen})
    before = table_contents(database)
    with pytest.raises(member_service.MemberInactive), database.session_scope() as session:
        give(session, program, member_id, "x")
    assert table_contents(database) == before


def test_a_template_past_its_last_day_is_not_issued(
    database: Database, program: ProgramConfig
) -> None:
    define(
        database,
        program,
        valid_days=None,
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 1, 31),
    )
    with database.session_scope() as session:
        member_id = make_member(session, program).id
    before = table_contents(database)
    with pytest.raises(service.TemplateLapsed), database.session_scope() as session:
        give(session, program, member_id, "x")
    assert table_contents(database) == before


def test_revoking_is_once_a_used_coupon_is_kept(database: Database, program: ProgramConfig) -> None:
    define(database, program)
    with database.session_scope() as session:
        member_id = make_member(session, program).id
        code = give(session, program, member_id, "a").coupon.code
        used = give(session, program, member_id, "b").coupon
        used.status = "used"
        used_code = used.code
    with database.session_scope() as session:
        first = service.revoke(session, program=program, code=code, reason="r", actor="t")
        assert (first.status, first.revoke_reason) == ("revoked", "r")
    before = table_contents(database)
    with database.session_scope() as session:
        service.revoke(session, program=program, code=code, reason="again", actor="t")
    assert table_contents(database) == before
    with pytest.raises(service.NotRevocable), database.session_scope() as session:
        service.revoke(session, program=program, code=used_code, reason="r", actor="t")
    assert table_contents(database) == before


# --- registration, upgrade, birthday --------------------------------------------------------


def test_a_new_member_gets_the_welcome_coupons_once(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program, code="welcome", on_registration=True)
    define(database, program, code="other")
    with database.session_scope() as session:
        member = make_member(session, program)
        old = make_member(session, program, registered_at=datetime(2025, 1, 1, tzinfo=UTC))
        held = queries.of_member(session, member_id=member.id)
        assert [(t.code, c.source, c.batch_key) for c, t in held] == [
            ("welcome", "registration", "registration")
        ]
        assert queries.of_member(session, member_id=old.id) == []


def test_a_spent_welcome_template_never_fails_a_registration(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program, code="welcome", on_registration=True, budget_count=1)
    with database.session_scope() as session:
        first = make_member(session, program)
        second = make_member(session, program)
        assert len(queries.of_member(session, member_id=first.id)) == 1
        assert queries.of_member(session, member_id=second.id) == []


def test_an_upgrade_gives_each_tier_reached_its_gift_once(
    database: Database, program: ProgramConfig
) -> None:
    tiers = [t.code for t in program.ladder.tiers]
    assert len(tiers) >= 3, tiers
    define(database, program, code="silver_gift", on_upgrade_tier=tiers[1])
    define(database, program, code="gold_gift", on_upgrade_tier=tiers[2])
    with database.session_scope() as session:
        member = make_member(session, program)
        # a big order jumps the member past the second tier straight to the third or beyond
        post_order(session, program, member, amount_minor=3_000_000)
        member_id = member.id
    with database.session_scope(read_only=True) as session:
        held = sorted(
            (t.code, c.batch_key) for c, t in queries.of_member(session, member_id=member_id)
        )
    assert held == [("gold_gift", f"upgrade:{tiers[2]}"), ("silver_gift", f"upgrade:{tiers[1]}")]


def test_the_birthday_job_gives_once_a_year_on_the_local_day(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program, code="bday", on_birthday=True)
    with database.session_scope() as session:
        born = make_member(session, program, birthday=date(1990, 12, 1)).id
        make_member(session, program, birthday=date(1990, 12, 2))
        make_member(session, program)
    as_of = SHANGHAI_MIDNIGHT + timedelta(hours=1)  # 01:00 on 1 December in Shanghai
    dry = service.give_birthday_gifts(database, program=program, as_of=as_of, dry_run=True)
    assert dry == service.BirthdayResult(1, 1, 0)
    assert issued_count(database, "bday") == 0
    first = service.give_birthday_gifts(database, program=program, as_of=as_of)
    again = service.give_birthday_gifts(database, program=program, as_of=as_of)
    assert (first, again) == (service.BirthdayResult(1, 1, 0), service.BirthdayResult(1, 0, 0))
    with database.session_scope(read_only=True) as session:
        held = queries.of_member(session, member_id=born)
    assert [c.batch_key for c, _t in held] == ["birthday:2026"]


def test_29_february_is_celebrated_on_the_28th_in_a_common_year() -> None:
    assert service.birthday_of(date(2000, 2, 29), 2027) == date(2027, 2, 28)
    assert service.birthday_of(date(2000, 2, 29), 2028) == date(2028, 2, 29)


# --- bulk issues and imports ----------------------------------------------------------------


def test_a_bulk_issue_to_a_list_resolves_cards_and_phones_and_reruns_issue_nothing_twice(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program)
    with database.session_scope() as session:
        a = make_member(session, program)
        make_member(session, program, phone="13912345678")
        batch, created = service.start_batch(
            session,
            program=program,
            template_code="cash10",
            external_id="B1",
            actor="test",
            identifiers=[a.member_no, "13912345678", "800000000000", a.member_no],
        )
        batch_id = batch.id
        assert created and (batch.total, batch.done, batch.failed, batch.skipped) == (4, 2, 1, 1)
    done = service.run_batch(database, program=program, batch_id=batch_id)
    assert (done.state, done.done, done.issued, done.skipped, done.failed) == ("done", 4, 2, 1, 1)
    assert [p["code"] for p in done.problems] == ["member_not_found", "duplicate_row"]
    # a rerun, even with the progress rewound (a run cut short), issues nothing twice
    with database.session_scope() as session:
        rewound = service.batch_of(session, program=program, batch_id=batch_id)
        rewound.state, rewound.done = "running", 2
    again = service.run_batch(database, program=program, batch_id=batch_id)
    assert (again.state, again.issued, again.skipped) == ("done", 2, 3)
    assert issued_count(database) == 2


def test_a_bulk_issue_to_a_filter_takes_the_active_members_matching_it(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program)
    with database.session_scope() as session:
        make_store(session, program, code="BJ01")
        vip = make_member(session, program, tags=["vip"], store_code="BJ01")
        make_member(session, program, tags=["vip"])
        make_member(session, program, store_code="BJ01")
        wanted = queries.MemberFilter(tag="vip", store_code="BJ01", tier_code="regular")
        batch, _created = service.start_batch(
            session,
            program=program,
            template_code="cash10",
            external_id="F1",
            actor="test",
            wanted=wanted,
        )
        batch_id = batch.id
    done = service.run_batch(database, program=program, batch_id=batch_id)
    assert (done.total, done.issued) == (1, 1)
    with database.session_scope(read_only=True) as session:
        assert len(queries.of_member(session, member_id=vip.id)) == 1


def test_importing_partner_codes_keeps_them_and_reports_duplicates_by_row(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program)
    with database.session_scope() as session:
        member = make_member(session, program)
        result = service.import_codes(
            session,
            program=program,
            template_code="cash10",
            rows=[(" P-001 ", None), ("P-002", member.member_no), ("P-001", None), ("P-3", "1")],
            actor="test",
        )
    assert result.imported == 2
    assert [(r["row"], r["code"]) for r in result.refused] == [
        (3, "duplicate_in_file"),
        (4, "member_not_found"),
    ]
    with database.session_scope() as session:
        again = service.import_codes(
            session, program=program, template_code="cash10", rows=[("P-001", None)], actor="t"
        )
        assert (again.imported, again.refused[0]["code"]) == (0, "coupon_code_taken")
        codes = sorted(session.scalars(select(Coupon.code)))
    assert codes == ["P-001", "P-002"]


# --- figures --------------------------------------------------------------------------------


def test_the_figures_count_states_and_sum_discount_and_sales(
    database: Database, program: ProgramConfig
) -> None:
    define(database, program)
    with database.session_scope() as session:
        member = make_member(session, program)
        coupons = [give(session, program, member.id, f"k{n}").coupon for n in range(4)]
        order = post_order(session, program, member, amount_minor=8000)
        order_id = session.scalar(select(Order.id).where(Order.external_id == order.external_id))
        coupons[0].status, coupons[0].order_id = "used", order_id
        coupons[1].valid_until = datetime(2026, 1, 1, tzinfo=UTC)
        coupons[2].status = "revoked"
        session.add(
            OrderCoupon(
                order_id=order_id,
                coupon_id=coupons[0].id,
                template_id=coupons[0].template_id,
                discount_minor=1000,
                taken_back_minor=250,
            )
        )
    with database.session_scope(read_only=True) as session:
        [(template, figures)] = service.report(session, program=program)
        assert session.scalar(select(func.count()).select_from(Coupon)) == 4
    assert template.code == "cash10"
    assert figures == queries.Figures(
        issued=4,
        used=1,
        expired=1,
        outstanding=1,
        revoked=1,
        discount_minor=750,
        sales_minor=8000,
        orders=1,
    )
