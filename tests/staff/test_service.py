"""Staff use cases on a real database: accounts, signing in with lock-out, sessions, CSRF."""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.config import settings
from memberkit.db import Database
from memberkit.errors import MemberkitError
from memberkit.kit.time import utcnow
from memberkit.program.service import ProgramConfig
from memberkit.staff import errors, passwords
from memberkit.staff import service as staff_service
from memberkit.staff.models import LoginAttempt, StaffSession, StaffUser
from memberkit.staff.rules import Actor, Role
from memberkit.staff.tasks import purge
from memberkit.store.models import Store
from memberkit.store.service import StoreInactive, StoreNotFound
from tests.factories import make_store
from tests.rest import table_contents
from tests.staff.conftest import PASSWORDS

IP = "10.0.0.1"


def sign_in(
    database: Database,
    program: ProgramConfig,
    username: str,
    password: str | None = None,
    *,
    ip: str = IP,
    **extra: object,
) -> staff_service.SignedIn:
    return staff_service.authenticate(
        database,
        program_id=program.id,
        username=username,
        password=PASSWORDS.get(username.lower(), "") if password is None else password,
        ip=ip,
        **extra,  # type: ignore[arg-type]
    )


def account(database: Database, username: str) -> StaffUser:
    with database.session_scope(read_only=True) as session:
        return session.scalars(select(StaffUser).where(StaffUser.username == username)).one()


def audit_trail(database: Database) -> list[tuple[str, str | None, str, dict | None, dict | None]]:
    with database.session_scope(read_only=True) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.action, e.actor_name, e.subject_id, e.before, e.after) for e in rows]


# --- accounts -----------------------------------------------------------------------------


def test_the_first_owner_is_made_by_the_cli_with_a_hashed_password(
    database: Database, program: ProgramConfig
) -> None:
    # when the first account is made (no actor: the CLI)
    with database.session_scope() as session:
        view = staff_service.create_user(
            session,
            program_id=program.id,
            username=" Alice ",
            password="correct horse",
            role="owner",
            display_name="王老板",
        )

    # then it is stored with an Argon2id hash, never the password, and audited as the CLI's
    stored = account(database, "Alice")
    assert (stored.username, stored.username_key, stored.display_name, stored.role) == (
        "Alice",
        "alice",
        "王老板",
        "owner",
    )
    assert stored.password_hash.startswith("$argon2id$")
    assert "correct horse" not in repr(table_contents(database))
    assert (view.locale, view.stores, view.active, view.last_login_at) == ("zh_CN", (), True, None)
    assert audit_trail(database) == [
        (
            "staff.create",
            "cli",
            str(view.id),
            None,
            {
                "username": "Alice",
                "display_name": "王老板",
                "role": "owner",
                "stores": [],
                "active": True,
                "locale": "zh_CN",
            },
        )
    ]


def test_usernames_are_unique_in_the_program_whatever_their_case(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    before = table_contents(database)
    with pytest.raises(errors.StaffExists) as refused, database.session_scope() as session:
        staff_service.create_user(
            session, program_id=program.id, username="CASHIER", password="x" * 12, role="analyst"
        )
    assert refused.value.status == 409
    assert refused.value.detail("en") == (
        "A staff account named CASHIER already exists (user names ignore case)."
    )
    assert table_contents(database) == before


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"role": "cashier"}, errors.StoresRequired),
        ({"role": "cashier", "stores": ["NOPE"]}, StoreNotFound),
        ({"role": "cashier", "stores": ["OLD1"]}, StoreInactive),
        ({"role": "admin", "stores": ["SH001"]}, errors.StoresNotAllowed),
        ({"role": "root"}, errors.InvalidRole),
        ({"username": "a b"}, errors.InvalidUsername),
        ({"password": "short"}, errors.PasswordTooShort),
        ({"password": "NEWHIRE001"}, errors.PasswordIsUsername),
        ({"locale": "fr"}, errors.InvalidLocale),
    ],
)
def test_a_refused_account_changes_nothing(
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    changes: dict[str, object],
    refusal: type[MemberkitError],
) -> None:
    with database.session_scope() as session:
        make_store(session, program, code="OLD1", active=False)
    before = table_contents(database)
    values: dict[str, object] = {
        "username": "newhire001",
        "password": "a-good-password",
        "role": "analyst",
        **changes,
    }
    with pytest.raises(refusal), database.session_scope() as session:
        staff_service.create_user(session, program_id=program.id, **values)  # type: ignore[arg-type]
    assert table_contents(database) == before


def test_who_may_make_and_change_accounts(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # an admin makes a cashier of SH002 and moves them to SH001 as well
    with database.session_scope() as session:
        staff_service.create_user(
            session,
            program_id=program.id,
            username="cashier2",
            password="till-two-2026",
            role="cashier",
            stores=["SH002"],
            actor=staff["admin"],
        )
        moved = staff_service.update_user(
            session,
            program_id=program.id,
            username="cashier2",
            stores=["SH001", "SH002"],
            display_name="小李",
            actor=staff["admin"],
        )
    assert (moved.stores, moved.display_name) == (("SH001", "SH002"), "小李")

    before = table_contents(database)
    refusals: list[tuple[str, type[MemberkitError], dict[str, object]]] = [
        ("admin", errors.CannotManageRole, {"username": "x-owner", "role": "owner"}),
        ("manager", errors.NotPermitted, {"username": "x-cashier", "role": "cashier"}),
        ("cashier", errors.NotPermitted, {"username": "x-analyst", "role": "analyst"}),
    ]
    for who, refusal, values in refusals:
        with pytest.raises(refusal), database.session_scope() as session:
            staff_service.create_user(
                session,
                program_id=program.id,
                password="a-good-password",
                stores=["SH001"] if values["role"] == "cashier" else (),
                actor=staff[who],
                **values,  # type: ignore[arg-type]
            )
    for change in (
        lambda s: staff_service.update_user(
            s, program_id=program.id, username="owner", display_name="x", actor=staff["admin"]
        ),
        lambda s: staff_service.update_user(
            s, program_id=program.id, username="cashier", role="owner", actor=staff["admin"]
        ),
        lambda s: staff_service.set_active(
            s, program_id=program.id, username="owner", active=False, actor=staff["admin"]
        ),
        lambda s: staff_service.reset_password(
            s, program_id=program.id, username="owner", password="x" * 12, actor=staff["admin"]
        ),
        lambda s: staff_service.list_users(s, program_id=program.id, actor=staff["manager"]),
    ):
        with pytest.raises((errors.CannotManageRole, errors.NotPermitted)):
            with database.session_scope() as session:
                change(session)
    assert table_contents(database) == before


def test_the_last_owner_stays_and_nobody_disables_or_demotes_themselves(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    before = table_contents(database)
    for change, refusal in (
        (
            lambda s: staff_service.set_active(
                s, program_id=program.id, username="owner", active=False
            ),
            errors.LastOwner,
        ),
        (
            lambda s: staff_service.update_user(
                s, program_id=program.id, username="owner", role="admin"
            ),
            errors.LastOwner,
        ),
        (
            lambda s: staff_service.set_active(
                s, program_id=program.id, username="admin", active=False, actor=staff["admin"]
            ),
            errors.CannotDisableSelf,
        ),
        (
            lambda s: staff_service.update_user(
                s, program_id=program.id, username="admin", role="analyst", actor=staff["admin"]
            ),
            errors.CannotDisableSelf,
        ),
    ):
        with pytest.raises(refusal), database.session_scope() as session:
            change(session)
    assert table_contents(database) == before

    # with a second owner, the first may go
    with database.session_scope() as session:
        staff_service.update_user(session, program_id=program.id, username="admin", role="owner")
        gone = staff_service.set_active(
            session, program_id=program.id, username="owner", active=False
        )
    assert not gone.active


def test_two_owners_disabled_at_once_leave_one(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # given two owners
    with database.session_scope() as session:
        staff_service.update_user(session, program_id=program.id, username="admin", role="owner")

    # when each is disabled at the same moment by another process
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def disable(username: str) -> None:
        barrier.wait()
        try:
            with database.session_scope() as session:
                staff_service.set_active(
                    session, program_id=program.id, username=username, active=False
                )
            outcomes[username] = "disabled"
        except errors.LastOwner:
            outcomes[username] = "refused"

    threads = [threading.Thread(target=disable, args=(name,)) for name in ("owner", "admin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly one was disabled, and one owner is left
    assert sorted(outcomes.values()) == ["disabled", "refused"]
    with database.session_scope(read_only=True) as session:
        owners = staff_service.list_users(session, program_id=program.id)
    assert [u.username for u in owners if u.role == Role.owner and u.active] == [
        name for name, outcome in outcomes.items() if outcome == "refused"
    ]


# --- signing in ---------------------------------------------------------------------------


def test_signing_in_opens_a_session_holding_only_the_tokens_hash(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    signed = sign_in(database, program, "Cashier", user_agent="Mozilla/5.0 (iPad)")

    principal = signed.principal
    assert principal.actor == staff["cashier"]
    assert (principal.display_name, principal.locale, principal.program_id) == (
        "cashier",
        "zh_CN",
        program.id,
    )
    contents = repr(table_contents(database))
    assert signed.token not in contents
    with database.session_scope(read_only=True) as session:
        row = session.scalars(select(StaffSession)).one()
        attempt = session.scalars(select(LoginAttempt)).one()
    assert row.token_hash == hashlib.sha256(signed.token.encode()).hexdigest()
    assert (row.ip, row.user_agent, row.staff_id) == (
        IP,
        "Mozilla/5.0 (iPad)",
        staff["cashier"].staff_id,
    )
    assert (attempt.outcome, attempt.staff_id, attempt.ip) == ("ok", staff["cashier"].staff_id, IP)
    assert "cashier" not in attempt.username_hash
    assert account(database, "cashier").last_login_at is not None


def test_a_wrong_password_and_an_unknown_name_are_refused_alike(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    refusals = []
    for username, password in (("cashier", "not-the-password"), ("nobody", "whatever-it-is")):
        with pytest.raises(errors.LoginFailed) as refused:
            sign_in(database, program, username, password)
        refusals.append((refused.value.status, refused.value.code, refused.value.detail("en")))
    assert refusals == [(401, "login_failed", "Wrong user name or password.")] * 2

    # and neither name typed is stored (it may be a password typed in the wrong field)
    contents = repr(table_contents(database)["staff_login_attempts"])
    assert "nobody" not in contents and "not-the-password" not in contents
    with database.session_scope(read_only=True) as session:
        attempts = session.execute(select(LoginAttempt.staff_id, LoginAttempt.outcome)).all()
    assert sorted(attempts, key=repr) == sorted(
        [(staff["cashier"].staff_id, "failed"), (None, "failed")], key=repr
    )


def test_an_unknown_name_takes_as_long_as_a_wrong_password(
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # with the real costs of production and a real account hashed at them
    monkeypatch.setattr(settings, "password_time_cost", 3)
    monkeypatch.setattr(settings, "password_memory_kib", 65_536)
    monkeypatch.setattr(settings, "password_parallelism", 4)
    with database.session_scope() as session:
        staff_service.reset_password(
            session, program_id=program.id, username="cashier", password="real-costs-2026"
        )

    def timed(username: str) -> float:
        start = time.perf_counter()
        with pytest.raises(errors.LoginFailed):
            sign_in(database, program, username, "wrong-password", ip=f"10.9.{len(username)}.1")
        return time.perf_counter() - start

    known = statistics.median(timed("cashier") for _ in range(3))
    unknown = statistics.median(timed("nobody-at-all") for _ in range(3))
    assert unknown > 0.6 * known, (unknown, known)


def test_five_failures_lock_the_account_and_say_until_when(
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "timezone", "Asia/Shanghai")
    start = utcnow().replace(microsecond=0)
    for minute in range(4):
        with pytest.raises(errors.LoginFailed):
            sign_in(
                database,
                program,
                "cashier",
                "wrong-password",
                now=start + timedelta(minutes=minute),
            )

    # the fifth failure locks it
    fifth = start + timedelta(minutes=4)
    with pytest.raises(errors.AccountLocked) as locked:
        sign_in(database, program, "cashier", "wrong-password", now=fifth)
    until = (fifth + timedelta(minutes=15)).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    assert locked.value.status == 429
    assert locked.value.detail("en") == (
        f"Too many failed sign-ins for this account: it is locked until {until} (15 minutes from now)."
    )
    assert (
        locked.value.detail("zh_CN")
        == f"该账号登录失败次数过多，已锁定至 {until}（15 分钟后解锁）。"
    )

    # the right password is refused unchecked while it is locked, and does not prolong it
    for minute in (5, 18):
        with pytest.raises(errors.AccountLocked):
            sign_in(database, program, "cashier", now=start + timedelta(minutes=minute))
    # another account is not locked; after the lock-out the right password signs in
    sign_in(database, program, "manager", now=fifth)
    signed = sign_in(database, program, "cashier", now=fifth + timedelta(minutes=15))
    assert signed.principal.actor.username == "cashier"
    with database.session_scope(read_only=True) as session:
        outcomes = session.scalars(
            select(LoginAttempt.outcome)
            .where(LoginAttempt.staff_id == staff["cashier"].staff_id)
            .order_by(LoginAttempt.id)
        ).all()
    assert outcomes == ["failed"] * 5 + ["locked", "locked", "ok"]


def test_unknown_names_lock_the_same_way(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    start = utcnow()
    for minute in range(4):
        with pytest.raises(errors.LoginFailed):
            sign_in(
                database, program, "ghost", "guess-guess", now=start + timedelta(minutes=minute)
            )
    with pytest.raises(errors.AccountLocked):
        sign_in(database, program, "GHOST", "guess-guess", now=start + timedelta(minutes=4))


def test_one_address_failing_too_often_must_wait(
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an address limit of 3 failures per 15 minutes
    monkeypatch.setattr(settings, "login_ip_max_failures", 3)
    start = utcnow()
    for number, username in enumerate(("owner", "admin", "somebody")):
        with pytest.raises(errors.LoginFailed):
            sign_in(
                database, program, username, "wrong-password", now=start + timedelta(minutes=number)
            )

    # then that address is refused even the right password, until its failures age out
    with pytest.raises(errors.LoginRateLimited) as limited:
        sign_in(database, program, "cashier", now=start + timedelta(minutes=5))
    assert limited.value.code == "login_rate_limited"
    assert "(10 minutes from now)" in limited.value.detail("en")
    sign_in(database, program, "cashier", ip="10.0.0.2", now=start + timedelta(minutes=5))
    sign_in(database, program, "cashier", now=start + timedelta(minutes=15, seconds=1))


def test_a_disabled_account_is_told_so_only_after_its_right_password(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    with database.session_scope() as session:
        staff_service.set_active(session, program_id=program.id, username="cashier", active=False)
    with pytest.raises(errors.LoginFailed):
        sign_in(database, program, "cashier", "wrong-password")
    with pytest.raises(errors.AccountDisabled) as disabled:
        sign_in(database, program, "cashier")
    assert disabled.value.detail("zh_CN") == "该账号已停用，请联系所有者或管理员启用。"
    with database.session_scope(read_only=True) as session:
        assert session.scalars(select(StaffSession)).all() == []


def test_a_hash_of_other_costs_is_redone_at_sign_in(
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = account(database, "manager").password_hash
    assert ",t=1," in old  # made at the tests' costs

    # when the costs are raised and the account signs in
    monkeypatch.setattr(settings, "password_time_cost", 2)
    sign_in(database, program, "manager")

    # then its hash is made anew at the new costs, and still takes the password
    new = account(database, "manager").password_hash
    assert new != old and ",t=2," in new
    assert passwords.verify(new, PASSWORDS["manager"]) == (True, False)
    sign_in(database, program, "manager")
    assert account(database, "manager").password_hash == new


# --- sessions -----------------------------------------------------------------------------


def test_a_session_ends_after_its_idle_timeout(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    start = utcnow()
    signed = sign_in(database, program, "cashier", now=start)
    assert signed.principal.ends_at == start + timedelta(minutes=30)

    # used after 20 minutes, it lives 30 minutes from then
    used = staff_service.resolve(database, token=signed.token, now=start + timedelta(minutes=20))
    assert used is not None and used.ends_at == start + timedelta(minutes=50)
    assert used.csrf_token == signed.principal.csrf_token
    assert staff_service.resolve(database, token=signed.token, now=start + timedelta(minutes=49))

    # idle for 30 minutes, it is gone, row and all
    assert (
        staff_service.resolve(database, token=signed.token, now=start + timedelta(minutes=80))
        is None
    )
    with database.session_scope(read_only=True) as session:
        assert session.scalars(select(StaffSession)).all() == []


def test_a_session_ends_at_its_lifetime_however_busy(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    start = utcnow()
    signed = sign_in(database, program, "cashier", now=start)
    moment = start
    while moment + timedelta(minutes=20) < start + timedelta(hours=12):
        moment += timedelta(minutes=20)
        assert staff_service.resolve(database, token=signed.token, now=moment) is not None
    assert (
        staff_service.resolve(database, token=signed.token, now=start + timedelta(hours=12)) is None
    )


def test_signing_out_deletes_the_session(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    first = sign_in(database, program, "cashier")
    second = sign_in(database, program, "cashier")
    with database.session_scope() as session:
        staff_service.sign_out(session, token=first.token)
        staff_service.sign_out(session, token=first.token)  # twice: nothing more
        staff_service.sign_out(session, token=None)
    assert staff_service.resolve(database, token=first.token) is None
    assert staff_service.resolve(database, token=second.token) is not None
    for junk in (None, "", "x" * 500, "not-a-token"):
        assert staff_service.resolve(database, token=junk) is None
    with pytest.raises(errors.NotSignedIn):
        staff_service.require(database, token=first.token)


def test_changing_ones_password_ends_every_other_session(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    here = sign_in(database, program, "cashier")
    elsewhere = sign_in(database, program, "cashier", ip="10.0.0.7")
    other_account = sign_in(database, program, "manager")

    # a wrong current password changes nothing
    before = table_contents(database)
    with pytest.raises(errors.WrongPassword), database.session_scope() as session:
        staff_service.change_password(
            session, principal=here.principal, current="wrong-password", new="brand-new-2026"
        )
    assert table_contents(database) == before

    with database.session_scope() as session:
        ended = staff_service.change_password(
            session, principal=here.principal, current=PASSWORDS["cashier"], new="brand-new-2026"
        )
    assert ended == 1
    assert staff_service.resolve(database, token=here.token) is not None
    assert staff_service.resolve(database, token=elsewhere.token) is None
    assert staff_service.resolve(database, token=other_account.token) is not None
    with pytest.raises(errors.LoginFailed):
        sign_in(database, program, "cashier")
    sign_in(database, program, "cashier", "brand-new-2026")
    action, actor, subject, before, after = audit_trail(database)[-1]
    assert (action, actor, subject) == ("staff.password", "cashier", str(staff["cashier"].staff_id))
    assert before is not None and after is not None
    assert (sorted(before), sorted(after)) == (
        ["password_changed_at", "username"],
        ["must_change_password", "password_changed_at", "sessions_ended", "username"],
    )
    assert (before["username"], after["username"], after["sessions_ended"]) == ("cashier",) * 2 + (
        1,
    )
    assert after["must_change_password"] is False  # chosen by the account itself
    changed = [datetime.fromisoformat(side["password_changed_at"]) for side in (before, after)]
    assert changed[1] > changed[0]


def test_a_reset_or_disabling_ends_all_sessions_of_the_account(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    first = sign_in(database, program, "cashier")
    with database.session_scope() as session:
        ended = staff_service.reset_password(
            session,
            program_id=program.id,
            username="cashier",
            password="reset-by-admin",
            actor=staff["admin"],
        )
    assert ended == 1 and staff_service.resolve(database, token=first.token) is None

    second = sign_in(database, program, "cashier", "reset-by-admin")
    with database.session_scope() as session:
        staff_service.set_active(
            session, program_id=program.id, username="cashier", active=False, actor=staff["owner"]
        )
    assert staff_service.resolve(database, token=second.token) is None
    assert [entry[:2] for entry in audit_trail(database)[-2:]] == [
        ("staff.password", "admin"),
        ("staff.disable", "owner"),
    ]
    assert audit_trail(database)[-1][4]["sessions_ended"] == 1  # type: ignore[index]


def test_each_session_has_its_own_csrf_token_checked_in_constant_time(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    mine = sign_in(database, program, "cashier").principal
    theirs = sign_in(database, program, "cashier").principal
    assert mine.csrf_token != theirs.csrf_token and len(mine.csrf_token) >= 40
    assert staff_service.check_csrf(mine, mine.csrf_token)
    for wrong in (theirs.csrf_token, None, "", mine.csrf_token[:-1], "令牌", mine.csrf_token + " "):
        assert not staff_service.check_csrf(mine, wrong)
    with pytest.raises(errors.CsrfMismatch) as refused:
        staff_service.require_csrf(mine, theirs.csrf_token)
    assert refused.value.status == 403


def test_the_console_language_is_remembered_per_account(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    signed = sign_in(database, program, "cashier")
    with database.session_scope() as session:
        staff_service.set_locale(session, principal=signed.principal, locale="en")
    with pytest.raises(errors.InvalidLocale), database.session_scope() as session:
        staff_service.set_locale(session, principal=signed.principal, locale="de")
    resolved = staff_service.resolve(database, token=signed.token)
    assert resolved is not None and resolved.locale == "en"
    assert sign_in(database, program, "manager").principal.locale == "zh_CN"


def test_the_daily_purge_deletes_ended_sessions_and_old_attempts(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    now = utcnow()
    old = sign_in(database, program, "cashier", now=now - timedelta(days=40))
    live = sign_in(database, program, "manager", now=now - timedelta(minutes=5))

    dry = purge(database, program=program, as_of=now, dry_run=True)
    assert str(dry) == ("Dry run: 1 ended staff sessions and 1 sign-in attempts would be purged.")
    done = purge(database, program=program, as_of=now)
    assert str(done) == "1 ended staff sessions and 1 sign-in attempts purged."
    with database.session_scope(read_only=True) as session:
        assert session.scalars(select(StaffSession.token_hash)).all() == [
            hashlib.sha256(live.token.encode()).hexdigest()
        ]
        assert len(session.scalars(select(LoginAttempt)).all()) == 1
    assert staff_service.resolve(database, token=old.token, now=now) is None


def test_stores_of_an_account_are_its_actors_stores(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    with database.session_scope(read_only=True) as session:
        codes = session.scalars(select(Store.code).order_by(Store.code)).all()
        users = staff_service.list_users(session, program_id=program.id, actor=staff["owner"])
    assert codes == ["SH001", "SH002"]
    assert [(u.username, u.role, u.stores) for u in users] == [
        ("admin", Role.admin, ()),
        ("cashier", Role.cashier, ("SH001",)),
        ("manager", Role.store_manager, ("SH001",)),
        ("owner", Role.owner, ()),
    ]


def test_the_audit_filter_reads_user_names_and_the_programs_days(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from memberkit.audit.service import AuditFilter

    tz = ZoneInfo("Asia/Shanghai")
    with database.session_scope(read_only=True) as session:
        wanted = staff_service.audit_filter(
            session,
            program_id=program.id,
            tz=tz,
            actor=" Admin ",
            subject="manager",
            kind="staff",
            action="staff.update",
            since="2026-12-01",
            until="2026-12-01",
        )
        assert wanted == AuditFilter(
            actor_id=staff["admin"].staff_id,
            action="staff.update",
            subject_type="staff",
            subject_id=str(staff["manager"].staff_id),
            since=datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
            until=datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
        )
        assert staff_service.audit_filter(session, program_id=program.id, tz=tz) == AuditFilter()
        for fields, refusal in (
            ({"actor": "nobody"}, errors.UnknownAuditActor),
            ({"since": "2026-02-30"}, errors.InvalidAuditDate),
            ({"until": "12/01/2026"}, errors.InvalidAuditEndDate),
            ({"since": "2026-12-02", "until": "2026-12-01"}, errors.AuditDatesReversed),
            ({"kind": "staff", "subject": "nobody"}, errors.StaffNotFound),
        ):
            with pytest.raises(refusal):
                staff_service.audit_filter(session, program_id=program.id, tz=tz, **fields)
