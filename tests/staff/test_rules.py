"""Staff rules without a database: the permission table cell by cell, the store scope, account
fields, the lock-out and address limits, session lifetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memberkit.staff import errors
from memberkit.staff.rules import (
    PASSWORD_MAX,
    Action,
    Actor,
    LoginLimits,
    Role,
    SessionLimits,
    check_display_name,
    check_locale,
    check_password,
    check_stores,
    check_username,
    ip_blocked_until,
    locked_until,
    may,
    may_manage,
    parse_role,
    session_ends_at,
    touch_due,
    username_key,
)

#: The table as stated in the issue's words and README: ``yes`` anywhere, ``store`` only for
#: the actor's own stores, ``-`` never.
TABLE = """
action              owner admin marketer store_manager cashier analyst
view_members        yes   yes   yes      store         store   yes
identify_members    yes   yes   -        yes           yes     -
view_personal_data  yes   yes   -        -             -       -
register_members    yes   yes   -        store         store   -
edit_members        yes   yes   yes      store         -       -
freeze_member       yes   yes   -        -             -       -
adjust_points       yes   yes   -        -             -       -
grant_tier          yes   yes   yes      -             -       -
view_orders         yes   yes   yes      store         store   yes
post_orders         yes   yes   -        store         store   -
refund_orders       yes   yes   -        store         store   -
recharge_wallet     yes   yes   -        store         store   -
refund_wallet       yes   yes   -        store         -       -
use_benefits        yes   yes   -        store         store   -
manage_benefits     yes   yes   yes      -             -       -
view_coupons        yes   yes   yes      -             -       yes
manage_coupons      yes   yes   yes      -             -       -
manage_segments     yes   yes   yes      -             -       -
view_settings       yes   yes   yes      yes           -       yes
edit_settings       yes   yes   yes      -             -       -
manage_stores       yes   yes   -        -             -       -
manage_staff        yes   yes   -        -             -       -
manage_api_keys     yes   yes   -        -             -       -
manage_webhooks     yes   yes   -        -             -       -
run_jobs            yes   yes   -        -             -       -
view_reports        yes   yes   yes      store         -       yes
view_audit          yes   yes   -        -             -       -
"""


def _stated() -> dict[tuple[Action, Role], str]:
    lines = TABLE.strip().splitlines()
    roles = [Role(name) for name in lines[0].split()[1:]]
    cells = {}
    for line in lines[1:]:
        action, *marks = line.split()
        cells.update(
            {(Action(action), role): mark for role, mark in zip(roles, marks, strict=True)}
        )
    return cells


STATED = _stated()
CELLS = sorted(STATED, key=lambda cell: (list(Action).index(cell[0]), list(Role).index(cell[1])))


def _actor(role: Role) -> Actor:
    stores = (
        frozenset({"SH001", "SH002"}) if role in (Role.store_manager, Role.cashier) else frozenset()
    )
    return Actor(staff_id=7, username="someone", role=role, stores=stores)


def test_the_table_names_every_action_and_role() -> None:
    assert {action for action, _role in STATED} == set(Action)
    assert {role for _action, role in STATED} == set(Role)


@pytest.mark.parametrize(("action", "role"), CELLS, ids=lambda value: str(value))
def test_each_cell_of_the_permission_table(action: Action, role: Role) -> None:
    actor = _actor(role)
    mark = STATED[(action, role)]
    outcomes = {
        where: actor.may(action, store_code=where) for where in ("SH001", "SH002", "GZ001", None)
    }
    if mark == "yes":
        assert may(role, action)
        assert outcomes == {"SH001": True, "SH002": True, "GZ001": True, None: True}
        actor.require(action, store_code="GZ001")
    elif mark == "store":
        assert may(role, action)
        assert outcomes == {"SH001": True, "SH002": True, "GZ001": False, None: False}
        actor.require(action, store_code="SH002")
        with pytest.raises(errors.OutsideStores) as outside:
            actor.require(action, store_code="GZ001")
        assert outside.value.detail("en") == "You act for SH001, SH002 only, not for store GZ001."
        with pytest.raises(errors.NeedsStore):
            actor.require(action, store_code=None)
    else:
        assert mark == "-"
        assert not may(role, action)
        assert outcomes == {"SH001": False, "SH002": False, "GZ001": False, None: False}
        with pytest.raises(errors.NotPermitted):
            actor.require(action, store_code="SH001")


def test_the_readme_states_the_same_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    marks = {"✓": "yes", "own stores": "store", "–": "-"}
    rows = re.findall(r"^\| `(\w+)` \|(.+)\|$", readme, flags=re.MULTILINE)
    stated = {}
    for action, cells in rows:
        if action not in set(Action):
            continue
        for role, cell in zip(Role, cells.split("|"), strict=True):
            stated[(Action(action), role)] = marks[cell.strip()]
    assert stated == STATED


def test_refusals_say_the_role_and_the_action_in_both_languages() -> None:
    with pytest.raises(errors.NotPermitted) as refused:
        _actor(Role.cashier).require(Action.edit_settings)
    assert refused.value.code == "staff_not_permitted"
    assert refused.value.status == 403
    assert (
        refused.value.detail("en") == "Your role (cashier) may not change the program's settings."
    )
    assert refused.value.detail("zh_CN") == "你的角色（收银员）无权修改会员方案设置。"


def test_only_owners_and_admins_manage_accounts_and_only_owners_manage_owners() -> None:
    for role in Role:
        for target in Role:
            expected = role == Role.owner or (role == Role.admin and target != Role.owner)
            assert may_manage(role, target) is expected, (role, target)
    admin = _actor(Role.admin)
    admin.require_manage(Role.admin)
    with pytest.raises(errors.CannotManageRole) as refused:
        admin.require_manage(Role.owner)
    assert refused.value.detail("en") == "Your role (admin) may not manage owner accounts."
    with pytest.raises(errors.NotPermitted):
        _actor(Role.store_manager).require_manage(Role.cashier)


def test_store_scope_and_personal_data_follow_the_role() -> None:
    assert _actor(Role.cashier).store_scope == frozenset({"SH001", "SH002"})
    assert _actor(Role.admin).store_scope is None
    assert [role for role in Role if _actor(role).sees_personal_data] == [Role.owner, Role.admin]


def test_an_actor_is_recorded_in_the_audit_log_by_id_and_name() -> None:
    origin = _actor(Role.admin).origin(ip="10.0.0.1", user_agent="Safari")
    assert (origin.actor_id, origin.actor_name, origin.ip, origin.user_agent) == (
        7,
        "someone",
        "10.0.0.1",
        "Safari",
    )


def test_roles_are_parsed_by_name() -> None:
    assert parse_role("store_manager") is Role.store_manager
    with pytest.raises(errors.InvalidRole) as refused:
        parse_role("root")
    assert refused.value.detail("en") == (
        "root is not a role; the roles are owner, admin, marketer, store_manager, cashier, analyst."
    )


@pytest.mark.parametrize(
    "name", ["ab1", "alice", "Alice.Wang", "cashier_sh001", "a@b.cn", "x" * 32]
)
def test_usernames_of_the_right_shape(name: str) -> None:
    assert check_username(f" {name} ") == name


@pytest.mark.parametrize("name", ["", "ab", "x" * 33, ".alice", "al ice", "张三", "ali\nce", "a/b"])
def test_usernames_of_the_wrong_shape(name: str) -> None:
    with pytest.raises(errors.InvalidUsername) as refused:
        check_username(name)
    assert refused.value.status == 422


def test_usernames_ignore_case() -> None:
    assert username_key(" Alice ") == username_key("ALICE") == "alice"


def test_display_names() -> None:
    assert check_display_name(None, username="alice") == "alice"
    assert check_display_name("  王收银 ", username="alice") == "王收银"
    for bad in ("x" * 51, "tab\there"):
        with pytest.raises(errors.InvalidDisplayName):
            check_display_name(bad, username="alice")


def test_password_rules_with_their_messages() -> None:
    check_password("x" * 10, username="alice")
    check_password("x" * PASSWORD_MAX, username="alice")
    with pytest.raises(errors.PasswordTooShort) as short:
        check_password("x" * 9, username="alice")
    assert short.value.detail("en") == "A password must be at least 10 characters long."
    assert short.value.detail("zh_CN") == "密码至少需要 10 个字符。"
    with pytest.raises(errors.PasswordTooLong):
        check_password("x" * (PASSWORD_MAX + 1), username="alice")
    with pytest.raises(errors.PasswordIsUsername) as same:
        check_password("Cashier.SH001", username="cashier.sh001")
    assert same.value.code == "password_is_username"
    assert same.value.detail("zh_CN") == "密码不能与用户名相同。"


def test_store_bindings_follow_the_role() -> None:
    assert check_stores(Role.cashier, ["SH001", "SH001"]) == frozenset({"SH001"})
    assert check_stores(Role.analyst, []) == frozenset()
    with pytest.raises(errors.StoresRequired) as required:
        check_stores(Role.store_manager, [])
    assert required.value.detail("en") == (
        "The store manager role acts for one or more stores: name at least one store."
    )
    with pytest.raises(errors.StoresNotAllowed):
        check_stores(Role.admin, ["SH001"])
    with pytest.raises(errors.TooManyStores):
        check_stores(Role.cashier, [f"S{n}" for n in range(101)])


def test_languages() -> None:
    assert check_locale("en") == "en"
    with pytest.raises(errors.InvalidLocale):
        check_locale("fr")


# --- the lock-out -------------------------------------------------------------------------

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
LIMITS = LoginLimits(max_failures=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))


def _minutes(*offsets: float, ok: bool = False) -> list[tuple[datetime, bool]]:
    return [(T0 + timedelta(minutes=offset), ok) for offset in offsets]


def test_five_failures_within_the_window_lock_the_account_for_the_lockout() -> None:
    four = _minutes(0, 1, 2, 3)
    assert locked_until(four, now=T0 + timedelta(minutes=3), limits=LIMITS) is None
    five = _minutes(0, 1, 2, 3, 14)
    until = T0 + timedelta(minutes=29)
    assert locked_until(five, now=T0 + timedelta(minutes=14), limits=LIMITS) == until
    assert locked_until(five, now=until - timedelta(seconds=1), limits=LIMITS) == until
    assert locked_until(five, now=until, limits=LIMITS) is None


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    spread = _minutes(0, 4, 8, 12, 16)  # never five within 15 minutes
    assert locked_until(spread, now=T0 + timedelta(minutes=16), limits=LIMITS) is None


def test_a_success_starts_the_count_afresh() -> None:
    attempts = [*_minutes(0, 1, 2, 3), *_minutes(4, ok=True), *_minutes(5, 6, 7, 8)]
    assert locked_until(attempts, now=T0 + timedelta(minutes=8), limits=LIMITS) is None


def test_after_a_lockout_old_failures_never_count_again() -> None:
    short = LoginLimits(max_failures=3, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
    attempts = [*_minutes(0, 1, 2), *_minutes(17.5)]
    assert locked_until(attempts, now=T0 + timedelta(minutes=17.5), limits=short) is None


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[datetime, bool]], datetime, LoginLimits]:
    """Attempts as the service records them: none while the account was locked."""
    window = draw(st.integers(1, 30))
    limits = LoginLimits(
        max_failures=draw(st.integers(1, 6)),
        window=timedelta(minutes=window),
        lockout=timedelta(minutes=draw(st.integers(window, 60))),
    )
    recorded: list[tuple[datetime, bool]] = []
    at = T0
    for gap, succeeded in draw(st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=40)):
        at += timedelta(minutes=gap, seconds=draw(st.integers(0, 59)))
        if locked_until(recorded, now=at, limits=limits) is None:
            recorded.append((at, succeeded))
    now = at + timedelta(minutes=draw(st.integers(0, 90)))
    return recorded, now, limits


@settings(max_examples=300, deadline=None)
@given(histories())
def test_the_lookback_decides_as_the_whole_history_does(
    history: tuple[list[tuple[datetime, bool]], datetime, LoginLimits],
) -> None:
    # the service reads only the attempts of the last lockout + window
    recorded, now, limits = history
    recent = [(at, ok) for at, ok in recorded if at > now - limits.lookback]
    assert locked_until(recent, now=now, limits=limits) == locked_until(
        recorded, now=now, limits=limits
    )


def test_an_address_is_blocked_at_its_limit_until_failures_age_out() -> None:
    limits = LoginLimits(ip_max_failures=3, window=timedelta(minutes=15))
    failures = [T0 + timedelta(minutes=offset) for offset in (0, 5, 10)]
    now = T0 + timedelta(minutes=10)
    assert ip_blocked_until(failures[:2], now=now, limits=limits) is None
    assert ip_blocked_until(failures, now=now, limits=limits) == T0 + timedelta(minutes=15)
    assert ip_blocked_until(failures, now=T0 + timedelta(minutes=15), limits=limits) is None
    more = [*failures, T0 + timedelta(minutes=11)]
    assert ip_blocked_until(more, now=now, limits=limits) == T0 + timedelta(minutes=20)


def test_a_session_ends_when_idle_or_at_its_lifetime() -> None:
    limits = SessionLimits(idle=timedelta(minutes=30), lifetime=timedelta(hours=12))
    assert session_ends_at(created_at=T0, last_seen_at=T0, limits=limits) == T0 + timedelta(
        minutes=30
    )
    late = T0 + timedelta(hours=11, minutes=50)
    assert session_ends_at(created_at=T0, last_seen_at=late, limits=limits) == T0 + timedelta(
        hours=12
    )
    assert not touch_due(last_seen_at=T0, now=T0 + timedelta(seconds=59))
    assert touch_due(last_seen_at=T0, now=T0 + timedelta(seconds=60))


# --- the store worked for ----------------------------------------------------------------

TWO_STORES = Actor(7, "wang", Role.cashier, frozenset({"SH002", "SH001"}))


@pytest.mark.parametrize(
    ("actor", "chosen", "working"),
    [
        (TWO_STORES, None, "SH001"),
        (TWO_STORES, "SH002", "SH002"),
        (TWO_STORES, "SH003", "SH001"),  # not theirs (or no longer): the first of theirs
        (TWO_STORES, "", "SH001"),
        (Actor(8, "li", Role.store_manager, frozenset({"BJ001"})), "SH001", "BJ001"),
        (Actor(9, "boss", Role.owner), "SH001", None),
        (Actor(10, "ana", Role.analyst), None, None),
    ],
)
def test_the_store_worked_for_is_one_of_ones_own(
    actor: Actor, chosen: str | None, working: str | None
) -> None:
    assert actor.working_store(chosen) == working


def test_only_ones_own_stores_may_be_chosen() -> None:
    assert TWO_STORES.require_store("SH002") == "SH002"
    with pytest.raises(errors.OutsideStores):
        TWO_STORES.require_store("SH003")
    with pytest.raises(errors.NotStoreBound):
        Actor(9, "boss", Role.owner).require_store("SH001")


@pytest.mark.parametrize(
    ("sent", "refusal"),
    [
        (None, None),
        ("", None),
        ("SH002", None),
        ("SH001", errors.StoreChanged),  # theirs, but not the one worked for now
        ("SH003", errors.OutsideStores),
        ("<script>", errors.OutsideStores),
    ],
)
def test_a_till_form_is_for_the_store_worked_for(
    sent: str | None, refusal: type[Exception] | None
) -> None:
    if refusal is None:
        TWO_STORES.require_same_store(sent, working="SH002")
    else:
        with pytest.raises(refusal):
            TWO_STORES.require_same_store(sent, working="SH002")
