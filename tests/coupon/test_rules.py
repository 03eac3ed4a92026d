"""Coupon rules without a database: fit, discounts to the cent, stacking, the best choice,
and what refunds take back."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.coupon.rules import (
    CODE_ALPHABET,
    Cart,
    Coupon,
    CouponKind,
    Line,
    Offer,
    Plan,
    Scope,
    Stacking,
    Unfit,
    apply,
    best,
    fit,
    new_code,
    normalize_code,
    spread,
    taken_back,
)

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
STACKS = Stacking(with_coupons=True)


def coupon(code: str, offer: Offer, *, days: int = 30, starts: int = -1) -> Coupon:
    return Coupon(code, offer, NOW + timedelta(days=starts), NOW + timedelta(days=days))


def cart(*amounts: int, **given: object) -> Cart:
    lines = tuple(
        Line(number, f"SKU{number}", "drinks", 1, amount)
        for number, amount in enumerate(amounts, start=1)
    )
    return Cart(lines=lines, at=NOW, **given)  # type: ignore[arg-type]


def planned(result: Plan | Unfit) -> Plan:
    assert isinstance(result, Plan), result
    return result


@pytest.mark.parametrize(
    ("total", "amounts", "shares"),
    [
        (100, [100, 100, 100], [34, 33, 33]),  # the odd cent to the first of equal remainders
        (1, [50, 50], [1, 0]),
        (10, [3, 7], [3, 7]),  # the whole of every amount
        (0, [5, 9], [0, 0]),
        (5, [333, 333, 334], [2, 1, 2]),  # remainders .665, .665, .670
        (3000, [20000, 15000], [1714, 1286]),  # ¥30.00 over ¥200.00 and ¥150.00
    ],
)
def test_a_spread_shares_to_the_cent_by_largest_remainder(
    total: int, amounts: list[int], shares: list[int]
) -> None:
    assert spread(total, amounts) == shares


def test_a_spread_of_more_than_the_amounts_is_refused() -> None:
    with pytest.raises(ValueError, match="between zero"):
        spread(11, [5, 5])


def test_amount_off_above_a_threshold_spreads_over_the_lines() -> None:
    # given 满300减30 and a cart of ¥200.00 and ¥150.00
    offer = Offer(CouponKind.amount_off, off_minor=3000, threshold_minor=30000)
    plan = planned(apply(cart(20000, 15000), [coupon("C1", offer)]))
    # then ¥30.00 comes off, ¥17.14 and ¥12.86, and ¥320.00 is due
    assert plan.coupons[0].by_line == {1: 1714, 2: 1286}
    assert (plan.discount_minor, plan.due_minor) == (3000, 32000)
    assert plan.due_by_line == {1: 18286, 2: 13714}


def test_amount_off_below_its_threshold_does_not_fit() -> None:
    offer = Offer(CouponKind.amount_off, off_minor=3000, threshold_minor=30000)
    assert fit(coupon("C1", offer), cart(29999)) is Unfit.below_minimum
    assert fit(coupon("C1", offer), cart(30000)) is None


@pytest.mark.parametrize(
    ("amount", "off"),
    [(10000, 1500), (20000, 2000), (333, 49)],  # 15 % off, at most ¥20.00, rounded down
)
def test_percent_off_takes_its_share_up_to_its_cap(amount: int, off: int) -> None:
    offer = Offer(CouponKind.percent_off, percent_bp=1500, cap_minor=2000)
    assert planned(apply(cart(amount), [coupon("P", offer)])).discount_minor == off


def test_a_cash_voucher_never_takes_more_than_the_lines_have() -> None:
    offer = Offer(CouponKind.cash, off_minor=5000)
    plan = planned(apply(cart(1200, 800), [coupon("V", offer)]))
    assert (plan.discount_minor, plan.due_minor) == (2000, 0)


def test_a_gift_coupon_frees_one_unit_of_its_item() -> None:
    # given two lattes at ¥32.00 each and a cake
    lines = (Line(1, "LATTE", "drinks", 2, 6400), Line(2, "CAKE", "food", 1, 2800))
    offer = Offer(CouponKind.gift, gift_sku="LATTE")
    plan = planned(apply(Cart(lines, NOW), [coupon("G", offer)]))
    assert plan.coupons[0].by_line == {1: 3200}
    assert fit(coupon("G", Offer(CouponKind.gift, gift_sku="TEA")), Cart(lines, NOW)) is (
        Unfit.no_eligible_line
    )


def test_free_shipping_takes_the_fee_and_needs_one() -> None:
    offer = Offer(CouponKind.free_shipping)
    plan = planned(apply(cart(5000, shipping_minor=800), [coupon("S", offer)]))
    assert (plan.coupons[0].shipping_minor, plan.shipping_due_minor, plan.due_minor) == (
        800,
        0,
        5000,
    )
    assert fit(coupon("S", offer), cart(5000)) is Unfit.no_shipping


def test_the_scope_keeps_excluded_lines_whole() -> None:
    # given 10 % off everything but tobacco
    lines = (Line(1, "A", "drinks", 1, 10000), Line(2, "B", "tobacco", 1, 5000))
    offer = Offer(
        CouponKind.percent_off,
        percent_bp=1000,
        scope=Scope(exclude_categories=frozenset({"tobacco"})),
    )
    plan = planned(apply(Cart(lines, NOW), [coupon("P", offer)]))
    assert plan.coupons[0].by_line == {1: 1000}
    assert plan.due_by_line == {1: 9000, 2: 5000}
    only_tobacco = Cart((lines[1],), NOW)
    assert fit(coupon("P", offer), only_tobacco) is Unfit.no_eligible_line


@pytest.mark.parametrize(
    ("given", "unfit"),
    [
        ({"store_code": "BJ001"}, Unfit.wrong_store),
        ({"store_code": "SH001", "channel": "online"}, Unfit.wrong_channel),
        ({"store_code": "SH001", "pays_with_points": True}, Unfit.with_points),
    ],
)
def test_store_channel_and_points_decide_whether_a_coupon_fits(
    given: dict[str, object], unfit: Unfit
) -> None:
    offer = Offer(
        CouponKind.cash,
        off_minor=1000,
        scope=Scope(stores=frozenset({"SH001"}), channels=frozenset({"store"})),
        stacking=Stacking(with_points=False),
    )
    assert fit(coupon("V", offer), cart(5000, **given)) is unfit
    assert fit(coupon("V", offer), cart(5000, store_code="SH001")) is None


def test_a_coupon_is_valid_from_its_start_until_before_its_end() -> None:
    offer = Offer(CouponKind.cash, off_minor=1000)
    assert fit(coupon("V", offer, starts=1), cart(5000)) is Unfit.not_yet_valid
    assert fit(coupon("V", offer, days=0), cart(5000)) is Unfit.expired
    assert fit(coupon("V", offer, starts=0), cart(5000)) is None


def test_stacked_coupons_apply_percent_before_amount_off_each_on_what_is_left() -> None:
    # given 10 % off and 满300减30 that stack, on ¥400.00 (listed amount-off first)
    amount = coupon("A", Offer(CouponKind.amount_off, 3000, 30000, stacking=STACKS))
    percent = coupon("P", Offer(CouponKind.percent_off, percent_bp=1000, stacking=STACKS))
    plan = planned(apply(cart(40000), [amount, percent]))
    # then ¥40.00 then ¥30.00 (on ¥360.00) come off
    assert plan.codes == ("P", "A")
    assert [applied.total_minor for applied in plan.coupons] == [4000, 3000]
    assert plan.due_minor == 33000


def test_a_threshold_is_judged_after_the_discounts_ahead_of_it() -> None:
    # given 20 % off and 满300减30 that stack, on ¥350.00: ¥280.00 left after the percent
    amount = coupon("A", Offer(CouponKind.amount_off, 3000, 30000, stacking=STACKS))
    percent = coupon("P", Offer(CouponKind.percent_off, percent_bp=2000, stacking=STACKS))
    assert apply(cart(35000), [amount, percent]) is Unfit.below_minimum
    # and the best choice is the larger one alone
    assert best(cart(35000), [amount, percent]).codes == ("P",)


def test_coupons_that_do_not_stack_are_not_used_together() -> None:
    first = coupon("A", Offer(CouponKind.cash, off_minor=1000))
    second = coupon("B", Offer(CouponKind.cash, off_minor=1000, stacking=STACKS))
    assert apply(cart(5000), [first, second]) is Unfit.not_stackable


def test_the_tier_discount_comes_first_and_a_threshold_sees_what_it_left() -> None:
    # given a 95 % tier price and 满300减30 that stacks with it, on ¥310.00: ¥294.50 left
    offer = Offer(CouponKind.amount_off, off_minor=3000, threshold_minor=30000)
    assert apply(cart(31000, tier_rate_bp=9500), [coupon("A", offer)]) is Unfit.below_minimum
    plan = planned(apply(cart(21000, 11000, tier_rate_bp=9500), [coupon("A", offer)]))
    # ¥320.00: the tier takes ¥16.00 (¥10.50 and ¥5.50), ¥304.00 left, then ¥30.00
    assert plan.tier_by_line == {1: 1050, 2: 550}
    assert plan.coupons[0].by_line == {1: 1969, 2: 1031}  # ¥19.6875 and ¥10.3125, rounded
    assert (plan.discount_minor, plan.due_minor) == (4600, 27400)


@pytest.mark.parametrize(
    ("amount", "codes", "tier_off"),
    [
        (31000, ("A",), 0),  # the coupon's ¥30.00 beats the tier's ¥15.50
        (100000, (), 5000),  # the tier's ¥50.00 beats the coupon's ¥30.00
    ],
)
def test_best_weighs_a_coupon_that_excludes_the_tier_discount_against_it(
    amount: int, codes: tuple[str, ...], tier_off: int
) -> None:
    offer = Offer(
        CouponKind.amount_off,
        off_minor=3000,
        threshold_minor=30000,
        stacking=Stacking(with_tier_discount=False),
    )
    plan = best(cart(amount, tier_rate_bp=9500), [coupon("A", offer)])
    assert (plan.codes, plan.tier_minor) == (codes, tier_off)


def test_best_prefers_fewer_coupons_then_the_one_lapsing_sooner() -> None:
    later = coupon("A", Offer(CouponKind.cash, off_minor=1000), days=30)
    sooner = coupon("B", Offer(CouponKind.cash, off_minor=1000), days=3)
    assert best(cart(5000), [later, sooner]).codes == ("B",)
    # a stacking coupon that adds nothing (the cart is used up) is left with the member
    whole = coupon("W", Offer(CouponKind.cash, off_minor=5000, stacking=STACKS))
    extra = coupon("X", Offer(CouponKind.cash, off_minor=500, stacking=STACKS))
    assert best(cart(5000), [whole, extra]).codes == ("W",)


def test_best_without_a_fitting_coupon_is_the_tier_discount_alone() -> None:
    expired = coupon("E", Offer(CouponKind.cash, off_minor=1000), days=0)
    plan = best(cart(10000, tier_rate_bp=9000), [expired])
    assert (plan.codes, plan.discount_minor) == ((), 1000)


@pytest.mark.parametrize(
    ("pieces", "back"),
    [([1000, 1000, 1000], [333, 333, 334]), ([3000], [1000]), ([1, 2999], [0, 1000])],
)
def test_refunds_take_back_the_discount_on_the_running_total(
    pieces: list[int], back: list[int]
) -> None:
    # given ¥10.00 of discount on a line of ¥30.00, refunded in pieces
    taken, before = [], 0
    for piece in pieces:
        taken.append(taken_back(1000, 3000, refunded_before=before, refunding=piece))
        before += piece
    assert taken == back


def test_a_refund_beyond_its_line_is_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        taken_back(1000, 3000, refunded_before=2000, refunding=1001)


# Properties over random carts and coupons.

amounts = st.integers(min_value=0, max_value=1_000_000)
lines = st.lists(
    st.tuples(amounts, st.integers(1, 5), st.sampled_from(["drinks", "food", "tobacco"])),
    min_size=1,
    max_size=6,
)
stackings = st.builds(Stacking, st.booleans(), st.booleans(), st.booleans())
scopes = st.builds(
    Scope,
    categories=st.sampled_from([frozenset(), frozenset({"drinks"}), frozenset({"food"})]),
    exclude_categories=st.sampled_from([frozenset(), frozenset({"tobacco"})]),
)
offers = st.one_of(
    st.builds(
        Offer,
        st.just(CouponKind.amount_off),
        off_minor=amounts,
        threshold_minor=amounts,
        scope=scopes,
        stacking=stackings,
    ),
    st.builds(
        Offer,
        st.just(CouponKind.percent_off),
        percent_bp=st.integers(0, 10_000),
        cap_minor=st.none() | amounts,
        scope=scopes,
        stacking=stackings,
    ),
    st.builds(
        Offer,
        st.just(CouponKind.cash),
        off_minor=amounts,
        min_spend_minor=amounts,
        scope=scopes,
        stacking=stackings,
    ),
    st.builds(Offer, st.just(CouponKind.gift), gift_sku=st.sampled_from(["SKU1", "SKU2"])),
    st.builds(Offer, st.just(CouponKind.free_shipping), stacking=stackings),
)


@st.composite
def carts_and_coupons(draw: st.DrawFn) -> tuple[Cart, list[Coupon]]:
    drawn = draw(lines)
    the_cart = Cart(
        lines=tuple(
            Line(number, f"SKU{number}", category, quantity, amount)
            for number, (amount, quantity, category) in enumerate(drawn, start=1)
        ),
        at=NOW,
        shipping_minor=draw(st.integers(0, 2000)),
        pays_with_points=draw(st.booleans()),
        tier_rate_bp=draw(st.integers(8000, 10_000)),
    )
    found = draw(st.lists(offers, max_size=4))
    return the_cart, [coupon(f"C{n}", offer) for n, offer in enumerate(found)]


@given(carts_and_coupons())
def test_no_discount_exceeds_its_cart_nor_any_line(drawn: tuple[Cart, list[Coupon]]) -> None:
    the_cart, coupons = drawn
    plan = best(the_cart, coupons)
    assert 0 <= plan.discount_minor <= the_cart.total_minor
    assert plan.discount_minor + plan.due_minor == the_cart.total_minor
    for line in the_cart.lines:
        off = plan.tier_by_line[line.line_no] + sum(
            applied.by_line.get(line.line_no, 0) for applied in plan.coupons
        )
        assert 0 <= off <= line.amount_minor
        assert plan.due_by_line[line.line_no] == line.amount_minor - off
    assert 0 <= plan.shipping_due_minor <= the_cart.shipping_minor
    for applied in plan.coupons:
        assert all(share >= 0 for share in applied.by_line.values())


@given(carts_and_coupons())
def test_the_best_plan_takes_off_at_least_any_coupon_alone(
    drawn: tuple[Cart, list[Coupon]],
) -> None:
    the_cart, coupons = drawn
    chosen = best(the_cart, coupons)
    for one in coupons:
        alone = apply(the_cart, [one])
        if isinstance(alone, Plan):
            assert chosen.discount_minor >= alone.discount_minor


@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_a_spread_always_sums_to_its_total_within_each_amount(
    wanted: int, parts: list[int]
) -> None:
    total = wanted % (sum(parts) + 1)
    shares = spread(total, parts)
    assert sum(shares) == total
    assert all(0 <= share <= part for share, part in zip(shares, parts, strict=True))


@given(
    st.integers(0, 10**6),
    st.integers(1, 10**6),
    st.lists(st.integers(0, 10**6), max_size=6),
)
def test_refunds_in_pieces_take_back_what_one_refund_would(
    discount: int, amount: int, cuts: list[int]
) -> None:
    discount = min(discount, amount)
    # the refunded total cut into pieces at random points
    points = sorted({cut % (amount + 1) for cut in cuts} | {0})
    pieces = [b - a for a, b in itertools.pairwise(points)]
    refunded = points[-1]
    taken, before = 0, 0
    for piece in pieces:
        taken += taken_back(discount, amount, refunded_before=before, refunding=piece)
        before += piece
    assert taken == taken_back(discount, amount, refunded_before=0, refunding=refunded)
    assert taken_back(discount, amount, refunded_before=0, refunding=amount) == discount


def test_a_code_is_fifteen_characters_a_till_cannot_misread() -> None:
    code = new_code(random.Random(7))
    assert len(code) == 15 and set(code) <= set(CODE_ALPHABET)
    assert not set(code) & set("ILOUZ")
    assert new_code(random.Random(7)) == code  # a demo's codes repeat with its seed
    assert normalize_code(code) == code


def test_a_code_typed_in_lower_case_with_dashes_and_misread_letters_is_found() -> None:
    code = "0123456789ABCD" + "0"
    code = code[:-1] + normalize_check(code[:-1])
    typed = ("o1" + code[2:]).lower()
    typed = typed[:5] + "-" + typed[5:10] + " " + typed[10:]
    assert normalize_code(typed) == code


@given(st.text(alphabet=CODE_ALPHABET, min_size=14, max_size=14), st.integers(0, 13), st.data())
def test_one_wrong_character_or_two_swapped_are_caught(
    body: str, at: int, data: st.DataObject
) -> None:
    code = body + normalize_check(body)
    wrong = data.draw(st.sampled_from([c for c in CODE_ALPHABET if c != code[at]]))
    assert normalize_code(code[:at] + wrong + code[at + 1 :]) is None
    swapped = code[:at] + code[at + 1] + code[at] + code[at + 2 :]
    assert (normalize_code(swapped) is None) == (code[at] != code[at + 1])


def test_a_code_of_the_wrong_length_or_alphabet_is_none() -> None:
    assert normalize_code("") is None
    assert normalize_code("Z" * 15) is None
    assert normalize_code(new_code() + "0") is None


def normalize_check(body: str) -> str:
    """The check character of ``body``: the one that makes it a code."""
    found = [c for c in CODE_ALPHABET if normalize_code(body + c) is not None]
    assert len(found) == 1
    return found[0]
