"""Request and response models of staff accounts and signing in (pydantic)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from memberkit.kit.schemas import ONE_LINE, Input, LocalTime
from memberkit.staff import service
from memberkit.staff.rules import DISPLAY_NAME_MAX, MAX_STORES, PASSWORD_MAX, USERNAME_MAX, Role

#: A password as typed: never trimmed (spaces are characters of it); the rules check its length.
Password = Annotated[str, StringConstraints(strip_whitespace=False, max_length=PASSWORD_MAX * 4)]
StoreCode = Annotated[str, Field(min_length=1, max_length=32)]
Locale = Annotated[str, Field(pattern="^(zh_CN|en)$")]
DisplayName = Annotated[str, Field(max_length=DISPLAY_NAME_MAX), ONE_LINE]


class SignInIn(Input):
    """A sign-in form: any text is accepted, and refused alike when wrong."""

    username: str = Field(max_length=200)
    password: Password


class StaffUserIn(Input):
    """A new account; store managers and cashiers name their stores."""

    username: str = Field(max_length=USERNAME_MAX, examples=["alice"])
    display_name: DisplayName | None = None
    role: Role
    stores: list[StoreCode] = Field(default_factory=list, max_length=MAX_STORES)
    password: Password
    locale: Locale | None = None


class StaffUserPatch(Input):
    """Changes to an account; only the fields present change."""

    display_name: DisplayName | None = None
    role: Role | None = None
    stores: list[StoreCode] | None = Field(default=None, max_length=MAX_STORES)


class PasswordChangeIn(Input):
    """One's own new password, with the current one."""

    current: Password
    new: Password


class PasswordResetIn(Input):
    """A new password set by an owner or admin."""

    password: Password


class LocaleIn(Input):
    """The console's language for the signed-in staff member."""

    locale: Locale


class StaffUserOut(BaseModel):
    """An account as it may be shown (never its password hash)."""

    id: int
    username: str
    display_name: str
    role: Role
    stores: list[str]
    active: bool
    locale: str
    created_at: LocalTime
    updated_at: LocalTime
    last_login_at: LocalTime | None

    @classmethod
    def of(cls, view: service.StaffView) -> StaffUserOut:
        """Build from the service's view."""
        return cls(**{**vars(view), "stores": list(view.stores)})
