"""Why a staff account, a sign-in or a staff member's action is refused (rules raise them too)."""

from __future__ import annotations

from memberkit.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MemberkitError,
    NotFound,
    Unauthorized,
)
from memberkit.kit.i18n import _


class StaffNotFound(NotFound):
    """No staff account of the program has this username."""

    code = "staff_not_found"
    message = _("No staff account {username}.")


class StaffExists(Conflict):
    """The username is taken in the program (usernames ignore case)."""

    code = "staff_exists"
    message = _("A staff account named {username} already exists (user names ignore case).")


class InvalidUsername(InvalidInput):
    """A username of the wrong shape."""

    code = "invalid_username"
    message = _(
        "A user name is {min_length} to {max_length} characters: letters, digits and . _ - @,"
        " starting with a letter or digit."
    )


class InvalidDisplayName(InvalidInput):
    """A display name that is empty, too long or holds control characters."""

    code = "invalid_display_name"
    message = _("A display name is 1 to {max_length} printable characters.")


class InvalidRole(InvalidInput):
    """Not one of the roles."""

    code = "invalid_role"
    message = _("{role} is not a role; the roles are {roles}.")


class InvalidLocale(InvalidInput):
    """A language the console does not speak."""

    code = "invalid_locale"
    message = _("{locale} is not a language of the console; choose zh_CN or en.")


class PasswordTooShort(InvalidInput):
    """A new password below the minimum length."""

    code = "password_too_short"
    message = _("A password must be at least {min_length} characters long.")


class PasswordTooLong(InvalidInput):
    """A new password above the maximum length."""

    code = "password_too_long"
    message = _("A password must be at most {max_length} characters long.")


class PasswordIsUsername(InvalidInput):
    """A password equal to the account's username."""

    code = "password_is_username"
    message = _("A password must not be the user name.")


class SamePassword(InvalidInput):
    """A new password that is the current one (a password an admin chose is to be replaced)."""

    code = "same_password"
    message = _("The new password must differ from the current one.")


class WrongPassword(Forbidden):
    """The current password given to change it is not right."""

    code = "wrong_password"
    message = _("The current password is not right; the password was not changed.")


class StoresRequired(InvalidInput):
    """A store-bound role without a store."""

    code = "stores_required"
    message = _("The {role} role acts for one or more stores: name at least one store.")


class StoresNotAllowed(InvalidInput):
    """A chain-wide role given stores."""

    code = "stores_not_allowed"
    message = _("The {role} role acts for the whole chain and is not bound to stores.")


class TooManyStores(InvalidInput):
    """More stores than one account may be bound to."""

    code = "too_many_stores"
    message = _("An account may be bound to at most {limit} stores.")


class NotPermitted(Forbidden):
    """The staff member's role may not do this."""

    code = "staff_not_permitted"
    message = _("Your role ({role}) may not {action}.")


class OutsideStores(Forbidden):
    """A store-bound staff member acting for another store (or for none)."""

    code = "outside_your_stores"
    message = _("You act for {stores} only, not for store {store_code}.")


class NeedsStore(Forbidden):
    """A store-bound staff member acting on what belongs to no store (an online order)."""

    code = "outside_your_stores"
    message = _("You act for {stores} only, not for what belongs to no store.")


class NotStoreBound(Forbidden):
    """A chain-wide account choosing a store to work for: it acts for every store."""

    code = "not_store_bound"
    message = _("Your role acts for the whole chain: there is no store to choose.")


class StoreChanged(Conflict):
    """A till form made for another of one's stores than the one now chosen."""

    code = "store_changed"
    message = _(
        "This form was made for store {sent}; you now work for store {store_code}."
        " Reload the page and try again."
    )


class CannotManageRole(Forbidden):
    """An admin acting on an owner's account, or making one."""

    code = "cannot_manage_role"
    message = _("Your role ({role}) may not manage {target} accounts.")


class CannotDisableSelf(Conflict):
    """Disabling the account one is signed in with would lock its holder out."""

    code = "cannot_disable_self"
    message = _("You cannot disable or demote your own account; ask another owner or admin.")


class LastOwner(Conflict):
    """The change would leave the program without an active owner."""

    code = "last_owner"
    message = _("{username} is the last active owner: make another account owner first.")


class LoginFailed(Unauthorized):
    """Wrong username or password; which of the two is never said."""

    code = "login_failed"
    message = _("Wrong user name or password.")


class AccountDisabled(Forbidden):
    """The right password of a disabled account."""

    code = "account_disabled"
    message = _("This account is disabled; ask an owner or admin to enable it.")


class TooManyAttempts(MemberkitError):
    """Sign-ins refused for a while after repeated failures."""

    status = 429
    code = "too_many_attempts"
    message = _("Too many failed sign-ins; try again later.")


class AccountLocked(TooManyAttempts):
    """The account failed too often within the window: locked until ``until``."""

    code = "account_locked"
    message = _(
        "Too many failed sign-ins for this account: it is locked until {until}"
        " ({minutes} minutes from now)."
    )


class LoginRateLimited(TooManyAttempts):
    """Too many failures from one address within the window."""

    code = "login_rate_limited"
    message = _(
        "Too many failed sign-ins from your network address: try again after {until}"
        " ({minutes} minutes from now)."
    )


class NotSignedIn(Unauthorized):
    """No live staff session (none, signed out, idle too long, or past its lifetime)."""

    code = "not_signed_in"
    message = _("Please sign in; a session ends after a while without activity.")


class CsrfMismatch(Forbidden):
    """A form whose CSRF token is missing or not the session's."""

    code = "csrf_mismatch"
    message = _(
        "This form has expired or did not come from this site; reload the page and try again."
    )


class UnknownAuditActor(InvalidInput):
    """The audit log filtered by a user name no staff account of the program has."""

    code = "unknown_audit_actor"
    message = _("No staff account is named {username}: filter by a staff member's user name.")


class InvalidAuditDate(InvalidInput):
    """The first day of the audit log's filter is not a date."""

    code = "invalid_audit_since"
    message = _("{value} is not a date: write it as 2026-12-01.")


class InvalidAuditEndDate(InvalidAuditDate):
    """The last day of the audit log's filter is not a date."""

    code = "invalid_audit_until"


class AuditDatesReversed(InvalidInput):
    """The audit log's first day after its last."""

    code = "audit_dates_reversed"
    message = _("The first day ({since}) is after the last day ({until}).")
