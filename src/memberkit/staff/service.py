"""Staff use cases: accounts, sign-in with lock-out, sessions with CSRF tokens, languages.

Every change to an account writes an audit entry in the same unit of work. Signing in is the
one use case that runs its own units of work (:func:`authenticate`): the password is checked
between them, so the hash's deliberate slowness never holds the write lock.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.audit import service as audit
from memberkit.audit.rules import CLI, IP_MAX, USER_AGENT_MAX, Origin
from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit import crypto
from memberkit.kit.pagination import Page
from memberkit.kit.time import local, start_of_local_day, utcnow
from memberkit.staff import passwords, queries, repository, rules
from memberkit.staff.errors import (
    AccountDisabled,
    AccountLocked,
    AuditDatesReversed,
    CannotDisableSelf,
    CsrfMismatch,
    InvalidAuditDate,
    InvalidAuditEndDate,
    LastOwner,
    LoginFailed,
    LoginRateLimited,
    NotSignedIn,
    SamePassword,
    StaffExists,
    StaffNotFound,
    UnknownAuditActor,
    WrongPassword,
)
from memberkit.staff.models import LoginOutcome, StaffUser
from memberkit.staff.rules import Action, Actor, Role
from memberkit.store import service as store_service

#: The subject type of staff accounts in the audit log.
SUBJECT = "staff"


@dataclass(frozen=True)
class StaffView:
    """An account as it may be shown: never its password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    stores: tuple[str, ...]
    active: bool
    locale: str
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None

    def audited(self) -> dict[str, object]:
        """What the audit log keeps of an account before and after a change."""
        return {
            name: value
            for name, value in asdict(self).items()
            if name in ("username", "display_name", "role", "stores", "active", "locale")
        }


def _views(session: Session, accounts: list[StaffUser]) -> list[StaffView]:
    codes = queries.store_codes(session, staff_ids=[account.id for account in accounts])
    return [
        StaffView(
            id=account.id,
            username=account.username,
            display_name=account.display_name,
            role=Role(account.role),
            stores=codes.get(account.id, ()),
            active=account.active,
            locale=account.locale,
            created_at=account.created_at,
            updated_at=account.updated_at,
            last_login_at=account.last_login_at,
        )
        for account in accounts
    ]


def _view(session: Session, account: StaffUser) -> StaffView:
    return _views(session, [account])[0]


def _origin(origin: Origin | None, actor: Actor | None) -> Origin:
    """Who the audit log names: as given, else the acting staff member, else the CLI."""
    if origin is not None:
        return origin
    return actor.origin() if actor is not None else CLI


def _audit(
    session: Session,
    account: StaffUser,
    action: str,
    origin: Origin,
    *,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> None:
    audit.record(
        session,
        program_id=account.program_id,
        origin=origin,
        action=action,
        subject_type=SUBJECT,
        subject_id=account.id,
        before=before,
        after=after,
    )


def _account(session: Session, *, program_id: int, username: str, lock: bool = False) -> StaffUser:
    account = repository.user(
        session, program_id=program_id, username_key=rules.username_key(username), lock=lock
    )
    if account is None:
        raise StaffNotFound(username=username)
    return account


def _store_ids(session: Session, *, program_id: int, codes: Collection[str]) -> list[int]:
    return [
        store_service.active_store_id(session, program_id=program_id, code=code)
        for code in sorted(codes)
    ]


def get(session: Session, *, program_id: int, username: str) -> StaffView:
    """Return an account by username (case ignored) or raise :class:`StaffNotFound`."""
    return _view(session, _account(session, program_id=program_id, username=username))


def list_users(session: Session, *, program_id: int, actor: Actor | None = None) -> list[StaffView]:
    """Return the program's accounts, disabled ones included, by username.

    ``actor`` is the staff member asking (they must manage staff); None for the CLI.
    """
    if actor is not None:
        actor.require(Action.manage_staff)
    return _views(session, queries.users(session, program_id=program_id))


def create_user(
    session: Session,
    *,
    program_id: int,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    stores: Collection[str] = (),
    locale: str | None = None,
    actor: Actor | None = None,
    origin: Origin | None = None,
) -> StaffView:
    """Make an account; ``actor`` (None for the CLI) must be allowed to manage its role.

    The username is unique in the program, case ignored (409 ``staff_exists``). Store
    managers and cashiers are bound to one or more active stores; other roles to none.
    """
    parsed = rules.parse_role(role)
    if actor is not None:
        actor.require_manage(parsed)
    name = rules.check_username(username)
    shown = rules.check_display_name(display_name, username=name)
    bound = rules.check_stores(parsed, stores)
    rules.check_password(password, username=name)
    language = rules.check_locale(locale or settings.default_locale)
    if repository.user(session, program_id=program_id, username_key=rules.username_key(name)):
        raise StaffExists(username=name)
    store_ids = _store_ids(session, program_id=program_id, codes=bound)
    now = utcnow()
    try:
        with session.begin_nested():
            account = repository.add_user(
                session,
                user=StaffUser(
                    program_id=program_id,
                    username=name,
                    username_key=rules.username_key(name),
                    display_name=shown,
                    role=parsed,
                    password_hash=passwords.hash_password(password),
                    locale=language,
                    active=True,
                    created_at=now,
                    updated_at=now,
                    password_changed_at=now,
                    # A password an admin chose is theirs to know: the account picks its own.
                    must_change_password=actor is not None,
                ),
            )
    except IntegrityError:  # the same name made at the same moment
        raise StaffExists(username=name) from None
    repository.bind_stores(session, staff_id=account.id, store_ids=store_ids)
    view = _view(session, account)
    _audit(session, account, "staff.create", _origin(origin, actor), after=view.audited())
    return view


def _lock(session: Session, *, program_id: int, username: str) -> tuple[StaffUser, list[int]]:
    """Lock an account for a change; first the program's active owners, in id order.

    So two changes that could each leave the program without an owner wait for each other
    (always in the same order: no deadlock), and the second sees the first's result.
    """
    owners = repository.lock_active_owners(session, program_id=program_id)
    return _account(session, program_id=program_id, username=username, lock=True), owners


def update_user(
    session: Session,
    *,
    program_id: int,
    username: str,
    display_name: str | None = None,
    role: str | None = None,
    stores: Collection[str] | None = None,
    actor: Actor | None = None,
    origin: Origin | None = None,
) -> StaffView:
    """Change an account's display name, role or stores (what is given changes).

    ``actor`` must manage both the account's role and the new one; nobody demotes
    themselves, and the last active owner stays an owner.
    """
    account, owners = _lock(session, program_id=program_id, username=username)
    before = _view(session, account)
    new_role = rules.parse_role(role) if role is not None else before.role
    if actor is not None:
        actor.require_manage(before.role)
        actor.require_manage(new_role)
        if account.id == actor.staff_id and new_role != before.role:
            raise CannotDisableSelf()
    bound = rules.check_stores(
        new_role,
        stores if stores is not None else (before.stores if new_role in rules.STORE_BOUND else ()),
    )
    values: dict[str, object] = {"role": new_role}
    if display_name is not None:
        values["display_name"] = rules.check_display_name(display_name, username=account.username)
    if new_role != Role.owner and owners == [account.id]:
        raise LastOwner(username=account.username)
    store_ids = _store_ids(session, program_id=program_id, codes=bound)
    repository.change_user(session, user=account, **values)
    repository.bind_stores(session, staff_id=account.id, store_ids=store_ids)
    after = get(session, program_id=program_id, username=username)
    if after.audited() != before.audited():
        _audit(
            session,
            account,
            "staff.update",
            _origin(origin, actor),
            before=before.audited(),
            after=after.audited(),
        )
    return after


def set_active(
    session: Session,
    *,
    program_id: int,
    username: str,
    active: bool,
    actor: Actor | None = None,
    origin: Origin | None = None,
) -> StaffView:
    """Enable or disable an account; disabling ends its sessions at once.

    Nobody disables themselves, and the last active owner stays enabled. Setting what is
    already set changes nothing.
    """
    account, owners = _lock(session, program_id=program_id, username=username)
    if actor is not None:
        actor.require_manage(Role(account.role))
        if account.id == actor.staff_id and not active:
            raise CannotDisableSelf()
    before = _view(session, account)
    if account.active == active:
        return before
    if not active and owners == [account.id]:
        raise LastOwner(username=account.username)
    repository.change_user(session, user=account, active=active)
    ended = 0 if active else repository.end_sessions(session, staff_id=account.id)
    after = get(session, program_id=program_id, username=username)
    _audit(
        session,
        account,
        "staff.enable" if active else "staff.disable",
        _origin(origin, actor),
        before=before.audited(),
        after={**after.audited(), **({} if active else {"sessions_ended": ended})},
    )
    return after


def reset_password(
    session: Session,
    *,
    program_id: int,
    username: str,
    password: str,
    actor: Actor | None = None,
    origin: Origin | None = None,
) -> int:
    """Give an account a new password (by an owner or admin, or the CLI); ends its sessions.

    Returns how many sessions were ended.
    """
    account = _account(session, program_id=program_id, username=username, lock=True)
    if actor is not None:
        actor.require_manage(Role(account.role))
    return _set_password(
        session,
        account=account,
        password=password,
        keep=None,
        origin=_origin(origin, actor),
        chosen_by_other=actor is not None and actor.staff_id != account.id,
    )


def change_password(
    session: Session,
    *,
    principal: Principal,
    current: str,
    new: str,
    origin: Origin | None = None,
) -> int:
    """Change one's own password, given the current one; ends every other session of it.

    The session it is changed from stays signed in. Returns how many sessions were ended.
    """
    account = session.get_one(StaffUser, principal.actor.staff_id, with_for_update=True)
    right, _rehash = passwords.verify(account.password_hash, current)
    if not right:
        raise WrongPassword()
    if new == current:
        raise SamePassword()
    return _set_password(
        session,
        account=account,
        password=new,
        keep=principal.session_id,
        origin=origin or principal.actor.origin(),
    )


def _set_password(
    session: Session,
    *,
    account: StaffUser,
    password: str,
    keep: int | None,
    origin: Origin,
    chosen_by_other: bool = False,
) -> int:
    """Set ``account``'s password and end its other sessions.

    ``chosen_by_other``: an admin chose it (the account must choose its own at its next
    sign-in); otherwise the account chose it, and any such demand is met.
    """
    rules.check_password(password, username=account.username)
    # The entry says when the password changed, before and after: never the password.
    before = {"username": account.username, "password_changed_at": account.password_changed_at}
    repository.change_user(
        session,
        user=account,
        password_hash=passwords.hash_password(password),
        password_changed_at=utcnow(),
        must_change_password=chosen_by_other,
    )
    ended = repository.end_sessions(session, staff_id=account.id, keep=keep)
    _audit(
        session,
        account,
        "staff.password",
        origin,
        before=before,
        after={
            "username": account.username,
            "password_changed_at": account.password_changed_at,
            "must_change_password": account.must_change_password,
            "sessions_ended": ended,
        },
    )
    return ended


def set_locale(session: Session, *, principal: Principal, locale: str) -> None:
    """Remember the language the staff member chose for the console (zh_CN or en)."""
    account = session.get_one(StaffUser, principal.actor.staff_id)
    repository.change_user(session, user=account, locale=rules.check_locale(locale))


# --- signing in and sessions --------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """A live staff session: who is signed in, their language, the CSRF token of its forms."""

    session_id: int
    program_id: int
    actor: Actor
    display_name: str
    locale: str
    csrf_token: str
    #: When the session ends if it is not used again (idle timeout or lifetime).
    ends_at: datetime
    #: Whether the account must choose its own password before anything else.
    must_change_password: bool = False


@dataclass(frozen=True)
class SignedIn:
    """A new session: ``token`` goes into the cookie and is never stored or shown again."""

    token: str
    principal: Principal


def login_limits() -> rules.LoginLimits:
    """The deployment's sign-in limits (``settings.login_*``)."""
    return rules.LoginLimits(
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
        lockout=timedelta(minutes=settings.login_lockout_minutes),
        ip_max_failures=settings.login_ip_max_failures,
    )


def session_limits() -> rules.SessionLimits:
    """The deployment's session limits (``settings.staff_idle_minutes``, ``…_session_hours``)."""
    return rules.SessionLimits(
        idle=timedelta(minutes=settings.staff_idle_minutes),
        lifetime=timedelta(hours=settings.staff_session_hours),
    )


def _token_hash(token: str) -> str:
    # Session tokens are 256-bit random: a plain SHA-256 is enough (as for API keys).
    return hashlib.sha256(token.encode()).hexdigest()


def _username_hash(program_id: int, key: str) -> str:
    return crypto.blind_index(f"staff login:{program_id}:{key}")


def _until(when: datetime, now: datetime) -> dict[str, Any]:
    return {
        "until": local(when).strftime("%Y-%m-%d %H:%M"),
        "minutes": max(1, math.ceil((when - now).total_seconds() / 60)),
    }


def _principal(
    account: StaffUser,
    stores: tuple[str, ...],
    row_id: int,
    *,
    token_hash: str,
    created_at: datetime,
    last_seen_at: datetime,
) -> Principal:
    return Principal(
        session_id=row_id,
        program_id=account.program_id,
        actor=Actor(account.id, account.username, Role(account.role), frozenset(stores)),
        display_name=account.display_name,
        locale=account.locale,
        csrf_token=crypto.form_token(f"staff session {row_id}:{token_hash}"),
        ends_at=rules.session_ends_at(
            created_at=created_at, last_seen_at=last_seen_at, limits=session_limits()
        ),
        must_change_password=account.must_change_password,
    )


def authenticate(
    database: Database,
    *,
    program_id: int,
    username: str,
    password: str,
    ip: str,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> SignedIn:
    """Sign a staff member in and open a session, or refuse saying why as far as is safe.

    Refusals: 429 ``login_rate_limited`` (this address failed too often) and
    ``account_locked`` (this username failed too often; both say when to try again) are
    decided before the password is looked at; 401 ``login_failed`` never says whether the
    username exists, and takes as long when it does not (a dummy hash is checked); 403
    ``account_disabled`` only after the right password. Every attempt is recorded.

    Runs its own units of work: a read, the password check outside any transaction, then a
    short write. A hash made with other costs than the configured ones is redone.
    """
    now = now or utcnow()
    limits = login_limits()
    key = rules.username_key(username)[:200]
    who = _username_hash(program_id, key)
    ip = ip[:IP_MAX]

    def note(session: Session, outcome: LoginOutcome, staff_id: int | None) -> None:
        repository.add_attempt(
            session,
            program_id=program_id,
            username_hash=who,
            staff_id=staff_id,
            ip=ip,
            at=now,
            outcome=outcome,
        )

    def attempt(outcome: LoginOutcome, staff_id: int | None = None) -> None:
        with database.session_scope() as session:
            note(session, outcome, staff_id)

    with database.session_scope(read_only=True) as session:
        address = queries.address_failures(
            session, program_id=program_id, ip=ip, since=now - limits.window
        )
        tried = queries.account_attempts(
            session, program_id=program_id, username_hash=who, since=now - limits.lookback
        )
        account = repository.user(session, program_id=program_id, username_key=key)
    blocked = rules.ip_blocked_until(address, now=now, limits=limits)
    if blocked is not None:
        attempt(LoginOutcome.limited, account.id if account else None)
        raise LoginRateLimited(**_until(blocked, now))
    locked = rules.locked_until(tried, now=now, limits=limits)
    if locked is not None:
        attempt(LoginOutcome.locked, account.id if account else None)
        raise AccountLocked(**_until(locked, now))

    right, rehash = passwords.verify(account.password_hash if account else None, password)
    if not right or account is None:
        attempt(LoginOutcome.failed, account.id if account else None)
        locked = rules.locked_until([*tried, (now, False)], now=now, limits=limits)
        if locked is not None:
            raise AccountLocked(**_until(locked, now))
        raise LoginFailed()
    if not account.active:
        attempt(LoginOutcome.disabled, account.id)
        raise AccountDisabled()

    token = secrets.token_urlsafe(32)
    token_hash = _token_hash(token)
    with database.session_scope() as session:
        current = repository.user(session, program_id=program_id, username_key=key, lock=True)
        if current is None or current.password_changed_at != account.password_changed_at:
            raise LoginFailed()  # the password changed while it was being checked
        if not current.active:
            raise AccountDisabled()
        repository.change_user(
            session,
            user=current,
            last_login_at=now,
            **({"password_hash": passwords.hash_password(password)} if rehash else {}),
        )
        note(session, LoginOutcome.ok, current.id)
        row_id = repository.add_session(
            session,
            staff_id=current.id,
            token_hash=token_hash,
            now=now,
            ip=ip,
            user_agent=user_agent[:USER_AGENT_MAX] if user_agent else None,
        )
        stores = queries.store_codes(session, staff_ids=[current.id]).get(current.id, ())
        principal = _principal(
            current, stores, row_id, token_hash=token_hash, created_at=now, last_seen_at=now
        )
    return SignedIn(token, principal)


def resolve(
    database: Database, *, token: str | None, now: datetime | None = None
) -> Principal | None:
    """Return the principal of a session token, or None when it is no live session.

    A session past its idle timeout or lifetime, or of a disabled account, is deleted. Its
    activity is noted at most once a minute (one short write), so reads stay reads.
    """
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    token_hash = _token_hash(token)
    with database.session_scope(read_only=True) as session:
        found = queries.session_by_hash(session, token_hash=token_hash)
        if found is None:
            return None
        row, account = found
        stores = queries.store_codes(session, staff_ids=[account.id]).get(account.id, ())
    ends_at = rules.session_ends_at(
        created_at=row.created_at, last_seen_at=row.last_seen_at, limits=session_limits()
    )
    if ends_at <= now or not account.active:
        with database.session_scope() as session:
            repository.end_session(session, session_id=row.id)
        return None
    last_seen = row.last_seen_at
    if rules.touch_due(last_seen_at=last_seen, now=now):
        with database.session_scope() as session:
            repository.touch_session(
                session, session_id=row.id, now=now, before=now - rules.TOUCH_EVERY
            )
        last_seen = now
    return _principal(
        account,
        stores,
        row.id,
        token_hash=token_hash,
        created_at=row.created_at,
        last_seen_at=last_seen,
    )


def require(database: Database, *, token: str | None) -> Principal:
    """Return the principal of a session token, or raise :class:`NotSignedIn`."""
    principal = resolve(database, token=token)
    if principal is None:
        raise NotSignedIn()
    return principal


def sign_out(session: Session, *, token: str | None) -> None:
    """End the session of this token; signing out twice, or with no session, changes nothing."""
    if token:
        repository.end_session(session, token_hash=_token_hash(token))


def store_token(principal: Principal, store_code: str) -> str:
    """Return what remembers, for this session only, the store the staff member works for.

    Refused unless ``store_code`` is one of their stores. Kept by the browser and bound to
    the session by a keyed hash, so it is neither forged nor carried over to another session.
    """
    principal.actor.require_store(store_code)
    mac = crypto.form_token(f"staff store {principal.csrf_token}:{store_code}")
    return f"{store_code}~{mac}"


def working_store(principal: Principal, token: str | None) -> str | None:
    """Return the store the staff member works for; None for chain-wide roles.

    The one remembered if it is still theirs, else the first of theirs.
    """
    chosen: str | None = None
    if token and len(token) <= 200 and "~" in token:
        code, mac = token.rsplit("~", 1)
        expected = crypto.form_token(f"staff store {principal.csrf_token}:{code}")
        if hmac.compare_digest(mac.encode(), expected.encode()):
            chosen = code
    return principal.actor.working_store(chosen)


def check_csrf(principal: Principal, submitted: str | None) -> bool:
    """Tell whether a form's CSRF token is this session's (compared in constant time)."""
    return hmac.compare_digest(principal.csrf_token.encode(), (submitted or "").encode())


def require_csrf(principal: Principal, submitted: str | None) -> None:
    """Refuse a form whose CSRF token is not this session's (403 ``csrf_mismatch``)."""
    if not check_csrf(principal, submitted):
        raise CsrfMismatch()


def purge(
    session: Session, *, program_id: int, now: datetime, keep_attempts: timedelta
) -> tuple[int, int]:
    """Delete sessions that have ended and sign-in attempts older than ``keep_attempts``.

    Returns (sessions, attempts) deleted.
    """
    limits = session_limits()
    sessions = repository.purge_sessions(
        session,
        program_id=program_id,
        idle_before=now - limits.idle,
        created_before=now - limits.lifetime,
    )
    attempts = repository.purge_attempts(session, program_id=program_id, before=now - keep_attempts)
    return sessions, attempts


def audit_filter(
    session: Session,
    *,
    program_id: int,
    tz: ZoneInfo,
    actor: str = "",
    subject: str = "",
    kind: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
) -> audit.AuditFilter:
    """Read the audit log's filters as typed: by whom, what, which action, which days.

    ``actor`` is a staff user name; ``since`` to ``until`` are days in ``tz``, the last
    included, written 2026-12-01.
    A staff account as the subject (``kind`` staff) may be named by its user name. Refuses an
    unknown user name, a date that is none, and a first day after the last (422).
    """
    actor_id: int | None = None
    if actor.strip():
        found = repository.user(
            session, program_id=program_id, username_key=rules.username_key(actor)
        )
        if found is None:
            raise UnknownAuditActor(username=actor.strip()[:USERNAME_SHOWN])
        actor_id = found.id
    subject_id = subject.strip() or None
    if subject_id and kind == SUBJECT and not subject_id.isdecimal():
        named = repository.user(
            session, program_id=program_id, username_key=rules.username_key(subject_id)
        )
        if named is None:
            raise StaffNotFound(username=subject_id[:USERNAME_SHOWN])
        subject_id = str(named.id)
    first, last = _day(since, InvalidAuditDate), _day(until, InvalidAuditEndDate)
    if first and last and first > last:
        raise AuditDatesReversed(since=first.isoformat(), until=last.isoformat())
    return audit.AuditFilter(
        actor_id=actor_id,
        action=action.strip() or None,
        subject_type=kind.strip() or None,
        subject_id=subject_id,
        since=start_of_local_day(first, tz) if first else None,
        until=start_of_local_day(last + timedelta(days=1), tz) if last else None,
    )


#: How much of a wrong user name or date a refusal repeats.
USERNAME_SHOWN = 40


def _day(raw: str, refusal: type[InvalidAuditDate]) -> date | None:
    """A day written 2026-12-01 (None when empty); refuses anything else with ``refusal``."""
    text = raw.strip()
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise refusal(value=text[:USERNAME_SHOWN]) from None
    if not 2000 <= day.year <= 2999:
        raise refusal(value=text)
    return day


def browse_audit(
    session: Session,
    *,
    program_id: int,
    viewer: Actor,
    filters: audit.AuditFilter | None = None,
    after: int | None = None,
    limit: int = 50,
) -> Page[audit.EntryView]:
    """Return a page of the audit log for a viewer whose role may see it (owners, admins).

    Personal data is shown as it was to roles that may see it, masked to the others.
    """
    viewer.require(rules.Action.view_audit)
    return audit.browse(
        session,
        program_id=program_id,
        personal=viewer.sees_personal_data,
        filters=filters,
        after=after,
        limit=limit,
    )
