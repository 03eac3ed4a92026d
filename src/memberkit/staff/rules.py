"""Pure staff rules: roles and what each may do, the store scope, account fields, sign-in limits.

Nothing here touches the database: the permission table, the store scope and the lock-out
arithmetic are decided over plain data and tested cell by cell (tests/staff/test_rules.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from memberkit.audit.rules import Origin
from memberkit.kit.i18n import LOCALES, Text, _
from memberkit.staff.errors import (
    CannotManageRole,
    InvalidDisplayName,
    InvalidLocale,
    InvalidRole,
    InvalidUsername,
    NeedsStore,
    NotPermitted,
    NotStoreBound,
    OutsideStores,
    PasswordIsUsername,
    PasswordTooLong,
    PasswordTooShort,
    StoreChanged,
    StoresNotAllowed,
    StoresRequired,
    TooManyStores,
)


class Role(StrEnum):
    """What a staff member is to the program; decides what they may do (:data:`PERMISSIONS`)."""

    owner = "owner"
    admin = "admin"
    marketer = "marketer"
    store_manager = "store_manager"
    cashier = "cashier"
    analyst = "analyst"


class Action(StrEnum):
    """Something a staff member may be allowed to do, in the console or at the till."""

    view_members = "view_members"
    identify_members = "identify_members"
    view_personal_data = "view_personal_data"
    register_members = "register_members"
    edit_members = "edit_members"
    freeze_member = "freeze_member"
    adjust_points = "adjust_points"
    grant_tier = "grant_tier"
    view_orders = "view_orders"
    post_orders = "post_orders"
    refund_orders = "refund_orders"
    recharge_wallet = "recharge_wallet"
    refund_wallet = "refund_wallet"
    use_benefits = "use_benefits"
    manage_benefits = "manage_benefits"
    view_coupons = "view_coupons"
    manage_coupons = "manage_coupons"
    manage_segments = "manage_segments"
    view_settings = "view_settings"
    edit_settings = "edit_settings"
    manage_stores = "manage_stores"
    manage_staff = "manage_staff"
    manage_api_keys = "manage_api_keys"
    manage_webhooks = "manage_webhooks"
    run_jobs = "run_jobs"
    view_reports = "view_reports"
    view_audit = "view_audit"


ROLE_NAMES: dict[Role, str] = {
    Role.owner: _("owner"),
    Role.admin: _("admin"),
    Role.marketer: _("marketer"),
    Role.store_manager: _("store manager"),
    Role.cashier: _("cashier"),
    Role.analyst: _("analyst"),
}

#: What each action is called in a refusal ("Your role (cashier) may not {action}.").
ACTION_NAMES: dict[Action, str] = {
    Action.view_members: _("view members"),
    Action.identify_members: _("identify members at the till"),
    Action.view_personal_data: _("see members' personal data unmasked"),
    Action.register_members: _("register members"),
    Action.edit_members: _("edit members' profiles and tags"),
    Action.freeze_member: _("freeze, unfreeze or close memberships"),
    Action.adjust_points: _("adjust points by hand"),
    Action.grant_tier: _("grant tiers"),
    Action.view_orders: _("view orders and refunds"),
    Action.post_orders: _("post orders"),
    Action.refund_orders: _("refund orders"),
    Action.recharge_wallet: _("recharge stored value"),
    Action.refund_wallet: _("pay back stored value"),
    Action.use_benefits: _("verify and undo members' benefits at the till"),
    Action.manage_benefits: _("define benefits and grant them to tiers"),
    Action.view_coupons: _("see coupon templates, batches and their figures"),
    Action.manage_coupons: _("define coupon templates, issue and revoke coupons"),
    Action.manage_segments: _("define, refresh and delete segments"),
    Action.view_settings: _("view the program's settings"),
    Action.edit_settings: _("change the program's settings"),
    Action.manage_stores: _("create, change or close stores"),
    Action.manage_staff: _("manage staff accounts"),
    Action.manage_api_keys: _("manage API keys"),
    Action.manage_webhooks: _("manage webhooks"),
    Action.run_jobs: _("run jobs"),
    Action.view_reports: _("view reports"),
    Action.view_audit: _("view the audit log"),
}

_EVERYONE = frozenset(Role)
_CHAIN_ADMINS = frozenset({Role.owner, Role.admin})
_TILL = frozenset({Role.owner, Role.admin, Role.store_manager, Role.cashier})

#: Who may do what (README "Staff and roles" shows the same table). Store managers and
#: cashiers do what they may within their stores only (:data:`STORE_SCOPED`).
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.view_members: _EVERYONE,
    Action.identify_members: _TILL,
    Action.view_personal_data: _CHAIN_ADMINS,
    Action.register_members: _TILL,
    Action.edit_members: frozenset({Role.owner, Role.admin, Role.marketer, Role.store_manager}),
    Action.freeze_member: _CHAIN_ADMINS,
    Action.adjust_points: _CHAIN_ADMINS,
    Action.grant_tier: frozenset({Role.owner, Role.admin, Role.marketer}),
    Action.view_orders: _EVERYONE,
    Action.post_orders: _TILL,
    Action.refund_orders: _TILL,
    Action.recharge_wallet: _TILL,
    # Money out of a wallet: not at the till, by whoever answers for the store's cash.
    Action.refund_wallet: frozenset({Role.owner, Role.admin, Role.store_manager}),
    Action.use_benefits: _TILL,
    Action.manage_benefits: frozenset({Role.owner, Role.admin, Role.marketer}),
    # Coupons are the chain's offers: its marketers give them, store-bound roles see a
    # member's coupons on the member page only (of their stores' members).
    Action.view_coupons: frozenset({Role.owner, Role.admin, Role.marketer, Role.analyst}),
    Action.manage_coupons: frozenset({Role.owner, Role.admin, Role.marketer}),
    # Segments are read by whoever sees reports (store-bound roles: their stores' members).
    Action.manage_segments: frozenset({Role.owner, Role.admin, Role.marketer}),
    Action.view_settings: _EVERYONE - {Role.cashier},
    Action.edit_settings: frozenset({Role.owner, Role.admin, Role.marketer}),
    Action.manage_stores: _CHAIN_ADMINS,
    Action.manage_staff: _CHAIN_ADMINS,
    Action.manage_api_keys: _CHAIN_ADMINS,
    Action.manage_webhooks: _CHAIN_ADMINS,
    Action.run_jobs: _CHAIN_ADMINS,
    Action.view_reports: _EVERYONE - {Role.cashier},
    Action.view_audit: _CHAIN_ADMINS,
}

#: Roles bound to one or more stores; every other role acts for the whole chain.
STORE_BOUND = frozenset({Role.store_manager, Role.cashier})
#: Actions a store-bound role does for its own stores only: on members registered at them,
#: orders and refunds made in them, their figures. The others it may do at all concern the
#: whole chain alike: identifying any member by card, phone or QR at the till (members shop
#: everywhere, as store-bound API keys read any member) and reading the program's settings.
STORE_SCOPED = frozenset(
    {
        Action.view_members,
        Action.register_members,
        Action.edit_members,
        Action.view_orders,
        Action.post_orders,
        Action.refund_orders,
        Action.recharge_wallet,
        Action.refund_wallet,
        Action.use_benefits,
        Action.view_reports,
    }
)
#: The most stores one account may be bound to.
MAX_STORES = 100


def parse_role(raw: str) -> Role:
    """Return the role named ``raw`` or refuse with the list of roles."""
    try:
        return Role(raw)
    except ValueError:
        raise InvalidRole(role=raw, roles=", ".join(Role)) from None


def may(role: Role, action: Action) -> bool:
    """Tell whether ``role`` may do ``action`` at all (for some store, if store-bound)."""
    return role in PERMISSIONS[action]


def may_manage(role: Role, target: Role) -> bool:
    """Tell whether ``role`` may make, change or disable an account of role ``target``.

    Owners manage every account; admins every account but owners' (they can neither make an
    owner nor change one); no other role manages accounts.
    """
    if not may(role, Action.manage_staff):
        return False
    return role == Role.owner or target != Role.owner


@dataclass(frozen=True)
class Actor:
    """A signed-in staff member as the rules see them: who, which role, which stores."""

    staff_id: int
    username: str
    role: Role
    #: The stores a store-bound role acts for (codes); empty for chain-wide roles.
    stores: frozenset[str] = field(default_factory=frozenset)

    @property
    def store_scope(self) -> frozenset[str] | None:
        """The stores whose members, orders and figures this actor lists; None: every store."""
        return self.stores if self.role in STORE_BOUND else None

    @property
    def sees_personal_data(self) -> bool:
        """Whether members' phone, name, e-mail and birthday are shown to them unmasked."""
        return may(self.role, Action.view_personal_data)

    def may(self, action: Action, *, store_code: str | None = None) -> bool:
        """Tell whether this actor may do ``action`` (for ``store_code``, if it concerns one).

        ``store_code`` is the store of what is acted on: a member's registration store, an
        order's store, the store a sale or recharge is booked to; None when it has no store.
        """
        if not may(self.role, action):
            return False
        if self.role not in STORE_BOUND or action not in STORE_SCOPED:
            return True
        return store_code is not None and store_code in self.stores

    def require(self, action: Action, *, store_code: str | None = None) -> None:
        """Refuse unless :meth:`may`: why it is refused (role, or store) is said."""
        if not may(self.role, action):
            raise NotPermitted(role=Text(ROLE_NAMES[self.role]), action=Text(ACTION_NAMES[action]))
        if self.may(action, store_code=store_code):
            return
        stores = ", ".join(sorted(self.stores))
        if store_code is None:
            raise NeedsStore(stores=stores)
        raise OutsideStores(stores=stores, store_code=store_code)

    def require_manage(self, target: Role) -> None:
        """Refuse unless this actor may manage an account of role ``target``."""
        self.require(Action.manage_staff)
        if not may_manage(self.role, target):
            raise CannotManageRole(
                role=Text(ROLE_NAMES[self.role]), target=Text(ROLE_NAMES[target])
            )

    def working_store(self, chosen: str | None) -> str | None:
        """The store a store-bound actor works for now; None for chain-wide roles.

        ``chosen`` if it is one of theirs, else the first of theirs (by code).
        """
        if self.role not in STORE_BOUND or not self.stores:
            return None
        return chosen if chosen in self.stores else min(self.stores)

    def require_store(self, store_code: str) -> str:
        """Return ``store_code`` if this actor may choose to work for it, else refuse."""
        if self.role not in STORE_BOUND:
            raise NotStoreBound()
        if store_code not in self.stores:
            raise OutsideStores(stores=", ".join(sorted(self.stores)), store_code=store_code)
        return store_code

    def require_same_store(self, sent: str | None, *, working: str | None) -> None:
        """Refuse a till form made for another store than the one worked for (``sent``).

        A form without a store (an older page, a script) books to the one worked for. One
        of another's stores is refused as outside them; one of their own other stores, as
        made before the store was changed.
        """
        if not sent or sent == working:
            return
        self.require_store(sent)
        raise StoreChanged(sent=sent, store_code=working or "")

    def origin(self, *, ip: str | None = None, user_agent: str | None = None) -> Origin:
        """Who acts, as the audit log records it, from where the request came."""
        return Origin(self.username, actor_id=self.staff_id, ip=ip, user_agent=user_agent)


# --- account fields ----------------------------------------------------------------------

USERNAME_MIN, USERNAME_MAX = 3, 32
_USERNAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._@-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}$")
DISPLAY_NAME_MAX = 50
PASSWORD_MIN, PASSWORD_MAX = 10, 128


def username_key(raw: str) -> str:
    """Return what makes two usernames the same: trimmed, case ignored (any input)."""
    return raw.strip().lower()


def check_username(raw: str) -> str:
    """Return a new account's username, trimmed; refuse one of the wrong shape."""
    username = raw.strip()
    if not _USERNAME.fullmatch(username):
        raise InvalidUsername(min_length=USERNAME_MIN, max_length=USERNAME_MAX)
    return username


def check_display_name(raw: str | None, *, username: str) -> str:
    """Return the display name, trimmed (the username when none is given)."""
    name = (raw or "").strip() or username
    if len(name) > DISPLAY_NAME_MAX or not name.isprintable():
        raise InvalidDisplayName(max_length=DISPLAY_NAME_MAX)
    return name


def check_password(password: str, *, username: str) -> None:
    """Refuse a new password that is too short, too long, or the username (case ignored)."""
    if len(password) < PASSWORD_MIN:
        raise PasswordTooShort(min_length=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        raise PasswordTooLong(max_length=PASSWORD_MAX)
    if username_key(password) == username_key(username):
        raise PasswordIsUsername()


def check_stores(role: Role, stores: Collection[str]) -> frozenset[str]:
    """Return the stores of an account of ``role``: some for store-bound roles, none otherwise."""
    bound = frozenset(stores)
    if role in STORE_BOUND and not bound:
        raise StoresRequired(role=Text(ROLE_NAMES[role]))
    if role not in STORE_BOUND and bound:
        raise StoresNotAllowed(role=Text(ROLE_NAMES[role]))
    if len(bound) > MAX_STORES:
        raise TooManyStores(limit=MAX_STORES)
    return bound


def check_locale(locale: str) -> str:
    """Return a console language (zh_CN or en), refusing any other."""
    if locale not in LOCALES:
        raise InvalidLocale(locale=locale)
    return locale


# --- sign-in limits ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginLimits:
    """How often sign-ins may fail: per account (then locked) and per network address."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    ip_max_failures: int = 20

    @property
    def lookback(self) -> timedelta:
        """How far back an account's attempts decide whether it is locked now."""
        return self.lockout + self.window


def locked_until(
    attempts: Iterable[tuple[datetime, bool]], *, now: datetime, limits: LoginLimits
) -> datetime | None:
    """Return when an account's lock-out ends, or None if it is not locked at ``now``.

    ``attempts`` are the account's recorded sign-ins of the last :attr:`LoginLimits.lookback`
    as ``(at, succeeded)`` (refused attempts are not recorded as failures, so a lock-out
    is never prolonged by guessing on). ``max_failures`` failures within ``window`` lock
    the account for ``lockout`` from the last of them. A success, or a lock-out, starts the
    count afresh: failures before it never count again. Since the lock-out lasts at least
    the window, the lookback sees every failure that can still matter.
    """
    until: datetime | None = None
    failures: list[datetime] = []
    for at, succeeded in sorted(attempts):
        if succeeded:
            failures = []
            continue
        failures = [failed for failed in failures if failed > at - limits.window] + [at]
        if len(failures) >= limits.max_failures:
            until = at + limits.lockout
            failures = []
    return until if until is not None and until > now else None


def ip_blocked_until(
    failures: Sequence[datetime], *, now: datetime, limits: LoginLimits
) -> datetime | None:
    """Return when sign-ins from one address are allowed again, or None if they are now.

    ``failures`` are the address's failed sign-ins within the last ``window``. At
    ``ip_max_failures`` of them it is blocked until enough have aged out of the window.
    """
    recent = sorted(at for at in failures if at > now - limits.window)
    if len(recent) < limits.ip_max_failures:
        return None
    return recent[len(recent) - limits.ip_max_failures] + limits.window


# --- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionLimits:
    """How long a staff session lives: idle at most ``idle``, in all at most ``lifetime``."""

    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)


#: A session's last activity is written at most this often (not on every page view).
TOUCH_EVERY = timedelta(minutes=1)


def session_ends_at(
    *, created_at: datetime, last_seen_at: datetime, limits: SessionLimits
) -> datetime:
    """Return when a session ends unless it is used again: idle timeout or lifetime, first."""
    return min(last_seen_at + limits.idle, created_at + limits.lifetime)


def touch_due(*, last_seen_at: datetime, now: datetime) -> bool:
    """Tell whether a session's last activity should be written again now."""
    return now - last_seen_at >= TOUCH_EVERY
